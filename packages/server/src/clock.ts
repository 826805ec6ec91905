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

export interface Logger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  child(bindings: object): Logger
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger
  },
}
