/**
 * @module subscribe: asks the broker to push batches of one partition from an offset, within a byte credit.
 * The broker sends push frames while the subscription's credit is positive; each push spends its byte size.
 *
 * Request:  topic string, partition i32, offset i64 (−2 earliest, −1 latest, else exact), creditBytes u32
 * Response: subscriptionId u32, offset i64 (the resolved start), logStartOffset i64, highWatermark i64
 */
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'

export interface SubscribeRequest {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly creditBytes: number
}

export interface SubscribeResponse {
  readonly subscriptionId: number
  readonly offset: number
  readonly logStartOffset: number
  readonly highWatermark: number
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const subscribeClientSide: ClientExchange<SubscribeRequest, SubscribeResponse> = {
  apiKey: ApiKeys.SUBSCRIBE,
  name: 'subscribe',
  encodeRequest: (w, q) => void w.string(q.topic).i32(q.partition).i64(q.offset).u32(q.creditBytes),
  decodeResponse: (r) => {
    const s = { subscriptionId: r.u32(), offset: r.i64(), logStartOffset: r.i64(), highWatermark: r.i64() }
    r.end()
    return s
  },
}

export const subscribe: Exchange<SubscribeRequest, SubscribeResponse> = /* @__PURE__ */ withBrokerSide(subscribeClientSide, {
  decodeRequest: (r) => {
    const q = { topic: r.string(), partition: r.i32(), offset: r.i64(), creditBytes: r.u32() }
    r.end()
    return q
  },
  encodeResponse: (w, s) => void w.u32(s.subscriptionId).i64(s.offset).i64(s.logStartOffset).i64(s.highWatermark),
})
