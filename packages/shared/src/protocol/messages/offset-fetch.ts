/**
 * @module offsetFetch: a group's committed positions. topics null asks for every partition the group has committed.
 * A partition with no commit answers offset −1, leaderEpoch −1, metadata null. A member may pass its memberId and
 * memberEpoch (then STALE_MEMBER_EPOCH / FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID apply as for offsetCommit, so a
 * member never reads positions from an epoch it no longer holds); an admin tool passes "" and −1.
 * GROUP_ID_NOT_FOUND never: an unknown group simply has no commits.
 *
 * Request:  groupId string, memberId string, memberEpoch i32, topics nullable topic-partition list
 * Response: topicCount u32, [topic string, partitionCount u32, [partition i32, offset i64, leaderEpoch i32,
 *           metadata nullable string, errorCode i16]…]…
 */
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'
import { readNullableTopicPartitions, writeNullableTopicPartitions, type TopicPartitions } from '../group-topic-partitions.js'

export interface OffsetFetchRequest {
  readonly groupId: string
  readonly memberId: string
  readonly memberEpoch: number
  readonly topics: readonly TopicPartitions[] | null
}

export interface CommittedOffset {
  readonly partition: number
  /** −1: nothing committed. */
  readonly offset: number
  readonly leaderEpoch: number
  readonly metadata: string | null
  readonly errorCode: number
}

export interface OffsetFetchResponse {
  readonly topics: readonly { readonly topic: string; readonly partitions: readonly CommittedOffset[] }[]
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const offsetFetchClientSide: ClientExchange<OffsetFetchRequest, OffsetFetchResponse> = {
  apiKey: ApiKeys.OFFSET_FETCH,
  name: 'offsetFetch',
  encodeRequest: (w, q) => {
    w.string(q.groupId).string(q.memberId).i32(q.memberEpoch)
    writeNullableTopicPartitions(w, q.topics)
  },
  decodeResponse: (r) => {
    const topics = Array.from({ length: r.count(6) }, () => ({
      topic: r.string(),
      partitions: Array.from({ length: r.count(20) }, () => ({ partition: r.i32(), offset: r.i64(), leaderEpoch: r.i32(), metadata: r.nullableString(), errorCode: r.i16() })),
    }))
    r.end()
    return { topics }
  },
}

export const offsetFetch: Exchange<OffsetFetchRequest, OffsetFetchResponse> = /* @__PURE__ */ withBrokerSide(offsetFetchClientSide, {
  decodeRequest: (r) => {
    const q = { groupId: r.string(), memberId: r.string(), memberEpoch: r.i32(), topics: readNullableTopicPartitions(r) }
    r.end()
    return q
  },
  encodeResponse: (w, s) => {
    w.u32(s.topics.length)
    for (const t of s.topics) {
      w.string(t.topic).u32(t.partitions.length)
      for (const p of t.partitions) w.i32(p.partition).i64(p.offset).i32(p.leaderEpoch).nullableString(p.metadata).i16(p.errorCode)
    }
  },
})
