/**
 * @module The options of a Connection and of one request, and their defaults. Every timeout is in ms of the
 * connection's Clock; a request without its own timeout uses `requestTimeoutMs`, which also bounds how long a socket
 * may take to open.
 */
import type { Clock, Logger, Random, WebSocketConstructor } from '../ports.js'
import type { BackoffPolicy } from './backoff.js'
import type { TokenOption } from './token-keeper.js'

export interface ConnectionOptions {
  /** Base URLs (`ws://host:port`, normalized as in validation/broker-url.ts); the connection uses `<base>/ws` and rotates through them on reconnect. */
  readonly brokers: readonly string[]
  readonly clientId: string
  readonly WebSocket: WebSocketConstructor
  readonly clock?: Clock
  readonly random?: Random
  readonly logger?: Logger
  readonly requestTimeoutMs?: number
  readonly backoff?: BackoffPolicy
  /** Source of `online`/`offline` events; defaults to globalThis when it is an EventTarget (browsers); null disables. */
  readonly networkEvents?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> | null
  /** While connected, a `ping` is sent this many ms after the previous pong. Default 15 000; 0 disables heartbeats. */
  readonly heartbeatIntervalMs?: number
  /** A ping without a pong within this many ms means the socket is half-open: it is closed and the client reconnects. Default 10 000. */
  readonly heartbeatTimeoutMs?: number
  /** Sent in every hello; a function is called for each hello and to refresh before expiry (token-keeper.ts). */
  readonly token?: TokenOption
}

export interface RequestOptions<Res = unknown> {
  readonly timeoutMs?: number
  /** No response is expected (produce with acks 0): resolves once written. */
  readonly noResponse?: boolean
  /**
   * The request does not wait for a reconnect: like a request written to a socket that closes, it fails with a
   * retriable NETWORK_EXCEPTION when the connection loses its socket or an attempt to connect fails, also while it is
   * queued. Made while the connection waits out its reconnect backoff, it cuts the backoff short (an attempt now);
   * while the platform is offline it waits for the network like any request. For callers that can go elsewhere (a group's coordinator
   * that may have moved) instead of waiting for this broker to come back.
   */
  readonly failOnDisconnect?: boolean
  /**
   * Called with a successful response that arrives on the same socket after the request timed out (the promise has
   * already rejected), so the caller can undo what the broker did, e.g. unsubscribe a subscription it gave up on.
   */
  readonly onLateResponse?: (response: Res) => void
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 10_000
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
