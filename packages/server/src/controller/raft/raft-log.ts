/**
 * @module The Raft log as the core sees it (etcd-raft's `raftLog`): the stable part in RaftStorage, the unstable
 * tail not yet persisted, and the commit and applied indexes.
 */
import type { Entry, Snapshot } from './messages.js'
import { CompactedError, type RaftStorage } from './raft-storage.js'
import { UnstableLog } from './unstable-log.js'

/** An entry's index and term as they count towards an append's size. */
export const ENTRY_OVERHEAD_BYTES = 16

export class RaftLogInvariantError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RaftLogInvariantError'
  }
}

/**
 * Invariants: applied ≤ committed ≤ lastIndex(); committed never decreases; an entry at or below `committed`
 * is never replaced (an attempt throws RaftLogInvariantError: it would mean the protocol was broken).
 */
export class RaftLog {
  readonly storage: RaftStorage
  readonly unstable: UnstableLog
  committed: number
  applied: number

  constructor(storage: RaftStorage) {
    this.storage = storage
    this.unstable = new UnstableLog(storage.lastIndex() + 1)
    this.committed = storage.firstIndex() - 1
    this.applied = storage.firstIndex() - 1
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex()
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex()
  }

  /** The term of `index`, or undefined when it is compacted (below the snapshot) or beyond the last index. */
  term(index: number): number | undefined {
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined
    return this.unstable.maybeTerm(index) ?? this.storage.term(index)
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term
  }

  /** Raft §5.4.1: a candidate's log (lastTerm, lastIndex) is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ours = this.lastTerm()
    return lastTerm > ours || (lastTerm === ours && lastIndex >= this.lastIndex())
  }

  /**
   * Appends a leader's entries following (index, logTerm) if our log matches there; returns the last index now
   * known to match the leader, or undefined on a mismatch. Commits up to min(commit, that index).
   */
  maybeAppend(index: number, logTerm: number, commit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined
    const lastNew = index + entries.length
    const conflict = this.findConflict(entries)
    if (conflict !== 0) {
      if (conflict <= this.committed) throw new RaftLogInvariantError(`entry ${conflict} conflicts with committed entry (committed ${this.committed})`)
      this.append(entries.slice(conflict - (index + 1)))
    }
    this.commitTo(Math.min(commit, lastNew))
    return lastNew
  }

  append(entries: readonly Entry[]): number {
    if (entries.length === 0) return this.lastIndex()
    const after = entries[0]!.index - 1
    if (after < this.committed) throw new RaftLogInvariantError(`append after ${after} is below committed ${this.committed}`)
    this.unstable.truncateAndAppend(entries)
    return this.lastIndex()
  }

  /** The index of the first entry that is new or differs in term from ours; 0 when all match. */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) if (!this.matchTerm(e.index, e.term)) return e.index
    return 0
  }

  /** The largest index ≤ `index` whose term is ≤ `term` (a follower's hint to skip a whole diverging term). */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = index; i > 0; i--) {
      const t = this.term(i)
      if (t === undefined) return { index: i, term: 0 }
      if (t <= term) return { index: i, term: t }
    }
    return { index: 0, term: 0 }
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries.slice()
  }

  /** Committed entries not yet applied (after any snapshot). */
  nextCommittedEntries(): Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex())
    return this.committed + 1 > lo ? this.slice(lo, this.committed + 1) : []
  }

  hasNextCommittedEntries(): boolean {
    return this.committed + 1 > Math.max(this.applied + 1, this.firstIndex())
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot()
  }

  commitTo(index: number): void {
    if (index <= this.committed) return
    if (index > this.lastIndex()) throw new RaftLogInvariantError(`commit ${index} is beyond the last index ${this.lastIndex()}`)
    this.committed = index
  }

  /** Commits `index` if it is beyond the commit index and from `term` (Raft §5.4.2: only current-term entries commit by counting). */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index)
      return true
    }
    return false
  }

  appliedTo(index: number): void {
    if (index === 0) return
    if (index > this.committed || index < this.applied) {
      throw new RaftLogInvariantError(`applied ${index} is outside [${this.applied}, ${this.committed}]`)
    }
    this.applied = index
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term)
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index)
  }

  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index
    this.unstable.restore(snapshot)
  }

  /**
   * Entries from `lo` to the end, at most `maxBytes` of approximate encoded size (data + ENTRY_OVERHEAD_BYTES
   * each; always at least one entry). Throws CompactedError below firstIndex().
   */
  entriesFrom(lo: number, maxBytes: number): Entry[] {
    const last = this.lastIndex()
    if (lo > last) return []
    const all = this.slice(lo, last + 1)
    let bytes = 0
    for (let i = 0; i < all.length; i++) {
      bytes += all[i]!.data.length + ENTRY_OVERHEAD_BYTES
      if (i > 0 && bytes > maxBytes) return all.slice(0, i)
    }
    return all
  }

  /** Entries [lo, hi) across storage and the unstable tail. */
  slice(lo: number, hi: number): Entry[] {
    if (lo > hi) throw new RangeError(`invalid raft log slice [${lo}, ${hi})`)
    if (lo < this.firstIndex()) throw new CompactedError(lo, this.firstIndex())
    if (hi > this.lastIndex() + 1) throw new RangeError(`raft log slice [${lo}, ${hi}) beyond the last index ${this.lastIndex()}`)
    if (lo === hi) return []
    const off = this.unstable.offset
    const out: Entry[] = []
    if (lo < off) out.push(...this.storage.entries(lo, Math.min(hi, off)))
    if (hi > off) out.push(...this.unstable.slice(Math.max(lo, off), hi))
    return out
  }
}
