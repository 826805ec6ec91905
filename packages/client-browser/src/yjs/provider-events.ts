/**
 * @module The listeners of a SamsaYjsProvider's events (`synced`, `unsynced-changes`, `error`).
 *
 * Invariants: a listener that throws breaks neither syncing nor the other listeners; an emit calls the listeners
 * registered when it started (one removed or added meanwhile does not change that call); errors reach listeners as
 * Error objects.
 */
import type { SamsaYjsProviderEvents } from './provider-options.js'

type Listeners = { [E in keyof SamsaYjsProviderEvents]: Set<SamsaYjsProviderEvents[E]> }

export class ProviderEvents {
  readonly #listeners: Listeners = { synced: new Set(), 'unsynced-changes': new Set(), error: new Set() }

  on<E extends keyof SamsaYjsProviderEvents>(event: E, listener: SamsaYjsProviderEvents[E]): () => void {
    const set = this.#listeners[event] as Set<SamsaYjsProviderEvents[E]> | undefined
    if (set === undefined) throw new TypeError(`provider.on(event, listener): unknown event ${JSON.stringify(event)} (synced, unsynced-changes, error)`)
    if (typeof listener !== 'function') throw new TypeError('provider.on(event, listener): listener must be a function')
    set.add(listener)
    return () => this.off(event, listener)
  }

  off<E extends keyof SamsaYjsProviderEvents>(event: E, listener: SamsaYjsProviderEvents[E]): void {
    ;(this.#listeners[event] as Set<SamsaYjsProviderEvents[E]> | undefined)?.delete(listener)
  }

  synced(): void {
    for (const listener of [...this.#listeners.synced]) call(() => listener(true))
  }

  unsyncedChanges(count: number): void {
    for (const listener of [...this.#listeners['unsynced-changes']]) call(() => listener(count))
  }

  error(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error))
    for (const listener of [...this.#listeners.error]) call(() => listener(e))
  }

  clear(): void {
    for (const set of Object.values(this.#listeners)) set.clear()
  }
}

function call(fn: () => void): void {
  try {
    fn()
  } catch {
    // A throwing listener must not break syncing or the other listeners.
  }
}
