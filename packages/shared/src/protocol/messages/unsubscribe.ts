/**
 * @module unsubscribe: ends a subscription; no push for it follows the response.
 *
 * Request:  subscriptionId u32
 * Response: (empty)
 */
import { ApiKeys } from '../api-keys.js'
import type { Exchange } from '../exchange.js'

export interface UnsubscribeRequest {
  readonly subscriptionId: number
}

export const unsubscribe: Exchange<UnsubscribeRequest, Record<string, never>> = {
  apiKey: ApiKeys.UNSUBSCRIBE,
  name: 'unsubscribe',
  encodeRequest: (w, q) => void w.u32(q.subscriptionId),
  decodeRequest: (r) => {
    const q = { subscriptionId: r.u32() }
    r.end()
    return q
  },
  encodeResponse: () => {},
  decodeResponse: (r) => {
    r.end()
    return {}
  },
}
