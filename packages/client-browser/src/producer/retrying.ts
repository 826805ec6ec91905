/**
 * @module Retrying a producer's broker lookup (initProducerId, a topic's partition count) with full-jitter backoff.
 * Invariants: only a retriable SamsaError that the caller's rule accepts is retried; anything else, or any error once
 * the producer is stopped, is thrown as it is.
 */
import { SamsaError } from '@samsa/shared'
import { backoffDelayMs } from '../connection/backoff.js'
import type { Clock, Random } from '../ports.js'

export interface RetryingDeps {
  readonly clock: Clock
  readonly random: Random
  /** True once the producer is released: stop retrying. */
  readonly stopped: () => boolean
}

/** Calls fn until it succeeds, with backoff while it fails with a retriable error that `retry` accepts. */
export async function retrying<T>(fn: () => Promise<T>, retry: (error: SamsaError, attempt: number) => boolean, deps: RetryingDeps): Promise<T> {
  const { clock, random } = deps
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      if (!(error instanceof SamsaError) || !error.retriable || !retry(error, attempt) || deps.stopped()) throw error
      await new Promise<void>((resolve) => clock.setTimeout(() => resolve(), backoffDelayMs(attempt, { baseMs: 100, capMs: 5_000 }, random)))
    }
  }
}
