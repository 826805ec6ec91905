/** @module Self-signed TLS certificates for tests, made with the `openssl` CLI (valid for 127.0.0.1 and localhost, one day). */
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface TestCert {
  readonly certFile: string
  readonly keyFile: string
  /** The certificate's PEM (also what a client trusts as its CA: it is self-signed). */
  readonly cert: string
  /** SHA-256 fingerprint as node:tls reports it (`AA:BB:…`). */
  readonly fingerprint256: string
}

/** Writes `<name>.crt` and `<name>.key` into `dir`: a P-256 self-signed certificate for CN `cn`. */
export function selfSignedCert(dir: string, name: string, cn = 'samsa-test'): TestCert {
  const certFile = join(dir, `${name}.crt`)
  const keyFile = join(dir, `${name}.key`)
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'pipe' })
  const cert = readFileSync(certFile, 'utf8')
  return { certFile, keyFile, cert, fingerprint256: new X509Certificate(cert).fingerprint256 }
}
