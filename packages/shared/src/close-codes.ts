/** @module WebSocket close codes used by both ends, as named constants. */

export const CloseCodes = {
  /** The connection was closed on purpose and in order. */
  NORMAL: 1000,
  /** The endpoint is going away: the broker is shutting down or the page is unloading. */
  GOING_AWAY: 1001,
  /** The frame is shorter than its 8-byte header (a body that cannot be parsed is answered with INVALID_REQUEST instead). */
  PROTOCOL_ERROR: 1002,
  /** A text frame arrived; the protocol is binary only. */
  UNSUPPORTED_DATA: 1003,
  /** A frame broke a rule that has no more specific code. */
  POLICY_VIOLATION: 1008,
  /** A frame exceeded the broker's maxFrameBytes. */
  MESSAGE_TOO_BIG: 1009,
  /** The broker hit an unexpected condition and cannot go on with the connection. */
  INTERNAL_ERROR: 1011,
  /** The broker is at maxConnections. */
  TRY_AGAIN_LATER: 1013,
  /** The client did not drain its socket and passed the broker's buffer limit. */
  SLOW_CONSUMER: 4008,
  /** No hello arrived within the handshake timeout. */
  HELLO_TIMEOUT: 4009,
  /** No frame arrived for the broker's idleTimeoutMs while the connection had no subscription and no request in flight. */
  IDLE_TIMEOUT: 4010,
  /** The connection's token expired and was not refreshed in time with reauthenticate; reconnect with a fresh token. */
  TOKEN_EXPIRED: 4001,
  /** A quota was exceeded for long enough that throttling did not help (connections, request rate, bytes). */
  QUOTA_EXCEEDED: 4029,
  /** The connection did not authenticate. */
  UNAUTHORIZED: 4401,
  /** The connection authenticated but may not connect. */
  FORBIDDEN: 4403,
} as const

export type CloseCodeName = keyof typeof CloseCodes

export function closeCodeName(code: number): string {
  for (const [name, value] of Object.entries(CloseCodes)) if (value === code) return name
  return `CLOSE_${code}`
}
