/**
 * @module The stable part of the Raft log, as the core reads it (etcd-raft's `Storage`), and an in-memory
 * implementation the driver keeps in step with its durable files (or rebuilds from them at start).
 */
import type { Entry, HardState, Membership, Snapshot } from './messages.js'
import { NONE } from './messages.js'

export interface RaftStorage {
  /** The persisted hard state and membership at start. */
  initialState(): { hardState: HardState; membership: Membership }
  /** Entries [lo, hi); requires firstIndex() ≤ lo ≤ hi ≤ lastIndex() + 1. */
  entries(lo: number, hi: number): Entry[]
  /** The term of entry `index` for firstIndex() − 1 ≤ index ≤ lastIndex() (the snapshot's term at firstIndex() − 1); otherwise undefined. */
  term(index: number): number | undefined
  /** The first index still in the log (the snapshot index + 1). */
  firstIndex(): number
  lastIndex(): number
  /** The latest snapshot (index 0 when there is none). */
  snapshot(): Snapshot
  /**
   * Records a snapshot of the application state as of `index` (≤ the applied index) and drops the entries up
   * to it; returns the snapshot, which the driver persists before it discards its own log files.
   */
  compact(index: number, data: Uint8Array): Snapshot
}

export class CompactedError extends Error {
  constructor(index: number, first: number) {
    super(`raft log index ${index} is compacted (first index ${first})`)
    this.name = 'CompactedError'
  }
}

/**
 * Invariant: `#entries[0]` is a placeholder carrying the snapshot's (index, term); the real entries follow
 * it with consecutive indexes.
 */
export class MemoryRaftStorage implements RaftStorage {
  #hardState: HardState = { term: 0, vote: NONE, commit: 0 }
  #snapshot: Snapshot
  #entries: Entry[]

  constructor(membership: Membership) {
    this.#snapshot = { metadata: { index: 0, term: 0, voters: [...membership.voters], learners: [...membership.learners] }, data: new Uint8Array(0) }
    this.#entries = [{ index: 0, term: 0, data: new Uint8Array(0) }]
  }

  initialState(): { hardState: HardState; membership: Membership } {
    const { voters, learners } = this.#snapshot.metadata
    return { hardState: this.#hardState, membership: { voters, learners } }
  }

  hardState(): HardState {
    return this.#hardState
  }

  setHardState(hs: HardState): void {
    this.#hardState = { term: hs.term, vote: hs.vote, commit: hs.commit }
  }

  #offset(): number {
    return this.#entries[0]!.index
  }

  firstIndex(): number {
    return this.#offset() + 1
  }

  lastIndex(): number {
    return this.#offset() + this.#entries.length - 1
  }

  term(index: number): number | undefined {
    const i = index - this.#offset()
    if (i < 0 || i >= this.#entries.length) return undefined
    return this.#entries[i]!.term
  }

  entries(lo: number, hi: number): Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError(lo, this.firstIndex())
    if (hi > this.lastIndex() + 1) throw new RangeError(`raft log entries [${lo}, ${hi}) beyond last index ${this.lastIndex()}`)
    return this.#entries.slice(lo - this.#offset(), hi - this.#offset())
  }

  snapshot(): Snapshot {
    return this.#snapshot
  }

  /** Replaces the whole log by a newer snapshot; an older one is ignored (returns false). */
  applySnapshot(snapshot: Snapshot): boolean {
    if (snapshot.metadata.index <= this.#snapshot.metadata.index) return false
    this.#snapshot = snapshot
    this.#entries = [{ index: snapshot.metadata.index, term: snapshot.metadata.term, data: new Uint8Array(0) }]
    return true
  }

  /** Appends entries, first dropping any stored entry at or after the first new index (a conflict the core resolved). */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return
    const first = entries[0]!.index
    if (first > this.lastIndex() + 1) throw new RangeError(`raft log append at ${first} leaves a gap after ${this.lastIndex()}`)
    let skip = 0
    // Entries already covered by the snapshot are dropped.
    while (skip < entries.length && entries[skip]!.index <= this.#offset()) skip++
    if (skip === entries.length) return
    const keep = entries[skip]!.index - this.#offset()
    this.#entries = this.#entries.slice(0, keep).concat(entries.slice(skip))
  }

  compact(index: number, data: Uint8Array): Snapshot {
    if (index <= this.#offset()) throw new CompactedError(index, this.firstIndex())
    if (index > this.lastIndex()) throw new RangeError(`raft log compact at ${index} beyond last index ${this.lastIndex()}`)
    const term = this.term(index)!
    const { voters, learners } = this.#snapshot.metadata
    this.#snapshot = { metadata: { index, term, voters, learners }, data }
    this.#entries = [{ index, term, data: new Uint8Array(0) }, ...this.#entries.slice(index - this.#offset() + 1)]
    return this.#snapshot
  }

  /** An independent copy (the simulation restarts a node from a copy of what was durable). */
  copy(): MemoryRaftStorage {
    const c = new MemoryRaftStorage(this.#snapshot.metadata)
    c.#hardState = this.#hardState
    c.#snapshot = this.#snapshot
    c.#entries = this.#entries.slice()
    return c
  }
}
