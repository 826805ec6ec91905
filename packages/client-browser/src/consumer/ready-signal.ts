/**
 * @module A one-shot readiness signal: a promise that settles once (resolved when ready, rejected if the owner
 * ends first) and listeners called once when it resolves. Never an unhandled rejection when nobody awaits it.
 */
import type { Logger } from '../ports.js'

export class ReadySignal {
  readonly promise: Promise<void>
  #resolve!: () => void
  #reject!: (error: unknown) => void
  #state: 'pending' | 'ready' | 'failed' = 'pending'
  readonly #listeners = new Set<() => void>()
  readonly #logger: Logger

  constructor(logger: Logger) {
    this.#logger = logger
    this.promise = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    this.promise.catch(() => {}) // the owner reports the failure elsewhere too
  }

  get isReady(): boolean {
    return this.#state === 'ready'
  }

  get isSettled(): boolean {
    return this.#state !== 'pending'
  }

  /** Calls `listener` once when ready (on a microtask if already ready; never if it fails); returns the unsubscribe function. */
  on(listener: () => void): () => void {
    if (this.#state === 'ready') {
      let cancelled = false
      queueMicrotask(() => cancelled || this.#call(listener))
      return () => void (cancelled = true)
    }
    this.#listeners.add(listener)
    return () => void this.#listeners.delete(listener)
  }

  resolve(): void {
    if (this.#state !== 'pending') return
    this.#state = 'ready'
    this.#resolve()
    const listeners = [...this.#listeners]
    this.#listeners.clear()
    for (const l of listeners) this.#call(l)
  }

  reject(error: unknown): void {
    if (this.#state !== 'pending') return
    this.#state = 'failed'
    this.#listeners.clear()
    this.#reject(error)
  }

  #call(listener: () => void): void {
    try {
      listener()
    } catch (error) {
      this.#logger.error({ error }, 'ready listener threw')
    }
  }
}
