/**
 * @module HighWatermark: a partition's high watermark (the first offset consumers cannot see) and who waits on it.
 * Invariants: it only grows, except that lowerTo (a truncation below it) brings it down to the new log end; each
 * growth makes the bytes below it readable (ReadableBytes) before any listener hears of it; a listener that throws
 * is logged and the others still hear.
 */
import type { Logger } from '../clock.js'
import type { ReadableBytes } from './readable-bytes.js'

export class HighWatermark {
  #value: number
  readonly #readable: ReadableBytes
  readonly #logger: Logger
  readonly #listeners = new Set<(highWatermark: number) => void>()

  constructor(initial: number, readable: ReadableBytes, logger: Logger) {
    this.#value = initial
    this.#readable = readable
    this.#logger = logger
  }

  get value(): number {
    return this.#value
  }

  /** Moves it to `end` when that is higher, and tells the listeners. */
  advance(end: number): void {
    if (end <= this.#value) return
    this.#value = end
    this.#readable.advancedTo(end)
    for (const l of [...this.#listeners]) {
      try {
        l(end)
      } catch (e) {
        this.#logger.error({ err: String(e) }, 'high watermark listener threw')
      }
    }
  }

  /** A truncation to `end`: the high watermark comes down to it if it was above. */
  lowerTo(end: number): void {
    if (this.#value > end) this.#value = end
  }

  /** Calls `listener` with each new high watermark; returns the unregister function. */
  onChange(listener: (highWatermark: number) => void): () => void {
    const wrapped = (hw: number) => listener(hw)
    this.#listeners.add(wrapped)
    return () => this.#listeners.delete(wrapped)
  }
}
