import { CloseCodes } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { ConnectionReasons, initialConnectionState, transition, type ConnectionEvent, type ConnectionState } from './connection-state.js'

function run(events: ConnectionEvent[], start: ConnectionState = initialConnectionState()) {
  let state = start
  const effects: string[] = []
  for (const e of events) {
    const t = transition(state, e)
    state = t.state
    effects.push(...t.effects.map((x) => x.type))
  }
  return { state, effects }
}

describe('connection state reducer', () => {
  it('connects: disconnected → connecting → connected, sending hello once the socket opens', () => {
    const { state, effects } = run([{ type: 'connect' }, { type: 'socketOpened' }, { type: 'handshakeSucceeded' }])
    expect(state.status).toBe('connected')
    expect(state.reason.code).toBe(ConnectionReasons.HANDSHAKE_COMPLETE)
    expect(effects).toEqual(['openSocket', 'sendHello', 'flushQueued'])
  })

  it('a dropped socket fails in-flight requests and schedules a reconnect with a growing attempt count', () => {
    let { state } = run([{ type: 'connect' }, { type: 'socketOpened' }, { type: 'handshakeSucceeded' }])
    let t = transition(state, { type: 'socketClosed', closeCode: 1006, message: 'abnormal' })
    expect(t.state).toMatchObject({ status: 'disconnected', attempt: 1, reason: { code: ConnectionReasons.SOCKET_CLOSED, closeCode: 1006 } })
    expect(t.effects).toEqual([{ type: 'failInFlight', message: 'abnormal' }, { type: 'scheduleReconnect', attempt: 0 }])
    t = transition(t.state, { type: 'backoffElapsed' })
    expect(t.state.status).toBe('connecting')
    expect(t.effects).toEqual([{ type: 'openSocket', attempt: 1 }])
    t = transition(t.state, { type: 'socketClosed', closeCode: 1006, message: 'refused' })
    expect(t.effects).toContainEqual({ type: 'scheduleReconnect', attempt: 1 })
    state = run([{ type: 'backoffElapsed' }, { type: 'socketOpened' }, { type: 'handshakeSucceeded' }], t.state).state
    expect(state).toMatchObject({ status: 'connected', attempt: 0 })
  })

  it('a socket that closes before its handshake completes is a failed attempt (connect_failed), not a lost connection', () => {
    const t = run([{ type: 'connect' }, { type: 'socketClosed', closeCode: 1006, message: 'could not connect (connect ECONNREFUSED)' }])
    expect(t.state).toMatchObject({ status: 'disconnected', attempt: 1, reason: { code: ConnectionReasons.CONNECT_FAILED, message: 'could not connect (connect ECONNREFUSED)', closeCode: 1006 } })
    expect(t.effects).toEqual(['openSocket', 'failInFlight', 'scheduleReconnect'])
    const opened = run([{ type: 'connect' }, { type: 'socketOpened' }, { type: 'socketClosed', closeCode: 1011, message: 'closed during hello' }])
    expect(opened.state.reason.code).toBe(ConnectionReasons.CONNECT_FAILED)
  })

  it('a terminal close code (unauthorized) closes for good', () => {
    const { state } = run([{ type: 'connect' }, { type: 'socketClosed', closeCode: CloseCodes.UNAUTHORIZED, message: 'no token' }])
    expect(state.status).toBe('closed')
    expect(state.reason).toEqual({ code: ConnectionReasons.TERMINAL_CLOSE_CODE, message: 'no token', closeCode: 4401 })
  })

  it('a retriable handshake failure backs off; a fatal one closes and fails everything', () => {
    const retry = run([{ type: 'connect' }, { type: 'socketOpened' }, { type: 'handshakeFailed', retriable: true, message: 'timed out' }])
    expect(retry.state.status).toBe('disconnected')
    expect(retry.effects).toContain('scheduleReconnect')
    const fatal = run([{ type: 'connect' }, { type: 'socketOpened' }, { type: 'handshakeFailed', retriable: false, message: 'UNSUPPORTED_VERSION' }])
    expect(fatal.state.status).toBe('closed')
    expect(fatal.effects).toEqual(['openSocket', 'sendHello', 'closeSocket', 'failAll'])
  })

  it('offline drops the socket and does not reconnect until online', () => {
    const connected = run([{ type: 'connect' }, { type: 'socketOpened' }, { type: 'handshakeSucceeded' }]).state
    const off = transition(connected, { type: 'offline' })
    expect(off.state).toMatchObject({ status: 'disconnected', online: false, reason: { code: ConnectionReasons.OFFLINE } })
    expect(off.effects.map((e) => e.type)).toEqual(['closeSocket', 'failInFlight'])
    expect(transition(off.state, { type: 'backoffElapsed' }).effects).toEqual([])
    expect(transition(off.state, { type: 'socketClosed', closeCode: 1001, message: 'late close' }).effects).toEqual([])
    const on = transition(off.state, { type: 'online' })
    expect(on.state).toMatchObject({ status: 'connecting', online: true, reason: { code: ConnectionReasons.ONLINE } })
    expect(on.effects).toEqual([{ type: 'openSocket', attempt: 0 }])
  })

  it('close is final: later events change nothing', () => {
    const { state, effects } = run([{ type: 'connect' }, { type: 'close' }])
    expect(state.status).toBe('closed')
    expect(effects).toEqual(['openSocket', 'cancelReconnect', 'closeSocket', 'failAll'])
    for (const e of [{ type: 'connect' }, { type: 'online' }, { type: 'backoffElapsed' }, { type: 'socketOpened' }] as const) {
      expect(transition(state, e)).toEqual({ state, effects: [] })
    }
  })

  it('connect is idempotent and ignored once the connection has run', () => {
    const once = run([{ type: 'connect' }])
    expect(transition(once.state, { type: 'connect' }).effects).toEqual([])
  })

  it('a missed heartbeat closes the half-open socket, fails in-flight requests and schedules a reconnect', () => {
    const connected = run([{ type: 'connect' }, { type: 'socketOpened' }, { type: 'handshakeSucceeded' }]).state
    const t = transition(connected, { type: 'heartbeatMissed', message: 'no pong within 100 ms' })
    expect(t.state).toMatchObject({ status: 'disconnected', attempt: 1, reason: { code: ConnectionReasons.HEARTBEAT_TIMEOUT } })
    expect(t.effects.map((e) => e.type)).toEqual(['closeSocket', 'failInFlight', 'scheduleReconnect'])
    expect(transition(t.state, { type: 'heartbeatMissed', message: 'late' }).effects).toEqual([])
  })
})
