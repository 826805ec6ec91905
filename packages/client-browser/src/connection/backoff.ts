/** @module Full-jitter exponential backoff: a pure function of the attempt number and an injected random. */
import type { Random } from '../ports.js'

export interface BackoffPolicy {
  /** Ceiling of the first delay, ms. */
  readonly baseMs: number
  /** No delay exceeds this, ms. */
  readonly capMs: number
}

export const defaultBackoff: BackoffPolicy = { baseMs: 250, capMs: 10_000 }

/** Delay before retry number `attempt` (0-based): uniform in [0, min(cap, base · 2^attempt)). */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: Random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(attempt, 0), 30))
  return Math.floor(random() * ceiling)
}
