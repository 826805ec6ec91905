/**
 * @module fetch: pulls whole batches from an offset, waiting up to maxWaitMs for minBytes (long poll).
 * The answer comes once at least minBytes (capped at maxBytes) are readable from `offset`, once maxWaitMs pass, or
 * at once when minBytes is 0 or more is readable than fits in maxBytes.
 * Only batches at or below the high watermark are returned; the first batch may start before `offset`.
 * A replica fetch (a follower broker: replicaId ≥ 0, sent on a cluster-peer connection) reads up to the leader's log
 * end instead, names the leader epoch it follows (FENCED_LEADER_EPOCH when older than the leader's,
 * UNKNOWN_LEADER_EPOCH when newer) and tells the leader that the follower's log ends at `offset`.
 *
 * Request:  topic string, partition i32, offset i64, maxBytes u32, maxWaitMs u32, minBytes u32,
 *           [replicaId i32, currentLeaderEpoch i32] (the bracketed tail only from a follower; a client omits it)
 * Response: highWatermark i64, logStartOffset i64, records (the rest of the frame: zero or more RecordBatch v2)
 */
import { ApiKeys } from '../api-keys.js'
import type { Exchange } from '../exchange.js'

export interface FetchRequest {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly maxBytes: number
  readonly maxWaitMs: number
  readonly minBytes: number
  /** Present on a replica fetch: the follower's broker id. */
  readonly replicaId?: number
  /** The leader epoch the follower follows (−1: unchecked); present with replicaId. */
  readonly currentLeaderEpoch?: number
}

export interface FetchResponse {
  readonly highWatermark: number
  readonly logStartOffset: number
  readonly records: Uint8Array
}

export const fetch: Exchange<FetchRequest, FetchResponse> = {
  apiKey: ApiKeys.FETCH,
  name: 'fetch',
  encodeRequest: (w, q) => {
    w.string(q.topic).i32(q.partition).i64(q.offset).u32(q.maxBytes).u32(q.maxWaitMs).u32(q.minBytes)
    if (q.replicaId !== undefined) w.i32(q.replicaId).i32(q.currentLeaderEpoch ?? -1)
  },
  decodeRequest: (r) => {
    const q: { -readonly [K in keyof FetchRequest]: FetchRequest[K] } = { topic: r.string(), partition: r.i32(), offset: r.i64(), maxBytes: r.u32(), maxWaitMs: r.u32(), minBytes: r.u32() }
    if (r.remaining > 0) {
      q.replicaId = r.i32()
      q.currentLeaderEpoch = r.i32()
    }
    r.end()
    return q
  },
  encodeResponse: (w, s) => void w.i64(s.highWatermark).i64(s.logStartOffset).raw(s.records),
  decodeResponse: (r) => ({ highWatermark: r.i64(), logStartOffset: r.i64(), records: r.rest() }),
}
