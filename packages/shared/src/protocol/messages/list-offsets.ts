/**
 * @module listOffsets: the earliest or latest offset of a partition, or the first offset whose timestamp is ≥ a time.
 *
 * Request:  topic string, partition i32, timestamp i64 (−2 earliest, −1 latest, otherwise ms since the epoch)
 * Response: offset i64, timestamp i64 (−1 unless found by time), leaderEpoch i32
 * By time, when no record is that new, offset is the log end offset and timestamp −1.
 */
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'

export const OffsetSpec = { EARLIEST: -2, LATEST: -1 } as const

export interface ListOffsetsRequest {
  readonly topic: string
  readonly partition: number
  readonly timestamp: number
}

export interface ListOffsetsResponse {
  readonly offset: number
  readonly timestamp: number
  readonly leaderEpoch: number
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const listOffsetsClientSide: ClientExchange<ListOffsetsRequest, ListOffsetsResponse> = {
  apiKey: ApiKeys.LIST_OFFSETS,
  name: 'listOffsets',
  encodeRequest: (w, q) => void w.string(q.topic).i32(q.partition).i64(q.timestamp),
  decodeResponse: (r) => {
    const s = { offset: r.i64(), timestamp: r.i64(), leaderEpoch: r.i32() }
    r.end()
    return s
  },
}

export const listOffsets: Exchange<ListOffsetsRequest, ListOffsetsResponse> = /* @__PURE__ */ withBrokerSide(listOffsetsClientSide, {
  decodeRequest: (r) => {
    const q = { topic: r.string(), partition: r.i32(), timestamp: r.i64() }
    r.end()
    return q
  },
  encodeResponse: (w, s) => void w.i64(s.offset).i64(s.timestamp).i32(s.leaderEpoch),
})
