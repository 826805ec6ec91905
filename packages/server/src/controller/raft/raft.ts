/**
 * @module The Raft protocol as a pure state machine (after etcd-raft's `raft`): roles, elections with pre-vote,
 * check-quorum, and message handling. The leader's replication side is in leader.ts. No clock, timer, socket
 * or randomness: time is `tick()`, randomness the injected `random()`, I/O the messages in `msgs`.
 *
 * Safety rests on the driver's contract (see raft-node.ts): everything handed out in a Ready is persisted
 * before any of that Ready's messages is sent. That is why the leader may count its own new entries as
 * matched at once and a node may answer a vote in the same step that records it.
 */
import { silentLogger, type Logger } from '@samsa/shared'
import type { AppendMessage, Entry, HeartbeatMessage, HardState, Message, MessageBody, NodeId, ReadState, Role, Snapshot, SnapshotMessage, VoteMessage } from './messages.js'
import { NONE, isEmptyHardState } from './messages.js'
import { ProgressTracker } from './progress.js'
import { RaftLog } from './raft-log.js'
import type { RaftStorage } from './raft-storage.js'
import { ReadOnly, type ReadIndexRequest } from './read-only.js'
import { Leader } from './leader.js'

export interface RaftConfig {
  readonly id: NodeId
  readonly storage: RaftStorage
  /** A follower starts an election after between electionTicks and 2·electionTicks − 1 ticks without a leader. */
  readonly electionTicks: number
  /** The leader sends heartbeats every heartbeatTicks (< electionTicks). */
  readonly heartbeatTicks: number
  /** Uniform in [0, 1): randomizes election timeouts. Injected so a seeded run is reproducible. */
  readonly random: () => number
  /** Campaign in a pre-vote round first, so a node that cannot win never disturbs the term (default true). */
  readonly preVote?: boolean
  /** The leader steps down without a quorum's word within an election timeout; followers honour a live leader's lease (default true). */
  readonly checkQuorum?: boolean
  /** Approximate encoded bytes per append message (data + 16 per entry; at least one entry is always sent). */
  readonly maxAppendBytes?: number
  /** Unacknowledged appends per follower in the replicate state. */
  readonly maxInflightAppends?: number
  /** The index the application has already applied (its state survives restarts); default the snapshot index. */
  readonly applied?: number
  readonly logger?: Logger
}

export class Raft {
  readonly id: NodeId
  term = 0
  vote: NodeId = NONE
  lead: NodeId = NONE
  role: Role = 'follower'
  readonly log: RaftLog
  readonly trk: ProgressTracker
  /** Outgoing messages, handed out by the next Ready. */
  msgs: Message[] = []
  readStates: ReadState[] = []
  readonly readOnly = new ReadOnly()
  /** Read requests that arrived before this leader committed an entry of its term. */
  pendingReadIndex: ReadIndexRequest[] = []
  electionElapsed = 0
  heartbeatElapsed = 0
  randomizedElectionTimeout = 0
  readonly electionTicks: number
  readonly heartbeatTicks: number
  readonly preVote: boolean
  readonly checkQuorum: boolean
  readonly maxAppendBytes: number
  readonly #random: () => number
  readonly #logger: Logger
  readonly #leader: Leader

  constructor(cfg: RaftConfig) {
    if (!Number.isInteger(cfg.electionTicks) || !Number.isInteger(cfg.heartbeatTicks) || cfg.heartbeatTicks < 1 || cfg.electionTicks <= cfg.heartbeatTicks) {
      throw new RangeError('raft needs integer ticks with 1 ≤ heartbeatTicks < electionTicks')
    }
    this.id = cfg.id
    this.electionTicks = cfg.electionTicks
    this.heartbeatTicks = cfg.heartbeatTicks
    this.preVote = cfg.preVote ?? true
    this.checkQuorum = cfg.checkQuorum ?? true
    this.maxAppendBytes = cfg.maxAppendBytes ?? 1024 * 1024
    this.#random = cfg.random
    this.#logger = cfg.logger ?? silentLogger
    const { hardState, membership } = cfg.storage.initialState()
    this.log = new RaftLog(cfg.storage)
    this.trk = new ProgressTracker(membership.voters, membership.learners, cfg.maxInflightAppends ?? 256)
    if (!this.trk.isMember(this.id)) throw new RangeError(`raft node ${this.id} is not a voter or learner of the group`)
    if (!isEmptyHardState(hardState)) this.#loadState(hardState)
    if (cfg.applied !== undefined && cfg.applied > this.log.applied) this.log.appliedTo(cfg.applied)
    this.#leader = new Leader(this)
    this.becomeFollower(this.term, NONE)
  }

  #loadState(hs: HardState): void {
    if (hs.commit > this.log.lastIndex()) throw new RangeError(`persisted commit ${hs.commit} is beyond the persisted log (last index ${this.log.lastIndex()})`)
    this.log.commitTo(hs.commit)
    this.term = hs.term
    this.vote = hs.vote
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed }
  }

  info(text: string): void {
    this.#logger.info({ raft: this.id, term: this.term }, `${this.id} ${text}`)
  }

  send(to: NodeId, body: MessageBody, term = this.term): void {
    this.msgs.push({ ...body, from: this.id, to, term } as Message)
  }

  promotable(): boolean {
    return this.trk.isVoter(this.id) && this.log.unstable.snapshot === undefined
  }

  tick(): void {
    if (this.role === 'leader') {
      this.#leader.tick()
      return
    }
    this.electionElapsed++
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0
      this.campaign()
    }
  }

  // ---- roles

  #reset(term: number): void {
    if (term !== this.term) {
      this.term = term
      this.vote = NONE
    }
    this.lead = NONE
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    this.randomizedElectionTimeout = this.electionTicks + Math.floor(this.#random() * this.electionTicks)
    this.trk.resetVotes()
    this.trk.reset(this.log.lastIndex(), this.id)
    this.readOnly.reset()
    this.pendingReadIndex = []
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.#reset(term)
    this.lead = lead
    this.role = 'follower'
    this.info(`became follower at term ${term}${lead === NONE ? '' : ` of leader ${lead}`}`)
  }

  #becomePreCandidate(): void {
    // A pre-candidate changes neither its term nor its vote.
    this.role = 'pre-candidate'
    this.trk.resetVotes()
    this.lead = NONE
    this.info(`became pre-candidate at term ${this.term}`)
  }

  #becomeCandidate(): void {
    this.#reset(this.term + 1)
    this.vote = this.id
    this.role = 'candidate'
    this.info(`became candidate at term ${this.term}`)
  }

  #becomeLeader(): void {
    this.#reset(this.term)
    this.lead = this.id
    this.role = 'leader'
    this.info(`became leader at term ${this.term}`)
    this.#leader.start()
  }

  /** Starts an election now (a pre-vote round first when enabled); a leader or a non-voter ignores it. */
  campaign(): void {
    if (this.role === 'leader') return
    if (!this.promotable()) {
      this.info('is not promotable and does not campaign')
      return
    }
    this.#campaign(this.preVote ? 'preVote' : 'vote')
  }

  #campaign(type: 'preVote' | 'vote'): void {
    let term: number
    if (type === 'preVote') {
      this.#becomePreCandidate()
      term = this.term + 1
    } else {
      this.#becomeCandidate()
      term = this.term
    }
    if (this.trk.recordVote(this.id, true).result === 'won') {
      // A single voter wins at once.
      if (type === 'preVote') this.#campaign('vote')
      else this.#becomeLeader()
      return
    }
    const index = this.log.lastIndex()
    const logTerm = this.log.lastTerm()
    for (const id of this.trk.voters) {
      if (id === this.id) continue
      this.info(`[logterm: ${logTerm}, index: ${index}] sent ${type} request to ${id} at term ${term}`)
      this.send(id, { type, index, logTerm }, term)
    }
  }

  // ---- local requests

  /** Appends (leader) or forwards (follower with a known leader) a proposal; false when it is dropped. */
  propose(data: Uint8Array): boolean {
    if (data.length === 0) throw new RangeError('a raft proposal needs data (empty entries are leader no-ops)')
    if (this.role === 'leader') return this.#leader.propose([data])
    if (this.role === 'follower' && this.lead !== NONE) {
      this.send(this.lead, { type: 'propose', entries: [{ term: 0, index: 0, data }] })
      return true
    }
    return false
  }

  /** Asks for a linearizable read point, answered in a later Ready's readStates; false when no leader is known. */
  readIndex(context: Uint8Array): boolean {
    if (this.role === 'leader') {
      this.#leader.readIndex({ from: this.id, context })
      return true
    }
    if (this.role === 'follower' && this.lead !== NONE) {
      this.send(this.lead, { type: 'readIndex', context })
      return true
    }
    return false
  }

  // ---- messages

  step(m: Message): void {
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        // Leader lease: while we hear from a leader, nobody may start a new term through us.
        if (this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTicks) {
          this.info(`ignored ${m.type} from ${m.from} at term ${m.term}: lease of leader ${this.lead} not expired`)
          return
        }
      }
      if (m.type === 'preVote' || (m.type === 'preVoteResponse' && !m.reject)) {
        // A pre-vote never changes a term; a granted pre-vote carries the term the candidate will use.
      } else {
        this.info(`received ${m.type} from ${m.from} at higher term ${m.term}`)
        const lead = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot' ? m.from : NONE
        this.becomeFollower(m.term, lead)
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        // A stale leader learns our term from this answer and steps down (it may have been cut off and unable
        // to learn otherwise, since pre-vote keeps others from raising terms through it).
        this.send(m.from, { type: 'appendResponse', index: 0, reject: false, rejectHint: 0, logTerm: 0 })
      } else if (m.type === 'preVote') {
        this.send(m.from, { type: 'preVoteResponse', reject: true })
      }
      return
    }

    if (m.type === 'vote' || m.type === 'preVote') {
      this.#handleVote(m)
      return
    }
    if (this.role === 'leader') this.#leader.step(m)
    else if (this.role === 'follower') this.#stepFollower(m)
    else this.#stepCandidate(m)
  }

  #handleVote(m: VoteMessage): void {
    const canVote =
      this.vote === m.from || (this.vote === NONE && this.lead === NONE) || (m.type === 'preVote' && m.term > this.term)
    const respType = m.type === 'vote' ? 'voteResponse' : 'preVoteResponse'
    const mine = `[logterm: ${this.log.lastTerm()}, index: ${this.log.lastIndex()}, vote: ${this.vote}]`
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      this.info(`${mine} cast ${m.type} for ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${m.term}`)
      this.send(m.from, { type: respType, reject: false }, m.term)
      if (m.type === 'vote') {
        this.electionElapsed = 0
        this.vote = m.from
      }
    } else {
      this.info(`${mine} rejected ${m.type} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${m.term}`)
      this.send(m.from, { type: respType, reject: true })
    }
  }

  #stepFollower(m: Message): void {
    switch (m.type) {
      case 'propose':
        if (this.lead === NONE) this.info(`dropped a proposal from ${m.from}: no leader`)
        else this.send(this.lead, { type: 'propose', entries: m.entries })
        return
      case 'append':
        this.electionElapsed = 0
        this.lead = m.from
        this.#handleAppend(m)
        return
      case 'heartbeat':
        this.electionElapsed = 0
        this.lead = m.from
        this.#handleHeartbeat(m)
        return
      case 'snapshot':
        this.electionElapsed = 0
        this.lead = m.from
        this.#handleSnapshot(m)
        return
      case 'readIndex':
        if (this.lead !== NONE) this.send(this.lead, { type: 'readIndex', context: m.context })
        return
      case 'readIndexResponse':
        this.readStates.push({ index: m.index, context: m.context })
        return
      default:
        return
    }
  }

  #stepCandidate(m: Message): void {
    const respType = this.role === 'pre-candidate' ? 'preVoteResponse' : 'voteResponse'
    if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
      // A leader of our term exists.
      this.becomeFollower(m.term, m.from)
      this.#stepFollower(m)
      return
    }
    if (m.type !== respType) return
    const { granted, rejected, result } = this.trk.recordVote(m.from, !m.reject)
    this.info(`has received ${granted} ${m.type} votes and ${rejected} rejections`)
    if (result === 'won') {
      if (this.role === 'pre-candidate') this.#campaign('vote')
      else this.#becomeLeader()
    } else if (result === 'lost') {
      this.becomeFollower(this.term, NONE)
    }
  }

  #handleAppend(m: AppendMessage): void {
    if (m.index < this.log.committed) {
      this.send(m.from, { type: 'appendResponse', index: this.log.committed, reject: false, rejectHint: 0, logTerm: 0 })
      return
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries)
    if (lastNew !== undefined) {
      this.send(m.from, { type: 'appendResponse', index: lastNew, reject: false, rejectHint: 0, logTerm: 0 })
      return
    }
    // Hint the leader at the last index that can match: skip our entries of any term above the leader's.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm)
    this.info(`[logterm: ${this.log.term(m.index) ?? 0}, index: ${m.index}] rejected append [logterm: ${m.logTerm}, index: ${m.index}] from ${m.from}`)
    this.send(m.from, { type: 'appendResponse', index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term })
  }

  #handleHeartbeat(m: HeartbeatMessage): void {
    this.log.commitTo(m.commit)
    this.send(m.from, m.context ? { type: 'heartbeatResponse', context: m.context } : { type: 'heartbeatResponse' })
  }

  #handleSnapshot(m: SnapshotMessage): void {
    const { index, term } = m.snapshot.metadata
    if (this.#restore(m.snapshot)) {
      this.info(`restored snapshot [index: ${index}, term: ${term}]`)
      this.send(m.from, { type: 'appendResponse', index: this.log.lastIndex(), reject: false, rejectHint: 0, logTerm: 0 })
    } else {
      this.info(`ignored snapshot [index: ${index}, term: ${term}]`)
      this.send(m.from, { type: 'appendResponse', index: this.log.committed, reject: false, rejectHint: 0, logTerm: 0 })
    }
  }

  #restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.log.committed) return false
    if (this.log.matchTerm(s.metadata.index, s.metadata.term)) {
      // Our log already has the snapshot's last entry: just commit up to it.
      this.log.commitTo(s.metadata.index)
      return false
    }
    this.log.restore(s)
    return true
  }

  /** Appends new entries of this term at the end of the log (the leader's own). */
  appendOwn(data: readonly Uint8Array[]): Entry[] {
    const last = this.log.lastIndex()
    const entries = data.map((d, i) => ({ term: this.term, index: last + 1 + i, data: d }))
    this.log.append(entries)
    return entries
  }

  /** Answers a read request with a read point: locally (ours) or to the follower that forwarded it. */
  respondRead(request: ReadIndexRequest, index: number): void {
    if (request.from === this.id) this.readStates.push({ index, context: request.context })
    else this.send(request.from, { type: 'readIndexResponse', index, context: request.context })
  }

  stepDown(reason: string): void {
    this.info(reason)
    this.becomeFollower(this.term, NONE)
  }
}
