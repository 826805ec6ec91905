/**
 * @module ping: a heartbeat; lets a client detect a half-open connection.
 *
 * Request:  (empty)
 * Response: (empty)
 */
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const pingClientSide: ClientExchange<Record<string, never>, Record<string, never>> = {
  apiKey: ApiKeys.PING,
  name: 'ping',
  encodeRequest: () => {},
  decodeResponse: (r) => {
    r.end()
    return {}
  },
}

export const ping: Exchange<Record<string, never>, Record<string, never>> = /* @__PURE__ */ withBrokerSide(pingClientSide, {
  decodeRequest: (r) => {
    r.end()
    return {}
  },
  encodeResponse: () => {},
})
