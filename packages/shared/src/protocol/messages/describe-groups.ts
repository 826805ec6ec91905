/**
 * @module describeGroups: a group's members, their assignments and its committed offsets with lag, asked of the
 * group's coordinator (NOT_COORDINATOR otherwise). lag = highWatermark − committed offset; highWatermark and lag are −1
 * where the coordinator does not know the partition's high watermark, and lag counts the whole readable log
 * (highWatermark − logStartOffset) for a partition of a subscribed topic with no commit (committed −1).
 * GROUP_ID_NOT_FOUND for a group with no members and no commits.
 *
 * Request:  groupId string
 * Response: groupId string, state string, groupEpoch i32, assignmentEpoch i32, assignor string,
 *           memberCount u32, [memberId string, instanceId nullable string, memberEpoch i32, clientHost string,
 *             subscribedTopicNames (count u32, [string]…), assignment topic-partition list,
 *             targetAssignment topic-partition list]…,
 *           offsetCount u32, [topic string, partition i32, committedOffset i64, committedLeaderEpoch i32,
 *             highWatermark i64, lag i64]…
 */
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'
import { readTopicPartitions, writeTopicPartitions, type TopicPartitions } from '../group-topic-partitions.js'

export interface DescribeGroupsRequest {
  readonly groupId: string
}

export interface GroupMemberDescription {
  readonly memberId: string
  readonly instanceId: string | null
  readonly memberEpoch: number
  /** The address the member's connection came from. */
  readonly clientHost: string
  readonly subscribedTopicNames: readonly string[]
  /** What the member owns now. */
  readonly assignment: readonly TopicPartitions[]
  /** What the coordinator wants it to own once reconciled. */
  readonly targetAssignment: readonly TopicPartitions[]
}

export interface GroupOffsetDescription {
  readonly topic: string
  readonly partition: number
  readonly committedOffset: number
  readonly committedLeaderEpoch: number
  readonly highWatermark: number
  readonly lag: number
}

export interface DescribeGroupsResponse {
  readonly groupId: string
  readonly state: string
  readonly groupEpoch: number
  readonly assignmentEpoch: number
  readonly assignor: string
  readonly members: readonly GroupMemberDescription[]
  readonly offsets: readonly GroupOffsetDescription[]
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const describeGroupsClientSide: ClientExchange<DescribeGroupsRequest, DescribeGroupsResponse> = {
  apiKey: ApiKeys.DESCRIBE_GROUPS,
  name: 'describeGroups',
  encodeRequest: (w, q) => void w.string(q.groupId),
  decodeResponse: (r) => {
    const groupId = r.string()
    const state = r.string()
    const groupEpoch = r.i32()
    const assignmentEpoch = r.i32()
    const assignor = r.string()
    const members = Array.from({ length: r.count(20) }, () => ({
      memberId: r.string(),
      instanceId: r.nullableString(),
      memberEpoch: r.i32(),
      clientHost: r.string(),
      subscribedTopicNames: Array.from({ length: r.count(2) }, () => r.string()),
      assignment: readTopicPartitions(r),
      targetAssignment: readTopicPartitions(r),
    }))
    const offsets = Array.from({ length: r.count(34) }, () => ({
      topic: r.string(),
      partition: r.i32(),
      committedOffset: r.i64(),
      committedLeaderEpoch: r.i32(),
      highWatermark: r.i64(),
      lag: r.i64(),
    }))
    r.end()
    return { groupId, state, groupEpoch, assignmentEpoch, assignor, members, offsets }
  },
}

export const describeGroups: Exchange<DescribeGroupsRequest, DescribeGroupsResponse> = /* @__PURE__ */ withBrokerSide(describeGroupsClientSide, {
  decodeRequest: (r) => {
    const q = { groupId: r.string() }
    r.end()
    return q
  },
  encodeResponse: (w, s) => {
    w.string(s.groupId).string(s.state).i32(s.groupEpoch).i32(s.assignmentEpoch).string(s.assignor).u32(s.members.length)
    for (const m of s.members) {
      w.string(m.memberId).nullableString(m.instanceId).i32(m.memberEpoch).string(m.clientHost).u32(m.subscribedTopicNames.length)
      for (const t of m.subscribedTopicNames) w.string(t)
      writeTopicPartitions(w, m.assignment)
      writeTopicPartitions(w, m.targetAssignment)
    }
    w.u32(s.offsets.length)
    for (const o of s.offsets) w.string(o.topic).i32(o.partition).i64(o.committedOffset).i32(o.committedLeaderEpoch).i64(o.highWatermark).i64(o.lag)
  },
})
