/**
 * @module ping: a heartbeat; lets a client detect a half-open connection.
 *
 * Request:  (empty)
 * Response: (empty)
 */
import { ApiKeys } from '../api-keys.js'
import type { Exchange } from '../exchange.js'

export const ping: Exchange<Record<string, never>, Record<string, never>> = {
  apiKey: ApiKeys.PING,
  name: 'ping',
  encodeRequest: () => {},
  decodeRequest: (r) => {
    r.end()
    return {}
  },
  encodeResponse: () => {},
  decodeResponse: (r) => {
    r.end()
    return {}
  },
}
