/**
 * @module RateLimitedLog: one connection's log lines about problems it caused. Invariants: at most maxLines
 * lines per windowMs (fixed windows on the monotonic clock), plus one line per window saying how many were
 * suppressed; lines carry an error's name and message, never an Error object (so never a stack). Every
 * problem is counted in metrics by the caller whether or not it is logged.
 */
import type { Clock, Logger } from '../clock.js'

export interface RateLimitedLogOptions {
  readonly maxLines: number
  readonly windowMs: number
  /** The line that reports how many lines a window suppressed. */
  readonly suppressedMessage?: string
}

export const defaultRateLimitedLogOptions: RateLimitedLogOptions = { maxLines: 5, windowMs: 60_000 }

export class RateLimitedLog {
  readonly #logger: Logger
  readonly #clock: Clock
  readonly #opts: RateLimitedLogOptions
  #windowStartMs = -Infinity
  #lines = 0
  #suppressed = 0

  constructor(logger: Logger, clock: Clock, opts: RateLimitedLogOptions = defaultRateLimitedLogOptions) {
    this.#logger = logger
    this.#clock = clock
    this.#opts = opts
  }

  warn(fields: Record<string, unknown>, msg: string): void {
    if (this.allow()) this.#logger.warn(fields, msg)
  }

  error(fields: Record<string, unknown>, msg: string): void {
    if (this.allow()) this.#logger.error(fields, msg)
  }

  /** Whether one more line fits in the current window (counted as logged when true, as suppressed when false). */
  allow(): boolean {
    const now = this.#clock.monotonicMs()
    if (now - this.#windowStartMs >= this.#opts.windowMs) {
      if (this.#suppressed > 0) this.#logger.warn({ suppressed: this.#suppressed, windowMs: this.#opts.windowMs }, this.#opts.suppressedMessage ?? 'suppressed log lines about this connection')
      this.#windowStartMs = now
      this.#lines = 0
      this.#suppressed = 0
    }
    if (this.#lines < this.#opts.maxLines) {
      this.#lines++
      return true
    }
    this.#suppressed++
    return false
  }
}

/** The loggable part of anything thrown: name and message only (stacks are for the broker's own bugs, logged elsewhere). */
export function describeError(err: unknown): { error: string; message: string } {
  if (err instanceof Error) return { error: (err as { errorName?: string }).errorName ?? err.name, message: err.message.slice(0, 300) }
  return { error: typeof err, message: String(err).slice(0, 300) }
}
