/**
 * @module The broker's TLS material from PEM files: the certificate chain and key it serves, and the CA bundle it
 * trusts for its outbound peer links. Read at start and again on reload (SIGHUP), so a renewed certificate is served
 * to new connections while established ones keep theirs. Invariant: a reload that cannot read or parse both files
 * leaves the serving context as it was.
 */
import { readFile } from 'node:fs/promises'
import { createSecureContext } from 'node:tls'

export interface TlsFiles {
  /** PEM certificate (chain) served to clients. */
  readonly certFile: string
  /** PEM private key of that certificate. */
  readonly keyFile: string
  /** PEM CA bundle trusted for wss:// peer links (besides Node's default store and NODE_EXTRA_CA_CERTS). */
  readonly caFile?: string
}

export interface TlsMaterial {
  readonly cert: string
  readonly key: string
  readonly ca?: string
}

/** Reads and checks the files (a key that does not match the certificate fails here, naming the files). */
export async function readTlsMaterial(files: TlsFiles): Promise<TlsMaterial> {
  const read = (what: string, path: string) =>
    readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new Error(`cannot read the TLS ${what} ${path}: ${e.code ?? e.message}`)
    })
  // One after the other, so that when several are missing the message always names the first (certificate, key, CA).
  const cert = await read('certificate', files.certFile)
  const key = await read('key', files.keyFile)
  const ca = files.caFile ? await read('CA bundle', files.caFile) : undefined
  try {
    createSecureContext({ cert, key, ...(ca ? { ca } : {}) })
  } catch (e) {
    throw new Error(`the TLS certificate ${files.certFile} and key ${files.keyFile} cannot be used together: ${(e as Error).message}`)
  }
  return { cert, key, ...(ca ? { ca } : {}) }
}
