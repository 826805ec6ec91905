/**
 * @module Why a token was refused: one reason per row of the bad-token list. The reason is the metric label
 * and the audit line's `reason`; the error a client receives is SASL_AUTHENTICATION_FAILED (non-retriable) with the
 * reason's wording. Invariant: no reason or message ever contains the token or a key.
 */
import { ErrorMessages, SamsaError } from '@samsa/shared'

export const REFUSAL_REASONS = [
  'missing', 'no-hello', 'malformed', 'expired', 'not-yet-valid', 'wrong-issuer', 'wrong-audience', 'bad-signature', 'algorithm-not-allowed',
  'unknown-key', 'no-subject', 'no-expiry', 'subject-changed', 'wrong-peer', 'keys-unavailable',
] as const

export type RefusalReason = (typeof REFUSAL_REASONS)[number]

/** A refused token: a SamsaError SASL_AUTHENTICATION_FAILED that also carries its reason (server-side only). */
export class AuthenticationFailure extends SamsaError {
  readonly reason: RefusalReason
  constructor(reason: RefusalReason) {
    super('SASL_AUTHENTICATION_FAILED', ErrorMessages.authenticationFailed(reason))
    this.reason = reason
  }
}
