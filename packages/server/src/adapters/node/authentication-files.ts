/**
 * @module Authentication settings from files, for `samsa start` and startBroker: an HS256 secret file, public key
 * files (PEM or JWK, each pinned to the algorithm it is given with), a JWKS file, and the cluster secret. Every
 * problem is one line naming the file; a secret is never echoed.
 */
import { readFile } from 'node:fs/promises'
import type { JSONWebKeySet, JWK } from 'jose'
import { ASYMMETRIC_ALGORITHMS, type AsymmetricAlgorithm, type VerificationKeySpec } from '../../security/authentication/verification-keys.js'

/** What a broker verifies client tokens with (already read from files); undefined everywhere means auth is off. */
export interface AuthenticationSettings {
  readonly keys?: readonly VerificationKeySpec[]
  readonly jwks?: JSONWebKeySet
  readonly jwksUrl?: string
  readonly issuer?: string
  readonly audience?: string
}

export interface AuthenticationFiles {
  readonly hs256SecretFile?: string
  /** `ALG:PATH` pairs: RS256, ES256 or EdDSA, and a PEM public key or a JWK file. */
  readonly publicKeys?: readonly string[]
  readonly jwksFile?: string
  readonly jwksUrl?: string
  readonly issuer?: string
  readonly audience?: string
}

/** True when any verification key source is given: the broker then requires tokens. */
export function authenticationConfigured(s: AuthenticationSettings | undefined): boolean {
  return s !== undefined && ((s.keys?.length ?? 0) > 0 || s.jwks !== undefined || s.jwksUrl !== undefined)
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (e) {
    throw new Error(`cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`)
  }
}

/** A secret file's bytes, without one trailing newline (as `echo` or an editor leaves it). */
export async function readSecretFile(path: string, what: string): Promise<Uint8Array> {
  const text = await readText(path, what)
  return new TextEncoder().encode(text.replace(/\r?\n$/, ''))
}

function parseJson(text: string, path: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new Error(`the ${what} ${path} is not JSON`)
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export async function loadAuthenticationFiles(f: AuthenticationFiles): Promise<AuthenticationSettings> {
  const keys: VerificationKeySpec[] = []
  if (f.hs256SecretFile) keys.push({ alg: 'HS256', secret: await readSecretFile(f.hs256SecretFile, 'HS256 secret file') })
  for (const pair of f.publicKeys ?? []) {
    const m = /^([A-Za-z0-9]+):(.+)$/.exec(pair)
    const alg = m?.[1]
    if (!m || !alg || !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new Error(`public key "${pair}" must be ALG:PATH with ALG one of ${ASYMMETRIC_ALGORITHMS.join(', ')}`)
    }
    const a = ASYMMETRIC_ALGORITHMS.find((x) => x === alg)!
    keys.push(await publicKeySpec(a, m[2]!))
  }
  let jwks: JSONWebKeySet | undefined
  if (f.jwksFile) {
    const parsed = parseJson(await readText(f.jwksFile, 'JWKS file'), f.jwksFile, 'JWKS file')
    if (!isRecord(parsed) || !Array.isArray(parsed['keys'])) throw new Error(`the JWKS file ${f.jwksFile} has no "keys" array`)
    jwks = { keys: parsed['keys'].filter(isRecord) }
  }
  return {
    ...(keys.length > 0 ? { keys } : {}),
    ...(jwks ? { jwks } : {}),
    ...(f.jwksUrl ? { jwksUrl: f.jwksUrl } : {}),
    ...(f.issuer ? { issuer: f.issuer } : {}),
    ...(f.audience ? { audience: f.audience } : {}),
  }
}

async function publicKeySpec(alg: AsymmetricAlgorithm, path: string): Promise<VerificationKeySpec> {
  const text = await readText(path, `${alg} public key file`)
  if (text.includes('-----BEGIN')) return { alg, pem: text }
  const jwk = parseJson(text, path, `${alg} public key file`)
  if (!isRecord(jwk) || typeof jwk['kty'] !== 'string') throw new Error(`the ${alg} public key file ${path} is neither a PEM public key nor a JWK`)
  const key: JWK = { ...jwk, kty: jwk['kty'] }
  return { alg, jwk: key }
}
