/**
 * @module offsetCommit: store a group's committed positions, (group, topic, partition) → (offset, leaderEpoch,
 * metadata), as records in the group's partition of `__consumer_offsets`; answered once that append is acknowledged
 * by the partition's ISR (acks all). offset is the next record to process (Kafka's convention); leaderEpoch is the
 * epoch of the record before it (−1 unknown), so a resuming consumer can detect a truncated log.
 *
 * A member commits with its memberId and current memberEpoch, only for partitions it owns: STALE_MEMBER_EPOCH when the
 * epoch is older than the member's current one (retry after the next heartbeat), FENCED_MEMBER_EPOCH when newer,
 * UNKNOWN_MEMBER_ID. An admin tool commits with memberId "" and memberEpoch −1, accepted only while the group has no
 * members (NON_EMPTY_GROUP otherwise): that is `samsa groups reset-offsets --execute`. Per-partition errors
 * (UNKNOWN_TOPIC_OR_PARTITION, an offset below 0, a partition the member does not own) come back per partition and
 * the other partitions are committed; group-wide errors (the coordinator ones, the epoch ones) fail the frame.
 *
 * Request:  groupId string, memberId string, memberEpoch i32,
 *           topicCount u32, [topic string, partitionCount u32, [partition i32, offset i64, leaderEpoch i32,
 *           metadata nullable string]…]…
 * Response: topicCount u32, [topic string, partitionCount u32, [partition i32, errorCode i16]…]…
 */
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'

export interface OffsetCommitPartition {
  readonly partition: number
  readonly offset: number
  readonly leaderEpoch: number
  readonly metadata: string | null
}

export interface OffsetCommitRequest {
  readonly groupId: string
  readonly memberId: string
  readonly memberEpoch: number
  readonly topics: readonly { readonly topic: string; readonly partitions: readonly OffsetCommitPartition[] }[]
}

export interface OffsetCommitResponse {
  readonly topics: readonly { readonly topic: string; readonly partitions: readonly { readonly partition: number; readonly errorCode: number }[] }[]
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const offsetCommitClientSide: ClientExchange<OffsetCommitRequest, OffsetCommitResponse> = {
  apiKey: ApiKeys.OFFSET_COMMIT,
  name: 'offsetCommit',
  encodeRequest: (w, q) => {
    w.string(q.groupId).string(q.memberId).i32(q.memberEpoch).u32(q.topics.length)
    for (const t of q.topics) {
      w.string(t.topic).u32(t.partitions.length)
      for (const p of t.partitions) w.i32(p.partition).i64(p.offset).i32(p.leaderEpoch).nullableString(p.metadata)
    }
  },
  decodeResponse: (r) => {
    const topics = Array.from({ length: r.count(6) }, () => ({
      topic: r.string(),
      partitions: Array.from({ length: r.count(6) }, () => ({ partition: r.i32(), errorCode: r.i16() })),
    }))
    r.end()
    return { topics }
  },
}

export const offsetCommit: Exchange<OffsetCommitRequest, OffsetCommitResponse> = /* @__PURE__ */ withBrokerSide(offsetCommitClientSide, {
  decodeRequest: (r) => {
    const groupId = r.string()
    const memberId = r.string()
    const memberEpoch = r.i32()
    const topics = Array.from({ length: r.count(6) }, () => ({
      topic: r.string(),
      partitions: Array.from({ length: r.count(18) }, () => ({ partition: r.i32(), offset: r.i64(), leaderEpoch: r.i32(), metadata: r.nullableString() })),
    }))
    r.end()
    return { groupId, memberId, memberEpoch, topics }
  },
  encodeResponse: (w, s) => {
    w.u32(s.topics.length)
    for (const t of s.topics) {
      w.string(t.topic).u32(t.partitions.length)
      for (const p of t.partitions) w.i32(p.partition).i16(p.errorCode)
    }
  },
})
