/**
 * @module Signed tokens for tests of a broker with authentication: one HS256 secret, a subject and its grants (the
 * `samsa` claim, docs/security.md "Authorization"). `TEST_AUTHENTICATION` is the broker side of the same secret.
 * Tokens are valid for an hour unless `exp`/`nbf` say otherwise.
 */
import { SignJWT, type JWTPayload } from 'jose'

/** The HS256 secret the tests' brokers verify with (≥ 32 bytes, as the broker requires). */
export const TEST_SECRET = new TextEncoder().encode('samsa-test-secret-of-at-least-32-bytes')
/** `StartBrokerOptions.authentication` with TEST_SECRET. */
export const TEST_AUTHENTICATION = { keys: [{ alg: 'HS256' as const, secret: TEST_SECRET }] }

/** Grants of the `samsa` claim: topic patterns per operation, or every right with `admin`. */
export interface Grants {
  readonly read?: readonly string[]
  readonly write?: readonly string[]
  readonly create?: readonly string[]
  readonly delete?: readonly string[]
  readonly describe?: readonly string[]
  readonly admin?: boolean
}

const nowS = () => Math.floor(Date.now() / 1000)

/** A token for `sub` with `grants`, signed with `secret` (default TEST_SECRET); `claims` override the defaults (exp, nbf, …). */
export function signedToken(sub: string, grants: Grants, opts: { readonly secret?: Uint8Array; readonly claims?: JWTPayload } = {}): Promise<string> {
  return new SignJWT({ sub, iat: nowS(), exp: nowS() + 3_600, samsa: grants, ...opts.claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(opts.secret ?? TEST_SECRET)
}
