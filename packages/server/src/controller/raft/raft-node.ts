/**
 * @module RaftNode: the Raft core's API for a driver (etcd-raft's RawNode).
 *
 * The driver's loop, and its contract:
 *   1. feed the node: `tick()` on its timer, `step(m)` for each message received, `propose(data)`, `readIndex(ctx)`;
 *   2. `ready()` → a Ready, then in this order:
 *      a. persist `snapshot` (if any), append `entries` (replacing any persisted entries from the first one's
 *         index on) and persist `hardState` (if any) — durably (fsync) as one atomic step;
 *      b. only then send `messages` (after persisting: a vote or an acknowledgement must never be forgotten
 *         by a crash once another node has seen it);
 *      c. restore the application from `snapshot` (if any), then apply `committedEntries` in order (entries
 *         with empty data are leader no-ops); serve the reads in `readStates` once their index is applied;
 *   3. `advance()`, then loop.
 * A driver may hold messages and applications back and persist several Readies with one fsync (group commit),
 * as long as nothing of a Ready leaves the node before that Ready is durable.
 */
import type { Entry, HardState, Message, NodeId, ReadState, Role, Snapshot } from './messages.js'
import { sameHardState } from './messages.js'
import type { Progress } from './progress.js'
import { Raft, type RaftConfig } from './raft.js'

export interface SoftState {
  readonly lead: NodeId
  readonly role: Role
}

export interface Ready {
  /** Changed leader or role (volatile, not to persist). */
  readonly softState?: SoftState
  /** Changed term, vote or commit: persist before sending `messages`. */
  readonly hardState?: HardState
  /** Entries to append to durable storage before sending `messages`. */
  readonly entries: readonly Entry[]
  /** A snapshot received from the leader: persist it, then restore the application from it. */
  readonly snapshot?: Snapshot
  /** Messages to send once the above is durable. */
  readonly messages: readonly Message[]
  /** Committed entries to apply, in order (after `snapshot`). */
  readonly committedEntries: readonly Entry[]
  /** Answers to readIndex() calls. */
  readonly readStates: readonly ReadState[]
}

export interface ProgressStatus {
  readonly match: number
  readonly next: number
  readonly state: Progress['state']
  readonly isLearner: boolean
  readonly recentActive: boolean
  readonly inflight: number
}

export interface RaftStatus extends SoftState, HardState {
  readonly id: NodeId
  readonly applied: number
  readonly lastIndex: number
  readonly firstIndex: number
  /** Per member, when this node is the leader. */
  readonly progress?: ReadonlyMap<NodeId, ProgressStatus>
}

export class RaftNode {
  readonly #raft: Raft
  #prevHardState: HardState
  #prevSoftState: SoftState
  #inFlight: Ready | undefined

  constructor(config: RaftConfig) {
    this.#raft = new Raft(config)
    this.#prevHardState = this.#raft.hardState()
    this.#prevSoftState = { lead: this.#raft.lead, role: this.#raft.role }
  }

  get id(): NodeId {
    return this.#raft.id
  }

  tick(): void {
    this.#raft.tick()
  }

  /** Feeds a message from another member; a message not addressed to us or from a non-member is ignored. */
  step(message: Message): void {
    if (message.to !== this.#raft.id || message.from === this.#raft.id || !this.#raft.trk.isMember(message.from)) return
    this.#raft.step(message)
  }

  /** Starts an election now (tests, or an operator's "elect this node"). */
  campaign(): void {
    this.#raft.campaign()
  }

  /** Submits data for the log: appended by a leader, forwarded by a follower; false when dropped (no known leader). Acceptance is no promise of commitment. */
  propose(data: Uint8Array): boolean {
    return this.#raft.propose(data)
  }

  /** Requests a linearizable read point for `context` (unique among outstanding requests); false when dropped. */
  readIndex(context: Uint8Array): boolean {
    return this.#raft.readIndex(context)
  }

  /**
   * Compacts the log up to `index` (≤ the applied index) behind a snapshot of the application state as of that
   * index; returns the snapshot for the driver to persist. Followers behind it will be sent the snapshot.
   */
  compact(index: number, data: Uint8Array): Snapshot {
    const log = this.#raft.log
    if (index > log.applied) throw new RangeError(`raft compaction at ${index} is beyond the applied index ${log.applied}`)
    return log.storage.compact(index, data)
  }

  hasReady(): boolean {
    const r = this.#raft
    return (
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.log.unstable.entries.length > 0 ||
      r.log.unstable.snapshot !== undefined ||
      r.log.hasNextCommittedEntries() ||
      !sameHardState(r.hardState(), this.#prevHardState) ||
      r.lead !== this.#prevSoftState.lead ||
      r.role !== this.#prevSoftState.role
    )
  }

  /** What the driver must persist, send and apply now; call advance() once it is done, before the next ready(). */
  ready(): Ready {
    if (this.#inFlight) throw new Error('raft ready() called again before advance()')
    const r = this.#raft
    const hs = r.hardState()
    const soft: SoftState = { lead: r.lead, role: r.role }
    const rd: Ready = {
      ...(soft.lead !== this.#prevSoftState.lead || soft.role !== this.#prevSoftState.role ? { softState: soft } : {}),
      ...(sameHardState(hs, this.#prevHardState) ? {} : { hardState: hs }),
      entries: r.log.unstableEntries(),
      ...(r.log.unstable.snapshot ? { snapshot: r.log.unstable.snapshot } : {}),
      messages: r.msgs,
      committedEntries: r.log.nextCommittedEntries(),
      readStates: r.readStates,
    }
    r.msgs = []
    r.readStates = []
    this.#inFlight = rd
    return rd
  }

  /** The last Ready was persisted, sent and applied. */
  advance(): void {
    const rd = this.#inFlight
    if (!rd) throw new Error('raft advance() called without a ready()')
    this.#inFlight = undefined
    const log = this.#raft.log
    if (rd.softState) this.#prevSoftState = rd.softState
    if (rd.hardState) this.#prevHardState = rd.hardState
    if (rd.snapshot) {
      log.stableSnapTo(rd.snapshot.metadata.index)
      if (rd.snapshot.metadata.index > log.applied) log.applied = rd.snapshot.metadata.index
    }
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1]
    if (lastCommitted) log.appliedTo(lastCommitted.index)
    const lastEntry = rd.entries[rd.entries.length - 1]
    if (lastEntry) log.stableTo(lastEntry.index, lastEntry.term)
  }

  status(): RaftStatus {
    const r = this.#raft
    const base = {
      id: r.id,
      lead: r.lead,
      role: r.role,
      ...r.hardState(),
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      firstIndex: r.log.firstIndex(),
    }
    if (r.role !== 'leader') return base
    const progress = new Map<NodeId, ProgressStatus>()
    for (const [id, pr] of r.trk.progress) {
      progress.set(id, { match: pr.match, next: pr.next, state: pr.state, isLearner: pr.isLearner, recentActive: pr.recentActive, inflight: pr.inflights.length })
    }
    return { ...base, progress }
  }

  /** The node's whole log (stable and unstable), for tests and diagnostics. */
  entries(): Entry[] {
    const log = this.#raft.log
    return log.slice(log.firstIndex(), log.lastIndex() + 1)
  }

  /** The term of `index` in this node's log, if it holds it (tests: the simulation's invariant checks). */
  term(index: number): number | undefined {
    return this.#raft.log.term(index)
  }
}
