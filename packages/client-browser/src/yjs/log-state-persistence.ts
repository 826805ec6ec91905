/**
 * @module Storing what a Yjs provider has read: some time after a record was read, the log state's new updates are
 * merged into the document store together with the position they cover, and then that position is committed for
 * the consumer id.
 *
 * Invariants: one store at a time (each waits for the previous); the updates taken and the position are read in the
 * same synchronous step, so the stored state holds exactly the update records below the stored position (the
 * provider adds every delivered record to the log state before the position passes it); the position is committed
 * only after the state is stored, so a committed position never runs ahead of a state that was stored; a failed
 * store puts the updates back for the next one.
 */
import type { Subscription } from '../consumer/subscription.js'
import type { YjsDocStore } from './doc-store.js'
import type { LogState } from './log-state.js'

export interface PersistenceDeps {
  /** Null: nothing is stored (every start loads the latest snapshot). */
  readonly store: YjsDocStore | null
  readonly delayMs: number
  readonly log: LogState
  readonly id: string
  readonly topic: string
  /** The document topic's subscription (null before it starts). */
  sub(): Subscription | null
  stopped(): boolean
  emitError(error: unknown): void
}

export class LogStatePersistence {
  readonly #deps: PersistenceDeps
  #timer: ReturnType<typeof setTimeout> | null = null
  #persisting: Promise<void> = Promise.resolve()

  constructor(deps: PersistenceDeps) {
    this.#deps = deps
  }

  /** Stores within `delayMs` (one timer at a time). */
  schedule(): void {
    if (this.#deps.store === null || this.#timer !== null || this.#deps.stopped()) return
    this.#timer = setTimeout(() => {
      this.#timer = null
      void this.persist()
    }, this.#deps.delayMs)
  }

  /** Cancels a scheduled store (`persist()` still stores). */
  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  /** Stores the log state with the position it covers, then commits that position. One at a time. */
  persist(): Promise<void> {
    const deps = this.#deps
    this.#persisting = this.#persisting.then(async () => {
      const store = deps.store
      const sub = deps.sub()
      const position = sub?.position(0) ?? null
      if (store === null || sub === null || position === null) return
      // Taken together, synchronously: the updates read so far are exactly the records below `position`.
      const updates = deps.log.takeUnpersisted()
      try {
        await store.merge(deps.id, deps.topic, updates, position)
      } catch (error) {
        deps.log.restore(updates)
        return deps.emitError(error)
      }
      await sub.commit({ partition: 0, offset: position }).catch((e: unknown) => deps.emitError(e))
    })
    return this.#persisting
  }
}
