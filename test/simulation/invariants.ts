/**
 * @module The simulation's safety checks, fed by the drivers at every Ready, every durable write, every
 * application and every read point. A broken invariant throws InvariantViolation at once.
 */
import type { Entry, HardState, NodeId, RaftNode, Ready, ReadState } from '../../packages/server/src/controller/raft/index.js'

export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvariantViolation'
  }
}

/** FNV-1a over an entry's index, term and data: equal fingerprints mean equal entries (for these tests). */
export function fingerprint(e: Entry): number {
  let h = 0x811c9dc5
  const mix = (b: number) => {
    h ^= b & 0xff
    h = Math.imul(h, 0x01000193) >>> 0
  }
  for (const n of [e.index, e.term]) for (let s = 0; s < 32; s += 8) mix(n >>> s)
  for (const b of e.data) mix(b)
  return h
}

/** The application's state after applying `e` on top of `hash`. */
export function nextStateHash(hash: number, e: Entry): number {
  return Math.imul(hash ^ fingerprint(e), 0x01000193) >>> 0
}

function fail(message: string): never {
  throw new InvariantViolation(message)
}

export class Invariants {
  /** term → the leader elected in it (election safety: at most one). */
  readonly #leaders = new Map<number, NodeId>()
  /**
   * index → the committed entry's (term, fingerprint), as first seen committed anywhere, and the lowest term
   * at which a node was seen knowing it committed (≥ the term in which it was committed).
   */
  readonly #committed = new Map<number, { term: number; fp: number; knownAtTerm: number }>()
  /** "index/term" → fingerprint of every entry ever appended anywhere (log matching). */
  readonly #appended = new Map<string, number>()
  /** index → the application state hash after applying up to index (state machine safety). */
  readonly #stateHash = new Map<number, number>([[0, 0]])
  /** The highest index known committed anywhere. */
  maxCommitted = 0
  readonly #readRequired = new Map<string, number>()
  elections = 0
  maxTerm = 0
  appliedEntries = 0
  readsServed = 0

  /**
   * A Ready before the driver persists it. `commitBefore` is the node's commit index before this Ready (same
   * life), `term` its current term.
   */
  onReady(id: NodeId, node: RaftNode, rd: Ready, commitBefore: number, term: number): void {
    const commit = rd.hardState?.commit ?? commitBefore
    if (commit < commitBefore) fail(`node ${id}: commit index went back from ${commitBefore} to ${commit}`)
    for (const e of rd.entries) {
      const key = `${e.index}/${e.term}`
      const fp = fingerprint(e)
      const seen = this.#appended.get(key)
      if (seen === undefined) this.#appended.set(key, fp)
      else if (seen !== fp) fail(`log matching: node ${id} appended a different entry at index ${e.index} term ${e.term}`)
      // An entry at or below the node's commit index must be the committed one.
      const c = this.#committed.get(e.index)
      if (e.index <= commit && c && c.fp !== fp) fail(`node ${id} holds at its committed index ${e.index} an entry other than the committed one`)
    }
    for (const e of rd.committedEntries) {
      if (e.index > commit) fail(`node ${id} hands out entry ${e.index} beyond its commit index ${commit}`)
      const fp = fingerprint(e)
      const c = this.#committed.get(e.index)
      if (!c) this.#committed.set(e.index, { term: e.term, fp, knownAtTerm: term })
      else if (c.fp !== fp) fail(`committed entry ${e.index} changed: term ${c.term} before, now term ${e.term} on node ${id}`)
      else if (term < c.knownAtTerm) c.knownAtTerm = term
      if (e.index > this.maxCommitted) this.maxCommitted = e.index
    }
    if (rd.softState?.role === 'leader') this.#onLeader(id, node)
  }

  #onLeader(id: NodeId, node: RaftNode): void {
    const { term, firstIndex, lastIndex } = node.status()
    this.elections++
    if (term > this.maxTerm) this.maxTerm = term
    const other = this.#leaders.get(term)
    if (other !== undefined && other !== id) fail(`election safety: nodes ${other} and ${id} are both leaders of term ${term}`)
    this.#leaders.set(term, id)
    // Leader completeness: every entry committed in an earlier term is in the new leader's log (or below its
    // snapshot). A leader elected late (its votes were delayed) may lack entries committed in later terms.
    for (let i = firstIndex; i <= this.maxCommitted; i++) {
      const c = this.#committed.get(i)
      if (!c || c.knownAtTerm >= term) continue
      if (i > lastIndex || node.term(i) !== c.term) fail(`leader completeness: leader ${id} of term ${term} lacks committed entry ${i} (term ${c.term})`)
    }
  }

  /** What became durable on a node's disk replaces `before`. */
  onDurableHardState(id: NodeId, before: HardState, after: HardState): void {
    if (after.term < before.term) fail(`node ${id}: persisted term went back from ${before.term} to ${after.term}`)
    if (after.commit < before.commit) fail(`node ${id}: persisted commit went back from ${before.commit} to ${after.commit}`)
    if (after.term === before.term && before.vote !== 0 && after.vote !== before.vote) {
      fail(`node ${id} voted twice in term ${after.term}: ${before.vote} then ${after.vote}`)
    }
  }

  /** The application applied `e` after `appliedIndex`, reaching `hash`. */
  onApply(id: NodeId, appliedIndex: number, e: Entry, hash: number): void {
    if (e.index !== appliedIndex + 1) fail(`node ${id} applied entry ${e.index} after ${appliedIndex}`)
    const c = this.#committed.get(e.index)
    if (!c || c.fp !== fingerprint(e)) fail(`node ${id} applied entry ${e.index} (term ${e.term}) which is not the committed one`)
    this.#checkState(id, e.index, hash)
    this.appliedEntries++
  }

  /** The application was restored from a snapshot (received, or at restart). */
  onRestore(id: NodeId, index: number, hash: number): void {
    if (!this.#stateHash.has(index)) fail(`node ${id} restored a snapshot at ${index} that no node's application reached`)
    this.#checkState(id, index, hash)
  }

  #checkState(id: NodeId, index: number, hash: number): void {
    const h = this.#stateHash.get(index)
    if (h === undefined) this.#stateHash.set(index, hash)
    else if (h !== hash) fail(`node ${id}: application state at ${index} differs from another node's`)
  }

  /** A read was requested: its read point must cover everything committed by now. */
  onReadRequest(context: string): void {
    this.#readRequired.set(context, this.maxCommitted)
  }

  onReadState(id: NodeId, rs: ReadState, context: string): void {
    const required = this.#readRequired.get(context)
    if (required === undefined) fail(`node ${id} answered read ${context} that was never requested`)
    if (rs.index < required) fail(`linearizability: read ${context} on node ${id} got index ${rs.index}, but ${required} was committed before it was requested`)
    this.readsServed++
  }
}
