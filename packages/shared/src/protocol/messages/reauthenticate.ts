/**
 * @module reauthenticate: a fresh token on a live connection (in-band refresh), before the current one expires. The
 * broker verifies it as it verified hello's; it must name the same subject (`sub`). On success the connection's
 * expiry moves to the new token's; on failure the connection keeps its current credential (and is still closed at
 * its expiry with TOKEN_EXPIRED).
 *
 * Request:  token string
 * Response: expiresAtMs i64 (wall-clock ms at which the connection's new credential expires; -1 for never)
 */
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'

export interface ReauthenticateRequest {
  readonly token: string
}

export interface ReauthenticateResponse {
  readonly expiresAtMs: number
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const reauthenticateClientSide: ClientExchange<ReauthenticateRequest, ReauthenticateResponse> = {
  apiKey: ApiKeys.REAUTHENTICATE,
  name: 'reauthenticate',
  encodeRequest: (w, q) => void w.string(q.token),
  decodeResponse: (r) => {
    const s = { expiresAtMs: r.i64() }
    r.end()
    return s
  },
}

export const reauthenticate: Exchange<ReauthenticateRequest, ReauthenticateResponse> = /* @__PURE__ */ withBrokerSide(reauthenticateClientSide, {
  decodeRequest: (r) => {
    const q = { token: r.string() }
    r.end()
    return q
  },
  encodeResponse: (w, s) => void w.i64(s.expiresAtMs),
})
