/**
 * @module The connection's state machine as a pure reducer: `transition(state, event) → { state, effects }`.
 * No timers, sockets or globals here; `connection.ts` performs the effects.
 *
 *   disconnected ──connect──▶ connecting ──handshakeSucceeded──▶ connected
 *        ▲  ◀──socketClosed / handshakeFailed(retriable)──┘            │
 *        └───────────────── backoffElapsed ─▶ connecting                │
 *   (a socket that closes while connecting is a failed attempt: reason connect_failed; once connected: socket_closed)
 *   connected ──heartbeatMissed (no pong in time: half-open)──▶ disconnected (socket closed, reconnect)
 *   any ──close / terminal close code / handshakeFailed(fatal)──▶ closed (final)
 */
import { CloseCodes } from '@samsa/shared'

export type ConnectionStatus = 'disconnected' | 'connecting' | 'connected' | 'closed'

/** Why the state last changed; stable strings for logs and UIs. */
export const ConnectionReasons = {
  INITIAL: 'initial',
  CONNECT_REQUESTED: 'connect_requested',
  HANDSHAKE_COMPLETE: 'handshake_complete',
  HANDSHAKE_FAILED: 'handshake_failed',
  /** A socket closed before its handshake completed (refused, unreachable, upgrade refused): an attempt that failed. */
  CONNECT_FAILED: 'connect_failed',
  /** A connected socket closed. */
  SOCKET_CLOSED: 'socket_closed',
  HEARTBEAT_TIMEOUT: 'heartbeat_timeout',
  BACKOFF_ELAPSED: 'backoff_elapsed',
  OFFLINE: 'offline',
  ONLINE: 'online',
  CLOSE_REQUESTED: 'close_requested',
  TERMINAL_CLOSE_CODE: 'terminal_close_code',
} as const

export type ConnectionReasonCode = (typeof ConnectionReasons)[keyof typeof ConnectionReasons]

export interface ConnectionReason {
  readonly code: ConnectionReasonCode
  readonly message: string
  /** The WebSocket close code, when a socket closing caused the change. */
  readonly closeCode?: number
}

export interface ConnectionState {
  readonly status: ConnectionStatus
  readonly reason: ConnectionReason
  /** Consecutive failed attempts since the last successful handshake; 0 while connected. */
  readonly attempt: number
  /** False while the platform reports no network; no attempt is made then. */
  readonly online: boolean
}

export type ConnectionEvent =
  | { readonly type: 'connect' }
  | { readonly type: 'socketOpened' }
  | { readonly type: 'handshakeSucceeded' }
  | { readonly type: 'handshakeFailed'; readonly retriable: boolean; readonly message: string }
  | { readonly type: 'socketClosed'; readonly closeCode: number; readonly message: string }
  | { readonly type: 'backoffElapsed' }
  /** A ping got no pong within the heartbeat timeout: the socket is treated as half-open. */
  | { readonly type: 'heartbeatMissed'; readonly message: string }
  | { readonly type: 'offline' }
  | { readonly type: 'online' }
  | { readonly type: 'close' }

export type ConnectionEffect =
  /** Open a new socket; the driver picks the broker URL from `attempt` (rotation). */
  | { readonly type: 'openSocket'; readonly attempt: number }
  | { readonly type: 'sendHello' }
  | { readonly type: 'closeSocket'; readonly closeCode: number; readonly message: string }
  | { readonly type: 'scheduleReconnect'; readonly attempt: number }
  | { readonly type: 'cancelReconnect' }
  /** Requests already written to the dropped socket fail with a retriable NETWORK_EXCEPTION; queued ones wait, but for those marked failOnDisconnect. */
  | { readonly type: 'failInFlight'; readonly message: string }
  /** Write the requests queued while not connected. */
  | { readonly type: 'flushQueued' }
  /** Final: every request, in flight or queued, fails with a non-retriable error. */
  | { readonly type: 'failAll'; readonly message: string }

export interface Transition {
  readonly state: ConnectionState
  readonly effects: readonly ConnectionEffect[]
}

/** Close codes after which reconnecting cannot help. */
export const TERMINAL_CLOSE_CODES: ReadonlySet<number> = new Set([CloseCodes.UNAUTHORIZED, CloseCodes.FORBIDDEN])

export function initialConnectionState(online = true): ConnectionState {
  return { status: 'disconnected', reason: { code: ConnectionReasons.INITIAL, message: 'not connected yet' }, attempt: 0, online }
}

const same = (state: ConnectionState): Transition => ({ state, effects: [] })

export function transition(state: ConnectionState, event: ConnectionEvent): Transition {
  if (state.status === 'closed') return same(state)
  const s = state.status
  switch (event.type) {
    case 'connect':
      if (s !== 'disconnected' || state.reason.code !== ConnectionReasons.INITIAL) return same(state)
      if (!state.online) return { state: { ...state, reason: { code: ConnectionReasons.OFFLINE, message: 'waiting for the network' } }, effects: [] }
      return {
        state: { ...state, status: 'connecting', reason: { code: ConnectionReasons.CONNECT_REQUESTED, message: 'connecting' } },
        effects: [{ type: 'openSocket', attempt: state.attempt }],
      }
    case 'socketOpened':
      return s === 'connecting' ? { state, effects: [{ type: 'sendHello' }] } : same(state)
    case 'handshakeSucceeded':
      if (s !== 'connecting') return same(state)
      return {
        state: { ...state, status: 'connected', attempt: 0, reason: { code: ConnectionReasons.HANDSHAKE_COMPLETE, message: 'connected' } },
        effects: [{ type: 'flushQueued' }],
      }
    case 'handshakeFailed': {
      if (s !== 'connecting') return same(state)
      const reason = { code: ConnectionReasons.HANDSHAKE_FAILED, message: event.message }
      const closeSocket: ConnectionEffect = { type: 'closeSocket', closeCode: CloseCodes.NORMAL, message: 'handshake failed' }
      if (!event.retriable) return { state: { ...state, status: 'closed', reason }, effects: [closeSocket, { type: 'failAll', message: event.message }] }
      return {
        state: { ...state, status: 'disconnected', attempt: state.attempt + 1, reason },
        effects: [closeSocket, { type: 'failInFlight', message: event.message }, { type: 'scheduleReconnect', attempt: state.attempt }],
      }
    }
    case 'socketClosed': {
      if (s !== 'connecting' && s !== 'connected') return same(state)
      if (TERMINAL_CLOSE_CODES.has(event.closeCode)) {
        const reason = { code: ConnectionReasons.TERMINAL_CLOSE_CODE, message: event.message, closeCode: event.closeCode }
        return { state: { ...state, status: 'closed', reason }, effects: [{ type: 'failAll', message: event.message }] }
      }
      const code = s === 'connecting' ? ConnectionReasons.CONNECT_FAILED : ConnectionReasons.SOCKET_CLOSED
      const reason = { code, message: event.message, closeCode: event.closeCode }
      const effects: ConnectionEffect[] = [{ type: 'failInFlight', message: event.message }]
      if (state.online) effects.push({ type: 'scheduleReconnect', attempt: state.attempt })
      return { state: { ...state, status: 'disconnected', attempt: state.attempt + 1, reason }, effects }
    }
    case 'heartbeatMissed': {
      if (s !== 'connected') return same(state)
      const reason = { code: ConnectionReasons.HEARTBEAT_TIMEOUT, message: event.message }
      const effects: ConnectionEffect[] = [
        { type: 'closeSocket', closeCode: CloseCodes.GOING_AWAY, message: 'heartbeat timeout' },
        { type: 'failInFlight', message: event.message },
      ]
      if (state.online) effects.push({ type: 'scheduleReconnect', attempt: state.attempt })
      return { state: { ...state, status: 'disconnected', attempt: state.attempt + 1, reason }, effects }
    }
    case 'backoffElapsed':
      if (s !== 'disconnected' || !state.online) return same(state)
      return {
        state: { ...state, status: 'connecting', reason: { code: ConnectionReasons.BACKOFF_ELAPSED, message: 'reconnecting' } },
        effects: [{ type: 'openSocket', attempt: state.attempt }],
      }
    case 'offline': {
      const reason = { code: ConnectionReasons.OFFLINE, message: 'the network went offline' }
      if (s === 'disconnected') return { state: { ...state, online: false, reason: state.reason.code === ConnectionReasons.INITIAL ? state.reason : reason }, effects: [{ type: 'cancelReconnect' }] }
      return {
        state: { ...state, status: 'disconnected', online: false, reason },
        effects: [{ type: 'closeSocket', closeCode: CloseCodes.GOING_AWAY, message: 'offline' }, { type: 'failInFlight', message: 'the network went offline' }],
      }
    }
    case 'online':
      if (state.online) return same(state)
      if (s !== 'disconnected' || state.reason.code === ConnectionReasons.INITIAL) return same({ ...state, online: true })
      return {
        state: { ...state, status: 'connecting', online: true, attempt: 0, reason: { code: ConnectionReasons.ONLINE, message: 'the network is back' } },
        effects: [{ type: 'openSocket', attempt: 0 }],
      }
    case 'close': {
      const effects: ConnectionEffect[] = [{ type: 'cancelReconnect' }]
      if (s === 'connecting' || s === 'connected') effects.push({ type: 'closeSocket', closeCode: CloseCodes.NORMAL, message: 'client closed' })
      effects.push({ type: 'failAll', message: 'the client is closed' })
      return { state: { ...state, status: 'closed', reason: { code: ConnectionReasons.CLOSE_REQUESTED, message: 'closed by the application' } }, effects }
    }
  }
}
