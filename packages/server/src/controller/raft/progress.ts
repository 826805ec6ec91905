/**
 * @module The leader's view of each follower (etcd-raft's `tracker`): match/next indexes, the flow-control
 * state (probe, replicate, snapshot), in-flight appends, and quorum arithmetic over the static voters.
 */
import type { NodeId } from './messages.js'

/**
 * probe: one append at a time until the follower's match is found;
 * replicate: appends are pipelined optimistically (next advanced on send), bounded by `maxInflight`;
 * snapshot: a snapshot was sent, nothing else until the follower acknowledges it (or the leader gives up after an election timeout).
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot'

/** Invariant: match < next; in replicate, `inflights` holds the last index of each unacknowledged append, ascending. */
export class Progress {
  match = 0
  next: number
  state: ProgressState = 'probe'
  /** In snapshot state: the index of the snapshot sent, and ticks spent waiting for it. */
  pendingSnapshot = 0
  snapshotTicks = 0
  /** Heard from since the last check-quorum round. */
  recentActive = false
  /** In probe state: an append is outstanding, wait for its answer (or the next heartbeat response). */
  probeSent = false
  readonly inflights: number[] = []
  readonly isLearner: boolean
  readonly #maxInflight: number

  constructor(next: number, maxInflight: number, isLearner: boolean) {
    this.next = next
    this.#maxInflight = maxInflight
    this.isLearner = isLearner
  }

  #resetState(state: ProgressState): void {
    this.state = state
    this.probeSent = false
    this.pendingSnapshot = 0
    this.snapshotTicks = 0
    this.inflights.length = 0
  }

  becomeProbe(): void {
    // After a snapshot, the follower is known to have at least the snapshot's index.
    const next = this.state === 'snapshot' ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1
    this.#resetState('probe')
    this.next = next
  }

  becomeReplicate(): void {
    this.#resetState('replicate')
    this.next = this.match + 1
  }

  becomeSnapshot(index: number): void {
    this.#resetState('snapshot')
    this.pendingSnapshot = index
  }

  /** The follower acknowledged up to `index`; returns whether that is news. */
  maybeUpdate(index: number): boolean {
    let updated = false
    if (this.match < index) {
      this.match = index
      updated = true
      this.probeSent = false
    }
    this.next = Math.max(this.next, index + 1)
    return updated
  }

  /**
   * The follower rejected an append at `rejected`, hinting that its log matches ours at most up to `matchHint`.
   * Returns false when the rejection is stale (a reply to an older append).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false
      this.next = this.match + 1
      return true
    }
    if (this.next - 1 !== rejected) return false
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1)
    this.probeSent = false
    return true
  }

  /** Bookkeeping after an append carrying entries up to `lastIndex` (undefined: no entries) was sent. */
  sentAppend(lastIndex: number | undefined): void {
    if (this.state === 'replicate') {
      if (lastIndex !== undefined) {
        this.next = lastIndex + 1
        this.inflights.push(lastIndex)
      }
    } else if (this.state === 'probe') {
      this.probeSent = true
    }
  }

  /** Frees in-flight slots for appends acknowledged up to `index`. */
  freeInflightsTo(index: number): void {
    let n = 0
    while (n < this.inflights.length && this.inflights[n]! <= index) n++
    this.inflights.splice(0, n)
  }

  freeFirstInflight(): void {
    this.inflights.shift()
  }

  inflightsFull(): boolean {
    return this.inflights.length >= this.#maxInflight
  }

  isPaused(): boolean {
    if (this.state === 'probe') return this.probeSent
    if (this.state === 'replicate') return this.inflightsFull()
    return true
  }
}

export type VoteResult = 'won' | 'lost' | 'pending'

export class ProgressTracker {
  readonly voters: readonly NodeId[]
  readonly learners: readonly NodeId[]
  readonly progress = new Map<NodeId, Progress>()
  readonly #votes = new Map<NodeId, boolean>()
  readonly #maxInflight: number

  constructor(voters: readonly NodeId[], learners: readonly NodeId[], maxInflight: number) {
    if (voters.length === 0) throw new RangeError('a raft group needs at least one voter')
    if (new Set([...voters, ...learners]).size !== voters.length + learners.length) throw new RangeError('raft voters and learners must be distinct')
    if ([...voters, ...learners].some((id) => !Number.isInteger(id) || id < 1)) throw new RangeError('raft node ids are integers ≥ 1')
    this.voters = [...voters].sort((a, b) => a - b)
    this.learners = [...learners].sort((a, b) => a - b)
    this.#maxInflight = maxInflight
  }

  isVoter(id: NodeId): boolean {
    return this.voters.includes(id)
  }

  isMember(id: NodeId): boolean {
    return this.voters.includes(id) || this.learners.includes(id)
  }

  /** Fresh progress for every member (a new term): next just after our last index, match unknown except our own. */
  reset(lastIndex: number, self: NodeId): void {
    this.progress.clear()
    for (const id of this.voters) this.progress.set(id, new Progress(lastIndex + 1, this.#maxInflight, false))
    for (const id of this.learners) this.progress.set(id, new Progress(lastIndex + 1, this.#maxInflight, true))
    const own = this.progress.get(self)
    if (own) own.match = lastIndex
  }

  #majority(): number {
    return Math.floor(this.voters.length / 2) + 1
  }

  /** The largest index a majority of voters has acknowledged. */
  committedIndex(): number {
    const matches = this.voters.map((id) => this.progress.get(id)?.match ?? 0).sort((a, b) => b - a)
    return matches[this.#majority() - 1]!
  }

  /** Whether a majority of voters was heard from since the last call; clears every activity flag but `self`'s. */
  quorumActive(self: NodeId): boolean {
    let active = 0
    for (const id of this.voters) if (id === self || this.progress.get(id)?.recentActive) active++
    for (const [id, pr] of this.progress) if (id !== self) pr.recentActive = false
    return active >= this.#majority()
  }

  resetVotes(): void {
    this.#votes.clear()
  }

  /** Records a voter's first answer (a duplicate or a non-voter's is ignored) and tallies. */
  recordVote(id: NodeId, granted: boolean): { granted: number; rejected: number; result: VoteResult } {
    if (this.isVoter(id) && !this.#votes.has(id)) this.#votes.set(id, granted)
    return this.tally(this.#votes)
  }

  tally(answers: ReadonlyMap<NodeId, boolean>): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0
    let rejected = 0
    for (const id of this.voters) {
      const v = answers.get(id)
      if (v === true) granted++
      else if (v === false) rejected++
    }
    const majority = this.#majority()
    const result: VoteResult = granted >= majority ? 'won' : this.voters.length - rejected < majority ? 'lost' : 'pending'
    return { granted, rejected, result }
  }
}
