/** @module The producer's event listeners (onPending, onRecovered). Invariant: a listener that throws is logged and never stops the others or the producer. */
import type { Logger } from '../ports.js'

export class ListenerSet<T> {
  readonly #listeners = new Set<(value: T) => void>()
  readonly #logger: Logger
  /** Names the listener kind in the error log ('onPending', …). */
  readonly #name: string

  constructor(name: string, logger: Logger) {
    this.#name = name
    this.#logger = logger
  }

  get size(): number {
    return this.#listeners.size
  }

  /** Returns the unsubscribe function. */
  add(listener: (value: T) => void): () => void {
    this.#listeners.add(listener)
    return () => void this.#listeners.delete(listener)
  }

  /** Calls every listener added so far (a listener added or removed while emitting does not change this round). */
  emit(value: T): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(value)
      } catch (error) {
        this.#logger.error({ error: String(error) }, `${this.#name} listener threw`)
      }
    }
  }
}
