/**
 * @module Verification keys from config: an HS256 secret (≥ 32 bytes), or an RS256/ES256/EdDSA public key as PEM
 * (SPKI) or JWK. Invariant: every imported key is bound to exactly one algorithm, and an asymmetric key is only ever
 * imported as a public key of its own type (a PEM public key can never become an HMAC secret).
 */
import { importJWK, importSPKI, type CryptoKey, type JWK } from 'jose'

export const ASYMMETRIC_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number]
export const MIN_SECRET_BYTES = 32

export type VerificationKeySpec =
  | { readonly alg: 'HS256'; readonly secret: Uint8Array; readonly kid?: string }
  | { readonly alg: AsymmetricAlgorithm; readonly pem: string; readonly kid?: string }
  | { readonly alg: AsymmetricAlgorithm; readonly jwk: JWK; readonly kid?: string }

export interface ImportedKey {
  readonly alg: 'HS256' | AsymmetricAlgorithm
  readonly kid: string | undefined
  readonly key: CryptoKey | Uint8Array
}

/** Imports one key; throws an Error naming `label` when it is unusable. */
export async function importVerificationKey(spec: VerificationKeySpec, label: string): Promise<ImportedKey> {
  if (spec.alg === 'HS256') {
    if (spec.secret.byteLength < MIN_SECRET_BYTES) throw new Error(`${label}: an HS256 secret must be at least ${MIN_SECRET_BYTES} bytes, got ${spec.secret.byteLength}`)
    return { alg: 'HS256', kid: spec.kid, key: spec.secret }
  }
  if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(spec.alg)) throw new Error(`${label}: algorithm ${String(spec.alg)} is not one of HS256, ${ASYMMETRIC_ALGORITHMS.join(', ')}`)
  try {
    if ('pem' in spec) {
      if (!spec.pem.includes('-----BEGIN PUBLIC KEY-----')) throw new Error('expected a PEM public key (-----BEGIN PUBLIC KEY-----)')
      return { alg: spec.alg, kid: spec.kid, key: await importSPKI(spec.pem, spec.alg) }
    }
    if (spec.jwk.kty === 'oct' || 'd' in spec.jwk) throw new Error('expected a public JWK (no "d", not "oct")')
    const key = await importJWK(spec.jwk, spec.alg)
    if (key instanceof Uint8Array) throw new Error('expected a public JWK')
    return { alg: spec.alg, kid: spec.kid ?? spec.jwk.kid, key }
  } catch (e) {
    throw new Error(`${label} (${spec.alg}): ${e instanceof Error ? e.message : String(e)}`)
  }
}
