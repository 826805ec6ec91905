/** @module A tiny typed event emitter: `on` returns its own unsubscribe function; a throwing listener never stops the others. */

export class Emitter<Events extends Record<string, unknown>> {
  /** Listeners per event name; a listener added during emit is not called for that emit. */
  #listeners = new Map<keyof Events, Set<(payload: never) => void>>()

  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    let set = this.#listeners.get(event)
    if (set === undefined) this.#listeners.set(event, (set = new Set()))
    set.add(listener as (payload: never) => void)
    return () => void set.delete(listener as (payload: never) => void)
  }

  /** Returns the errors thrown by listeners (callers log them). */
  emit<K extends keyof Events>(event: K, payload: Events[K]): unknown[] {
    const errors: unknown[] = []
    const set = this.#listeners.get(event)
    if (set === undefined) return errors
    for (const listener of [...set]) {
      try {
        ;(listener as (payload: Events[K]) => void)(payload)
      } catch (error) {
        errors.push(error)
      }
    }
    return errors
  }

  clear(): void {
    this.#listeners.clear()
  }
}
