/**
 * @module consumerGroupHeartbeat: join, stay in and leave a consumer group (KIP-848's broker-driven protocol). A member
 * sends it every heartbeatIntervalMs; the coordinator answers with the member's epoch and, when it changed, the
 * partitions the member may own now. The coordinator revokes a partition from its owner (the owner acknowledges by
 * heartbeating without it in ownedPartitions) before it assigns it to another member, and bumps a member's epoch only
 * once the member owns nothing that belongs to someone else; so no partition has two owners in one member epoch.
 *
 * memberEpoch in the request: 0 joins (memberId chosen by the client, a random UUID it keeps for its life), −1 leaves,
 * −2 leaves temporarily as a static member (instanceId set: its partitions are kept for it until its session
 * timeout), otherwise the epoch the member last received. Errors: FENCED_MEMBER_EPOCH (the epoch is not the member's
 * current one, or the member was removed after its session timeout: rejoin with epoch 0 after dropping its partitions
 * without committing), UNKNOWN_MEMBER_ID, UNRELEASED_INSTANCE_ID (another live member holds the instanceId),
 * FENCED_INSTANCE_ID, UNSUPPORTED_ASSIGNOR, GROUP_MAX_SIZE_REACHED, INVALID_REQUEST, NOT_COORDINATOR /
 * COORDINATOR_NOT_AVAILABLE / COORDINATOR_LOAD_IN_PROGRESS (retriable: find the coordinator again),
 * GROUP_AUTHORIZATION_FAILED, TOPIC_AUTHORIZATION_FAILED.
 *
 * Nullable fields are "unchanged since the last request" when null; a join (epoch 0) must send
 * subscribedTopicNames and ownedPartitions (empty list when none).
 *
 * Request:  groupId string, memberId string, memberEpoch i32, instanceId nullable string, rebalanceTimeoutMs i32,
 *           subscribedTopicNames (flag u8, count u32, [string]…), serverAssignor nullable string,
 *           ownedPartitions nullable topic-partition list
 * Response: memberId string, memberEpoch i32, heartbeatIntervalMs i32, assignment nullable topic-partition list
 *           (null: unchanged)
 */
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'
import { readNullableTopicPartitions, writeNullableTopicPartitions, type TopicPartitions } from '../group-topic-partitions.js'

/** Special request epochs (KIP-848). */
export const MemberEpochs = { JOIN: 0, LEAVE: -1, STATIC_LEAVE: -2 } as const

/** The assignors every coordinator implements; a request naming another gets UNSUPPORTED_ASSIGNOR. */
export const GROUP_ASSIGNORS = ['uniform', 'range'] as const
export type GroupAssignorName = (typeof GROUP_ASSIGNORS)[number]

export interface ConsumerGroupHeartbeatRequest {
  readonly groupId: string
  readonly memberId: string
  readonly memberEpoch: number
  readonly instanceId: string | null
  readonly rebalanceTimeoutMs: number
  readonly subscribedTopicNames: readonly string[] | null
  readonly serverAssignor: string | null
  readonly ownedPartitions: readonly TopicPartitions[] | null
}

export interface ConsumerGroupHeartbeatResponse {
  readonly memberId: string
  readonly memberEpoch: number
  readonly heartbeatIntervalMs: number
  readonly assignment: readonly TopicPartitions[] | null
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const consumerGroupHeartbeatClientSide: ClientExchange<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse> = {
  apiKey: ApiKeys.CONSUMER_GROUP_HEARTBEAT,
  name: 'consumerGroupHeartbeat',
  encodeRequest: (w, q) => {
    w.string(q.groupId).string(q.memberId).i32(q.memberEpoch).nullableString(q.instanceId).i32(q.rebalanceTimeoutMs)
    w.bool(q.subscribedTopicNames !== null)
    if (q.subscribedTopicNames !== null) {
      w.u32(q.subscribedTopicNames.length)
      for (const t of q.subscribedTopicNames) w.string(t)
    }
    w.nullableString(q.serverAssignor)
    writeNullableTopicPartitions(w, q.ownedPartitions)
  },
  decodeResponse: (r) => {
    const s = { memberId: r.string(), memberEpoch: r.i32(), heartbeatIntervalMs: r.i32(), assignment: readNullableTopicPartitions(r) }
    r.end()
    return s
  },
}

export const consumerGroupHeartbeat: Exchange<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse> = /* @__PURE__ */ withBrokerSide(consumerGroupHeartbeatClientSide, {
  decodeRequest: (r) => {
    const groupId = r.string()
    const memberId = r.string()
    const memberEpoch = r.i32()
    const instanceId = r.nullableString()
    const rebalanceTimeoutMs = r.i32()
    const subscribedTopicNames = r.bool() ? Array.from({ length: r.count(2) }, () => r.string()) : null
    const serverAssignor = r.nullableString()
    const ownedPartitions = readNullableTopicPartitions(r)
    r.end()
    return { groupId, memberId, memberEpoch, instanceId, rebalanceTimeoutMs, subscribedTopicNames, serverAssignor, ownedPartitions }
  },
  encodeResponse: (w, s) => {
    w.string(s.memberId).i32(s.memberEpoch).i32(s.heartbeatIntervalMs)
    writeNullableTopicPartitions(w, s.assignment)
  },
})
