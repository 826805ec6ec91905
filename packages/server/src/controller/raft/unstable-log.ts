/**
 * @module The not-yet-persisted tail of the Raft log (etcd-raft's `unstable`): entries and possibly a
 * snapshot the driver has been handed in a Ready but has not yet confirmed durable with advance().
 */
import type { Entry, Snapshot } from './messages.js'

/** Invariant: `entries[i].index === offset + i`; with a snapshot, `offset === snapshot.metadata.index + 1` until entries are appended. */
export class UnstableLog {
  snapshot: Snapshot | undefined
  entries: Entry[] = []
  offset: number

  constructor(offset: number) {
    this.offset = offset
  }

  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.metadata.index + 1 : undefined
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1
    return this.snapshot?.metadata.index
  }

  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      return this.snapshot && this.snapshot.metadata.index === index ? this.snapshot.metadata.term : undefined
    }
    const last = this.maybeLastIndex()
    if (last === undefined || index > last) return undefined
    return this.entries[index - this.offset]!.term
  }

  /** The driver persisted entries up to (index, term); a tail that was replaced since then stays unstable. */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index)
    if (t === undefined || index < this.offset) return
    if (t === term) {
      this.entries = this.entries.slice(index + 1 - this.offset)
      this.offset = index + 1
    }
  }

  stableSnapTo(index: number): void {
    if (this.snapshot && this.snapshot.metadata.index === index) this.snapshot = undefined
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1
    this.entries = []
    this.snapshot = snapshot
  }

  /** Appends entries, replacing every unstable entry at or after the first new index. */
  truncateAndAppend(entries: readonly Entry[]): void {
    const after = entries[0]!.index
    if (after === this.offset + this.entries.length) {
      this.entries = this.entries.concat(entries)
    } else if (after <= this.offset) {
      // The new entries replace the whole unstable tail (and, for the driver, the stable entries from `after`).
      this.offset = after
      this.entries = entries.slice()
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(entries)
    }
  }

  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset)
  }
}
