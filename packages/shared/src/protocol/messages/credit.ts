/**
 * @module credit: grants a subscription more bytes of pushes (flow control). Credit is capped by the broker's maxCreditBytes.
 *
 * Request:  subscriptionId u32, bytes u32
 * Response: (empty)
 */
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'

export interface CreditRequest {
  readonly subscriptionId: number
  readonly bytes: number
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const creditClientSide: ClientExchange<CreditRequest, Record<string, never>> = {
  apiKey: ApiKeys.CREDIT,
  name: 'credit',
  encodeRequest: (w, q) => void w.u32(q.subscriptionId).u32(q.bytes),
  decodeResponse: (r) => {
    r.end()
    return {}
  },
}

export const credit: Exchange<CreditRequest, Record<string, never>> = /* @__PURE__ */ withBrokerSide(creditClientSide, {
  decodeRequest: (r) => {
    const q = { subscriptionId: r.u32(), bytes: r.u32() }
    r.end()
    return q
  },
  encodeResponse: () => {},
})
