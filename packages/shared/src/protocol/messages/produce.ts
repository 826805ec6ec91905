/**
 * @module produce: appends one record batch to one partition.
 * With acks 0 the broker sends no response at all.
 *
 * Request:  topic string, partition i32, acks i8 (−1 all, 1 leader, 0 none), timeoutMs u32, batch (the rest of the frame: one RecordBatch v2)
 * Response: baseOffset i64, logAppendTimeMs i64, logStartOffset i64, duplicate bool (true = a resend of a batch already in the log; baseOffset is the original)
 */
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'

export const Acks = { ALL: -1, LEADER: 1, NONE: 0 } as const

export interface ProduceRequest {
  readonly topic: string
  readonly partition: number
  readonly acks: number
  readonly timeoutMs: number
  readonly batch: Uint8Array
}

export interface ProduceResponse {
  readonly baseOffset: number
  readonly logAppendTimeMs: number
  readonly logStartOffset: number
  readonly duplicate: boolean
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const produceClientSide: ClientExchange<ProduceRequest, ProduceResponse> = {
  apiKey: ApiKeys.PRODUCE,
  name: 'produce',
  encodeRequest: (w, q) => void w.string(q.topic).i32(q.partition).i8(q.acks).u32(q.timeoutMs).raw(q.batch),
  decodeResponse: (r) => {
    const s = { baseOffset: r.i64(), logAppendTimeMs: r.i64(), logStartOffset: r.i64(), duplicate: r.bool() }
    r.end()
    return s
  },
}

export const produce: Exchange<ProduceRequest, ProduceResponse> = /* @__PURE__ */ withBrokerSide(produceClientSide, {
  decodeRequest: (r) => ({ topic: r.string(), partition: r.i32(), acks: r.i8(), timeoutMs: r.u32(), batch: r.rest() }),
  encodeResponse: (w, s) => void w.i64(s.baseOffset).i64(s.logAppendTimeMs).i64(s.logStartOffset).bool(s.duplicate),
})
