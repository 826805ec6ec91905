/**
 * @module unsubscribe: ends a subscription; no push for it follows the response.
 *
 * Request:  subscriptionId u32
 * Response: (empty)
 */
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'

export interface UnsubscribeRequest {
  readonly subscriptionId: number
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const unsubscribeClientSide: ClientExchange<UnsubscribeRequest, Record<string, never>> = {
  apiKey: ApiKeys.UNSUBSCRIBE,
  name: 'unsubscribe',
  encodeRequest: (w, q) => void w.u32(q.subscriptionId),
  decodeResponse: (r) => {
    r.end()
    return {}
  },
}

export const unsubscribe: Exchange<UnsubscribeRequest, Record<string, never>> = /* @__PURE__ */ withBrokerSide(unsubscribeClientSide, {
  decodeRequest: (r) => {
    const q = { subscriptionId: r.u32() }
    r.end()
    return q
  },
  encodeResponse: () => {},
})
