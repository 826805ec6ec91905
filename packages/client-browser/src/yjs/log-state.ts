/**
 * @module The document content this provider knows to be in its topic: the state it started from (stored, or a
 * snapshot) plus every update record it has read since, own records included, kept as merged Yjs updates.
 *
 * Invariant: it holds only what the log has (never a local update that is not yet acknowledged and read back), so a
 * snapshot or a stored state made from it never claims content that the log might not get (a crash can lose a
 * local update between the edit and the SDK's outbox write; the document may have it, the log state never does).
 */
import * as Y from 'yjs'

/** Merge the pending updates into one once this many have accumulated (bounds memory and merge cost). */
const COMPACT_EVERY = 64

const compact = (updates: Uint8Array[]): Uint8Array[] => (updates.length <= 1 ? updates : [Y.mergeUpdates(updates)])

export class LogState {
  /** Everything known, as a few merged updates (at most COMPACT_EVERY). */
  #parts: Uint8Array[] = []
  /** What was added and not yet handed to the document store (null: no store, nothing tracked). */
  #unpersisted: Uint8Array[] | null

  constructor(tracksPersistence: boolean) {
    this.#unpersisted = tracksPersistence ? [] : null
  }

  /** Adds content that is already stored (the document store's state). */
  addStored(update: Uint8Array): void {
    this.#parts.push(update)
  }

  /** Adds content read from the log (or a snapshot of it). */
  add(update: Uint8Array): void {
    this.#parts.push(update)
    if (this.#parts.length >= COMPACT_EVERY) this.#parts = compact(this.#parts)
    if (this.#unpersisted === null) return
    this.#unpersisted.push(update)
    if (this.#unpersisted.length >= COMPACT_EVERY) this.#unpersisted = compact(this.#unpersisted)
  }

  /** The whole known state as one update; null when nothing is known. */
  state(): Uint8Array | null {
    this.#parts = compact(this.#parts)
    return this.#parts[0] ?? null
  }

  get hasUnpersisted(): boolean {
    return (this.#unpersisted?.length ?? 0) > 0
  }

  /** Takes what is not yet stored; `restore` puts it back if storing failed. */
  takeUnpersisted(): Uint8Array[] {
    const taken = this.#unpersisted ?? []
    if (this.#unpersisted !== null) this.#unpersisted = []
    return taken
  }

  restore(updates: readonly Uint8Array[]): void {
    if (this.#unpersisted !== null) this.#unpersisted = compact([...updates, ...this.#unpersisted])
  }
}
