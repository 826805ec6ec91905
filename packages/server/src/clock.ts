/** @module Ports for time and logging, injected at the composition root so the broker core touches no runtime global. */

export interface Clock {
  /** Wall-clock ms since the epoch (record timestamps, retention). */
  nowMs(): number
  /** Monotonic ms for measuring durations. */
  monotonicMs(): number
  setTimeout(fn: () => void, ms: number): Timer
  clearTimeout(timer: Timer): void
}

export interface Timer {
  readonly __timer: unique symbol
}

export { silentLogger, type Logger } from '@samsa/shared'
