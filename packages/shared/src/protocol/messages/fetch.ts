/**
 * @module fetch: pulls whole batches from an offset, waiting up to maxWaitMs for minBytes (long poll).
 * The answer comes once at least minBytes (capped at maxBytes) are readable from `offset`, once maxWaitMs pass, or
 * at once when minBytes is 0 or more is readable than fits in maxBytes.
 * Only batches at or below the high watermark are returned; the first batch may start before `offset`.
 *
 * Request:  topic string, partition i32, offset i64, maxBytes u32, maxWaitMs u32, minBytes u32
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
}

export interface FetchResponse {
  readonly highWatermark: number
  readonly logStartOffset: number
  readonly records: Uint8Array
}

export const fetch: Exchange<FetchRequest, FetchResponse> = {
  apiKey: ApiKeys.FETCH,
  name: 'fetch',
  encodeRequest: (w, q) => void w.string(q.topic).i32(q.partition).i64(q.offset).u32(q.maxBytes).u32(q.maxWaitMs).u32(q.minBytes),
  decodeRequest: (r) => {
    const q = { topic: r.string(), partition: r.i32(), offset: r.i64(), maxBytes: r.u32(), maxWaitMs: r.u32(), minBytes: r.u32() }
    r.end()
    return q
  },
  encodeResponse: (w, s) => void w.i64(s.highWatermark).i64(s.logStartOffset).raw(s.records),
  decodeResponse: (r) => ({ highWatermark: r.i64(), logStartOffset: r.i64(), records: r.rest() }),
}
