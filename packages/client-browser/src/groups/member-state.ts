/**
 * @module The pure core of a group member (KIP-848, client side): what the next heartbeat says, what an answer
 * means for the partitions the member owns, and what an error asks of it. No I/O, no timers: group-member.ts
 * performs the decisions.
 *
 * Invariants: the member owns only partitions of an assignment it was given; a new assignment is reconciled by
 * revoking first (owned − target) and heartbeating without the revoked partitions, then assigning (target − owned); a FENCED_MEMBER_EPOCH or
 * UNKNOWN_MEMBER_ID drops every owned partition without committing and rejoins at epoch 0 with the same memberId;
 * the full subscription (topics, assignor, owned partitions) is sent on a join and after any failed heartbeat, else
 * only what changed since the last acknowledged request (null = unchanged).
 */
import { MemberEpochs, type ConsumerGroupHeartbeatRequest, type ConsumerGroupHeartbeatResponse, type TopicPartitions } from '@samsa/shared'

export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

export interface MemberConfig {
  readonly groupId: string
  readonly memberId: string
  readonly instanceId: string | null
  readonly topics: readonly string[]
  readonly rebalanceTimeoutMs: number
  readonly assignor: string | null
}

export interface MemberState {
  /** 0 before the member joined (or after it was fenced); the epoch of the last answer otherwise. */
  readonly epoch: number
  /** Partitions whose records the member delivers (sorted by topic, then partition). */
  readonly owned: readonly TopicPartition[]
  /** The next heartbeat sends topics, assignor and owned partitions in full (a join, or the last request failed). */
  readonly sendFull: boolean
  /** Owned partitions as last acknowledged by the coordinator (null: never). */
  readonly ackedOwned: readonly TopicPartition[] | null
  /** The last assignment the coordinator gave (what the member should own); reconciled step by step. */
  readonly target: readonly TopicPartition[]
  readonly heartbeatIntervalMs: number
}

export const initialMemberState = (heartbeatIntervalMs: number): MemberState => ({ epoch: MemberEpochs.JOIN, owned: [], sendFull: true, ackedOwned: null, target: [], heartbeatIntervalMs })

/** The key of a partition in sets and maps. */
export const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`

export function sortPartitions(list: readonly TopicPartition[]): TopicPartition[] {
  return [...list].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
}

export function flatten(list: readonly TopicPartitions[]): TopicPartition[] {
  return sortPartitions(list.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }))))
}

export function grouped(list: readonly TopicPartition[]): TopicPartitions[] {
  const byTopic = new Map<string, number[]>()
  for (const tp of sortPartitions(list)) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition])
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }))
}

const sameList = (a: readonly TopicPartition[], b: readonly TopicPartition[]): boolean => a.length === b.length && a.every((tp, i) => tpKey(tp) === tpKey(b[i]!))

/** The heartbeat to send now; `leaving` sends the leave epoch (−2 for a static member, else −1). */
export function heartbeatRequest(config: MemberConfig, state: MemberState, leaving = false): ConsumerGroupHeartbeatRequest {
  const epoch = leaving ? (config.instanceId !== null ? MemberEpochs.STATIC_LEAVE : MemberEpochs.LEAVE) : state.epoch
  const full = state.sendFull || state.epoch === MemberEpochs.JOIN
  const ownedChanged = state.ackedOwned === null || !sameList(state.ackedOwned, state.owned)
  return {
    groupId: config.groupId,
    memberId: config.memberId,
    memberEpoch: epoch,
    instanceId: config.instanceId,
    rebalanceTimeoutMs: config.rebalanceTimeoutMs,
    subscribedTopicNames: full ? config.topics : null,
    serverAssignor: full ? config.assignor : null,
    ownedPartitions: full || ownedChanged ? grouped(state.owned) : null,
  }
}

/** The state after an answer to `sent`: the new epoch, interval and (when given) target assignment. */
export function onHeartbeat(state: MemberState, sent: ConsumerGroupHeartbeatRequest, answer: ConsumerGroupHeartbeatResponse): MemberState {
  const acked = sent.ownedPartitions === null ? state.ackedOwned : flatten(sent.ownedPartitions)
  const interval = answer.heartbeatIntervalMs > 0 ? answer.heartbeatIntervalMs : state.heartbeatIntervalMs
  const target = answer.assignment === null ? state.target : flatten(answer.assignment)
  return { ...state, epoch: answer.memberEpoch, sendFull: false, ackedOwned: acked, heartbeatIntervalMs: interval, target }
}

/**
 * The next reconciliation step: revoke what is owned and not in the target (and heartbeat without it before
 * anything new starts), else assign what is in the target and not owned; null once owned = target.
 */
export function nextStep(state: MemberState): { readonly revoke: readonly TopicPartition[] } | { readonly assign: readonly TopicPartition[] } | null {
  const { revoke, assign } = diff(state.owned, state.target)
  if (revoke.length > 0) return { revoke }
  if (assign.length > 0) return { assign }
  return null
}

/** Revoke = owned − target, assign = target − owned. */
export function diff(owned: readonly TopicPartition[], target: readonly TopicPartition[]): { readonly revoke: TopicPartition[]; readonly assign: TopicPartition[] } {
  const targetKeys = new Set(target.map(tpKey))
  const ownedKeys = new Set(owned.map(tpKey))
  return { revoke: owned.filter((tp) => !targetKeys.has(tpKey(tp))), assign: target.filter((tp) => !ownedKeys.has(tpKey(tp))) }
}

/** The member stopped delivering `revoked` (their positions committed). */
export function revoked(state: MemberState, partitions: readonly TopicPartition[]): MemberState {
  const gone = new Set(partitions.map(tpKey))
  return { ...state, owned: state.owned.filter((tp) => !gone.has(tpKey(tp))) }
}

/** The member started delivering `assigned`. */
export function assigned(state: MemberState, partitions: readonly TopicPartition[]): MemberState {
  const have = new Set(state.owned.map(tpKey))
  return { ...state, owned: sortPartitions([...state.owned, ...partitions.filter((tp) => !have.has(tpKey(tp)))]) }
}

/**
 * What a failed heartbeat (or commit) asks: `refind` the coordinator (it moved, is loading, or the connection was
 * lost), `rejoin` at epoch 0 after dropping every partition without committing (fenced, or removed), `retry` after a
 * backoff (UNRELEASED_INSTANCE_ID: the instance's previous member has not timed out yet), or `fatal` (the
 * subscription ends with the error: authorization, a bad group id or assignor, a full group, a fenced instance id).
 */
export type ErrorAction = 'refind' | 'rejoin' | 'retry' | 'fatal'

const REFIND = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS', 'NETWORK_EXCEPTION', 'REQUEST_TIMED_OUT'])
const REJOIN = new Set(['FENCED_MEMBER_EPOCH', 'UNKNOWN_MEMBER_ID'])

export function errorAction(error: { readonly errorName?: string; readonly retriable?: boolean }): ErrorAction {
  const name = error.errorName ?? ''
  // A non-retriable NETWORK_EXCEPTION is the client's own close: nothing to find again.
  if (REFIND.has(name)) return error.retriable === false ? 'fatal' : 'refind'
  if (REJOIN.has(name)) return 'rejoin'
  if (name === 'UNRELEASED_INSTANCE_ID' || name === 'STALE_MEMBER_EPOCH' || error.retriable === true) return 'retry'
  return 'fatal'
}

/** After a failed heartbeat: the next one sends everything again; a rejoin also forgets the owned partitions and the epoch. */
export function afterError(state: MemberState, action: ErrorAction): MemberState {
  if (action === 'rejoin') return { ...state, epoch: MemberEpochs.JOIN, owned: [], sendFull: true, ackedOwned: null, target: [] }
  return { ...state, sendFull: true }
}
