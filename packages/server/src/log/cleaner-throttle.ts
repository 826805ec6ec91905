/**
 * @module CleanerThrottle: holds the log cleaner to a rate in bytes per second on the injected clock, so cleaning
 * never takes more of the disk than the operator allows and appends are not starved. take(n) resolves once the bytes
 * taken since the throttle last went idle fit the rate: over any span of busy time T (seconds) at most
 * rate × T + one take's bytes pass. An idle gap is not saved up as a burst.
 */
import type { Clock } from '../clock.js'

export class CleanerThrottle {
  readonly #clock: Clock
  readonly #bytesPerSecond: number
  /** Monotonic ms from which #taken bytes are counted. */
  #startMs: number
  #taken = 0

  /** bytesPerSecond: Infinity for no limit. */
  constructor(clock: Clock, bytesPerSecond: number) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`the cleaner throttle must be above 0 bytes/s, got ${bytesPerSecond}`)
    this.#clock = clock
    this.#bytesPerSecond = bytesPerSecond
    this.#startMs = clock.monotonicMs()
  }

  /** Waits until `bytes` more may be read or written. */
  async take(bytes: number): Promise<void> {
    if (this.#bytesPerSecond === Infinity) return
    const now = this.#clock.monotonicMs()
    const dueMs = this.#startMs + (this.#taken / this.#bytesPerSecond) * 1000
    if (dueMs < now) {
      // Idle since the last take was due: count from now, not from the past.
      this.#startMs = now
      this.#taken = 0
    }
    this.#taken += bytes
    const waitMs = this.#startMs + (this.#taken / this.#bytesPerSecond) * 1000 - now
    if (waitMs < 1) return // under a millisecond behind: the debt stays counted and is waited for once it adds up
    await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, Math.ceil(waitMs)))
  }
}
