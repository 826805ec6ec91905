/**
 * @module The Raft core's data: log entries, hard state, snapshots and the messages nodes exchange.
 * Every type here is plain data (numbers, booleans, Uint8Array, arrays) so a wire codec can encode it
 * without knowing the core. Node ids are integers ≥ 1; 0 means "none" (no vote, no leader).
 */

export type NodeId = number

/** No node: an unset vote or an unknown leader. */
export const NONE: NodeId = 0

/** One log entry. An entry with empty `data` is a new leader's no-op; proposals never have empty data. */
export interface Entry {
  readonly term: number
  readonly index: number
  readonly data: Uint8Array
}

/** What must be durable before any message of the same Ready leaves the node. */
export interface HardState {
  readonly term: number
  /** The candidate voted for in `term`, or NONE. */
  readonly vote: NodeId
  readonly commit: number
}

/** The static membership: voters decide, learners only receive the log. */
export interface Membership {
  readonly voters: readonly NodeId[]
  readonly learners: readonly NodeId[]
}

export interface SnapshotMetadata extends Membership {
  /** The last log index the snapshot covers, and its term. */
  readonly index: number
  readonly term: number
}

/** The application's state as of `metadata.index`; `data` is opaque to the core. */
export interface Snapshot {
  readonly metadata: SnapshotMetadata
  readonly data: Uint8Array
}

/** A linearizable read point: once the application has applied `index`, it may serve the read named by `context`. */
export interface ReadState {
  readonly index: number
  readonly context: Uint8Array
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader'

interface Envelope {
  readonly from: NodeId
  readonly to: NodeId
  /** The sender's term (for a pre-vote request: the term the sender would campaign in). */
  readonly term: number
}

/** Leader → follower: entries after (index, logTerm), and the leader's commit index. */
export interface AppendMessage extends Envelope {
  readonly type: 'append'
  readonly index: number
  readonly logTerm: number
  readonly entries: readonly Entry[]
  readonly commit: number
}

/**
 * Follower → leader. Accepted: `index` is the follower's last index matching the leader.
 * Rejected: `index` is the rejected append's index, (`rejectHint`, `logTerm`) the follower's probe hint.
 */
export interface AppendResponseMessage extends Envelope {
  readonly type: 'appendResponse'
  readonly index: number
  readonly reject: boolean
  readonly rejectHint: number
  readonly logTerm: number
}

/** Candidate → voter: (index, logTerm) is the candidate's last entry. */
export interface VoteMessage extends Envelope {
  readonly type: 'vote' | 'preVote'
  readonly index: number
  readonly logTerm: number
}

export interface VoteResponseMessage extends Envelope {
  readonly type: 'voteResponse' | 'preVoteResponse'
  readonly reject: boolean
}

/** Leader → follower: liveness, the commit index known safe for that follower, and an optional read-index context. */
export interface HeartbeatMessage extends Envelope {
  readonly type: 'heartbeat'
  readonly commit: number
  readonly context?: Uint8Array
}

export interface HeartbeatResponseMessage extends Envelope {
  readonly type: 'heartbeatResponse'
  readonly context?: Uint8Array
}

/** Leader → follower behind the compacted log: install this snapshot. */
export interface SnapshotMessage extends Envelope {
  readonly type: 'snapshot'
  readonly snapshot: Snapshot
}

/** Follower → leader: proposals forwarded to the leader. */
export interface ProposeMessage extends Envelope {
  readonly type: 'propose'
  readonly entries: readonly Entry[]
}

/** Follower → leader: a read-index request. */
export interface ReadIndexMessage extends Envelope {
  readonly type: 'readIndex'
  readonly context: Uint8Array
}

export interface ReadIndexResponseMessage extends Envelope {
  readonly type: 'readIndexResponse'
  readonly index: number
  readonly context: Uint8Array
}

export type Message =
  | AppendMessage
  | AppendResponseMessage
  | VoteMessage
  | VoteResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | SnapshotMessage
  | ProposeMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage

export type MessageType = Message['type']

/** A message without its envelope, as the core builds it before stamping from/to/term. */
export type MessageBody = Message extends infer M ? (M extends Message ? Omit<M, 'from' | 'to' | 'term'> : never) : never

export const emptySnapshotMetadata: SnapshotMetadata = { index: 0, term: 0, voters: [], learners: [] }

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0
}

export function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit
}
