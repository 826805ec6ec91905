/**
 * @module TokenVerifier: checks a client's JWT against the keys the broker was configured with. Invariants: a key
 * accepts only its own algorithm (an HS256 secret never verifies an RS256 token, an RS256 public key is never used
 * as an HS256 secret, `alg: none` matches no key); a key with a `kid` verifies only tokens naming that kid; `exp` and
 * `sub` are required; `exp`/`nbf` are checked against the injected wall clock with at most MAX_CLOCK_SKEW_SECONDS of
 * tolerance, `iss`/`aud` when configured. Every refusal is an AuthenticationFailure with one reason.
 */
import {
  createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify,
  type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions,
} from 'jose'
import type { Principal } from '../principal.js'
import { AuthenticationFailure, type RefusalReason } from './authentication-failure.js'
import type { Authenticator } from './authenticator.js'
import { ASYMMETRIC_ALGORITHMS, importVerificationKey, type ImportedKey, type VerificationKeySpec } from './verification-keys.js'

export const MAX_CLOCK_SKEW_SECONDS = 60
export const DEFAULT_CLOCK_SKEW_SECONDS = 30

export interface TokenVerifierOptions {
  /** Keys from config: HS256 secrets and RS256/ES256/EdDSA public keys (PEM or JWK). */
  readonly keys?: readonly VerificationKeySpec[]
  /** A JWKS read from a file (asymmetric keys only; each used for its own `alg`, or its key type's). */
  readonly jwks?: JSONWebKeySet
  /** A JWKS URL, fetched on demand and cached (jose's remote JWK set). */
  readonly jwksUrl?: string
  /** How long a fetched JWKS is trusted before it is fetched again; default 10 min. */
  readonly jwksCacheMaxAgeMs?: number
  /** Expected `iss`, when set. */
  readonly issuer?: string
  /** Expected `aud` (one of the token's audiences), when set. */
  readonly audience?: string
  /** Tolerance on exp/nbf, 0..MAX_CLOCK_SKEW_SECONDS; default DEFAULT_CLOCK_SKEW_SECONDS. */
  readonly clockSkewSeconds?: number
  /** Wall-clock ms (the broker's clock.nowMs). */
  readonly nowMs: () => number
}

export class TokenVerifier implements Authenticator {
  readonly #keys: readonly ImportedKey[]
  readonly #jwkSets: readonly JWTVerifyGetKey[]
  readonly #options: TokenVerifierOptions
  readonly #skew: number

  private constructor(options: TokenVerifierOptions, keys: readonly ImportedKey[], jwkSets: readonly JWTVerifyGetKey[]) {
    this.#options = options
    this.#keys = keys
    this.#jwkSets = jwkSets
    this.#skew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS
  }

  /** Imports every configured key; throws an Error naming a bad key or option (a broker must not start with it). */
  static async create(options: TokenVerifierOptions): Promise<TokenVerifier> {
    const skew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS
    if (!Number.isFinite(skew) || skew < 0 || skew > MAX_CLOCK_SKEW_SECONDS) {
      throw new Error(`clock skew must be from 0 to ${MAX_CLOCK_SKEW_SECONDS} seconds, got ${String(skew)}`)
    }
    const keys = await Promise.all((options.keys ?? []).map((k, i) => importVerificationKey(k, `key ${i + 1}`)))
    const sets: JWTVerifyGetKey[] = []
    if (options.jwks) {
      if (!Array.isArray(options.jwks.keys)) throw new Error('the JWKS has no "keys" array')
      sets.push(createLocalJWKSet(options.jwks))
    }
    if (options.jwksUrl) {
      const url = new URL(options.jwksUrl)
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`the JWKS URL must be http(s), got ${url.protocol}`)
      sets.push(createRemoteJWKSet(url, { cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000, cooldownDuration: 30_000, timeoutDuration: 5_000 }))
    }
    if (keys.length === 0 && sets.length === 0) throw new Error('authentication needs at least one key, a JWKS file or a JWKS URL')
    return new TokenVerifier(options, keys, sets)
  }

  async authenticate(token: string | undefined): Promise<Principal> {
    if (!token) throw new AuthenticationFailure('missing')
    let alg: unknown
    let kid: unknown
    try {
      ;({ alg, kid } = decodeProtectedHeader(token))
    } catch {
      throw new AuthenticationFailure('malformed')
    }
    if (typeof alg !== 'string' || alg === 'none') throw new AuthenticationFailure('algorithm-not-allowed')
    const candidates = this.#keys.filter((k) => k.alg === alg && (k.kid === undefined || k.kid === kid))
    let failure: RefusalReason | null = null
    for (const k of candidates) {
      try {
        return toPrincipal((await jwtVerify(token, k.key, this.#verifyOptions([k.alg]))).payload)
      } catch (e) {
        failure = refusalOf(e)
        // Only a signature that does not verify lets another key try: any other failure is the token's, whatever the key.
        if (failure !== 'bad-signature') throw new AuthenticationFailure(failure)
      }
    }
    if ((ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) {
      for (const set of this.#jwkSets) {
        try {
          return toPrincipal((await jwtVerify(token, set, this.#verifyOptions([...ASYMMETRIC_ALGORITHMS]))).payload)
        } catch (e) {
          // A JWKS URL that cannot be fetched fails with the fetch's own error (no jose code): the keys, not the token.
          const reason = joseCode(e) === undefined ? 'keys-unavailable' : refusalOf(e)
          if (reason !== 'unknown-key' || failure === null) failure = reason
          if (reason !== 'unknown-key' && reason !== 'bad-signature') throw new AuthenticationFailure(reason)
        }
      }
    }
    if (failure) throw new AuthenticationFailure(failure)
    const algorithmKnown = this.#keys.some((k) => k.alg === alg) || (this.#jwkSets.length > 0 && (ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg))
    throw new AuthenticationFailure(algorithmKnown || typeof kid === 'string' ? 'unknown-key' : 'algorithm-not-allowed')
  }

  #verifyOptions(algorithms: string[]): JWTVerifyOptions {
    const o = this.#options
    return {
      algorithms,
      clockTolerance: this.#skew,
      currentDate: new Date(o.nowMs()),
      requiredClaims: ['exp', 'sub'],
      ...(o.issuer !== undefined ? { issuer: o.issuer } : {}),
      ...(o.audience !== undefined ? { audience: o.audience } : {}),
    }
  }
}

function toPrincipal(payload: JWTPayload): Principal {
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new AuthenticationFailure('no-subject')
  if (typeof payload.exp !== 'number') throw new AuthenticationFailure('no-expiry')
  return Object.freeze({ kind: 'user', name: payload.sub, claims: Object.freeze({ ...payload }), expiresAtMs: payload.exp * 1000 })
}

/** The stable `code` of a jose error (ERR_JWT_EXPIRED, …); undefined for anything else. */
function joseCode(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined
  return typeof code === 'string' && code.startsWith('ERR_J') ? code : undefined
}

/** The reason for a jose error (by its stable `code`); anything unexpected is `malformed`. */
export function refusalOf(e: unknown): RefusalReason {
  if (e instanceof AuthenticationFailure) return e.reason
  const code = joseCode(e)
  const claim = typeof e === 'object' && e !== null && 'claim' in e ? e.claim : undefined
  const reason = typeof e === 'object' && e !== null && 'reason' in e ? e.reason : undefined
  switch (code) {
    case 'ERR_JWT_EXPIRED': return 'expired'
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'nbf') return 'not-yet-valid'
      if (claim === 'iss') return 'wrong-issuer'
      if (claim === 'aud') return 'wrong-audience'
      if (claim === 'exp') return reason === 'missing' ? 'no-expiry' : 'expired'
      if (claim === 'sub') return 'no-subject'
      return 'malformed'
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': return 'bad-signature'
    case 'ERR_JOSE_ALG_NOT_ALLOWED': return 'algorithm-not-allowed'
    case 'ERR_JWKS_NO_MATCHING_KEY': return 'unknown-key'
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS': return 'unknown-key'
    case 'ERR_JWKS_TIMEOUT': return 'keys-unavailable'
    case 'ERR_JWKS_INVALID': return 'keys-unavailable'
    case 'ERR_JOSE_GENERIC': return 'keys-unavailable'
    default: return 'malformed'
  }
}
