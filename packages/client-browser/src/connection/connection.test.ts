import { ApiKeys, SamsaError, createTopic, metadata, ping } from '@samsa/shared'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { FakeBroker } from '../testing/fake-broker.js'
import { until } from '../testing/until.js'
import { Connection } from './connection.js'
import type { ConnectionStatus } from './connection-state.js'

describe('Connection against the fake broker', () => {
  let broker: FakeBroker
  let conn: Connection | undefined
  beforeEach(async () => {
    broker = await FakeBroker.start()
  })
  afterEach(async () => {
    conn?.close()
    await broker.close()
  })

  const open = (extra: Partial<ConstructorParameters<typeof Connection>[0]> = {}) =>
    (conn = new Connection({ brokers: [broker.url], clientId: 't', WebSocket, backoff: { baseMs: 5, capMs: 20 }, ...extra }))

  it('handshakes with hello, then correlates responses with requests', async () => {
    const c = open()
    const statuses: ConnectionStatus[] = []
    c.on('status', ({ current }) => statuses.push(current.status))
    const [a, b] = await Promise.all([c.request(createTopic, { name: 'a', partitions: 2 }), c.request(createTopic, { name: 'b', partitions: 3 })])
    expect(a).toEqual({ name: 'a', partitions: 2 })
    expect(b).toEqual({ name: 'b', partitions: 3 })
    expect(c.helloResponse).toMatchObject({ version: 1, maxBatchBytes: 1024 * 1024 })
    expect(statuses).toEqual(['connecting', 'connected'])
  })

  it('maps error responses to SamsaError with the table’s retriable flag', async () => {
    const c = open()
    await c.request(createTopic, { name: 'dup', partitions: 1 })
    const err = await c.request(createTopic, { name: 'dup', partitions: 1 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SamsaError)
    expect(err).toMatchObject({ errorName: 'TOPIC_ALREADY_EXISTS', code: 36, retriable: false })
    broker.failNext(ApiKeys.METADATA, 'NOT_ENOUGH_REPLICAS')
    await expect(c.request(metadata, { topics: null })).rejects.toMatchObject({ errorName: 'NOT_ENOUGH_REPLICAS', retriable: true })
  })

  it('fails in-flight requests with a retriable NETWORK_EXCEPTION when the socket drops, then reconnects', async () => {
    const c = open()
    await c.ready()
    const session = c.session
    broker.dropOnNext(ApiKeys.PING)
    await expect(c.request(ping, {})).rejects.toMatchObject({ errorName: 'NETWORK_EXCEPTION', retriable: true })
    await until(() => c.state.status === 'connected' && c.session > session, { what: 'reconnect' })
    expect(broker.connectionCount).toBe(2)
    await expect(c.request(ping, {})).resolves.toEqual({})
  })

  it('a failOnDisconnect request does not wait for a reconnect: made during the backoff, it fails with the attempt it starts; a plain one stays queued', async () => {
    // A reconnect backoff and a request timeout of about a minute: only acting on the failed attempt settles it in time.
    const c = open({ backoff: { baseMs: 60_000, capMs: 60_000 }, random: () => 0.99, requestTimeoutMs: 60_000 })
    await c.ready()
    broker.unreachable = true
    broker.dropOnNext(ApiKeys.PING)
    await expect(c.request(ping, {})).rejects.toMatchObject({ errorName: 'NETWORK_EXCEPTION' })
    expect(c.state.status).toBe('disconnected')
    let plainSettled = false
    const plain = c.request(ping, {}).finally(() => (plainSettled = true))
    plain.catch(() => {})
    const attempts = broker.connectionCount
    await expect(c.request(ping, {}, { failOnDisconnect: true })).rejects.toMatchObject({ errorName: 'NETWORK_EXCEPTION', retriable: true })
    expect(broker.connectionCount).toBe(attempts + 1)
    expect(plainSettled).toBe(false)
    // Made during the backoff while the broker answers again, it connects at once; the plain one goes with it.
    broker.unreachable = false
    const fast = c.request(createTopic, { name: 'f', partitions: 1 }, { failOnDisconnect: true })
    await expect(fast).resolves.toEqual({ name: 'f', partitions: 1 })
    await expect(plain).resolves.toEqual({})
  })

  it('queues requests issued while disconnected and sends them after the handshake', async () => {
    const c = open()
    const results = await Promise.all([c.request(ping, {}), c.request(createTopic, { name: 'q', partitions: 1 })])
    expect(results[1]).toEqual({ name: 'q', partitions: 1 })
  })

  it('times a request out with a retriable REQUEST_TIMED_OUT', async () => {
    const silent = new (await import('ws')).WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' })
    await new Promise((r) => silent.once('listening', r))
    const port = (silent.address() as { port: number }).port
    const c = open({ brokers: [`ws://127.0.0.1:${port}`], requestTimeoutMs: 50 })
    await expect(c.request(ping, {}, { timeoutMs: 30 })).rejects.toMatchObject({ errorName: 'REQUEST_TIMED_OUT', retriable: true })
    c.close()
    for (const client of silent.clients) client.terminate()
    await new Promise((r) => silent.close(r))
  })

  it('rotates through broker URLs when one is unreachable', async () => {
    const c = open({ brokers: ['ws://127.0.0.1:1', broker.url] })
    await c.ready()
    expect(c.state.status).toBe('connected')
  })

  it('close() fails queued requests with a non-retriable error and is final', async () => {
    const c = open({ brokers: ['ws://127.0.0.1:1'] })
    const p = c.request(ping, {})
    c.close()
    await expect(p).rejects.toMatchObject({ retriable: false })
    expect(c.state.status).toBe('closed')
    await expect(c.request(ping, {})).rejects.toMatchObject({ retriable: false })
  })

  it('explains how to pass ws when there is no global WebSocket', async () => {
    const { defaultWebSocket } = await import('../ports.js')
    const saved = (globalThis as { WebSocket?: unknown }).WebSocket
    delete (globalThis as { WebSocket?: unknown }).WebSocket
    try {
      expect(() => defaultWebSocket()).toThrow(/pass it/)
    } finally {
      if (saved !== undefined) (globalThis as { WebSocket?: unknown }).WebSocket = saved
    }
  })
})

describe('Connection with a manual clock', () => {
  it('waits for the backoff timer of the injected clock before reconnecting', async () => {
    const { ManualClock } = await import('../testing/manual-clock.js')
    const broker = await FakeBroker.start()
    const clock = new ManualClock()
    const c = new Connection({ brokers: [broker.url], clientId: 't', WebSocket, clock, random: () => 0.5, backoff: { baseMs: 1_000, capMs: 8_000 } })
    try {
      await c.ready()
      broker.dropConnections()
      await until(() => c.state.status === 'disconnected', { what: 'disconnect' })
      expect(c.state.reason).toMatchObject({ code: 'socket_closed', closeCode: 1006 })
      clock.advance(499)
      expect(c.state.status).toBe('disconnected')
      clock.advance(1)
      expect(c.state.status).toBe('connecting')
      await until(() => c.state.status === 'connected', { what: 'reconnect' })
      expect(broker.connectionCount).toBe(2)
    } finally {
      c.close()
      await broker.close()
    }
  })
})

describe('Connection heartbeats, network events and the status iterable', () => {
  let broker: FakeBroker
  let conn: Connection | undefined
  beforeEach(async () => {
    broker = await FakeBroker.start()
  })
  afterEach(async () => {
    conn?.close()
    await broker.close()
  })

  async function setup(extra: Partial<ConstructorParameters<typeof Connection>[0]> = {}) {
    const { ManualClock } = await import('../testing/manual-clock.js')
    const clock = new ManualClock()
    conn = new Connection({ brokers: [broker.url], clientId: 't', WebSocket, clock, random: () => 0.5, backoff: { baseMs: 1_000, capMs: 8_000 }, heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 500, ...extra })
    return { c: conn, clock }
  }
  const pings = () => broker.requests.filter((r) => r.apiKey === 'PING').length

  it('pings every interval while the broker answers, and stays connected', async () => {
    const { c, clock } = await setup()
    await c.ready()
    for (let i = 1; i <= 3; i++) {
      clock.advance(999)
      expect(pings()).toBe(i - 1)
      clock.advance(1)
      await until(() => pings() === i, { what: `ping ${i}` })
      // The pong clears the ping's timeout and schedules the next heartbeat: one timer left.
      await until(() => clock.pendingTimers === 1, { what: `pong ${i}` })
      expect(c.state.status).toBe('connected')
    }
    expect(broker.connectionCount).toBe(1)
  })

  it('detects a half-open socket when a ping gets no pong: closes it, fails in-flight requests retriably, reconnects', async () => {
    const { c, clock } = await setup()
    await c.ready()
    const session = c.session
    broker.unanswered.add(ApiKeys.PING)
    clock.advance(1_000)
    await until(() => pings() === 1, { what: 'the unanswered ping' })
    const inFlight = c.request(ping, {}, { timeoutMs: 60_000 }).catch((e: unknown) => e)
    await until(() => pings() === 2, { what: 'the second unanswered ping' })
    clock.advance(499)
    expect(c.state.status).toBe('connected')
    clock.advance(1)
    await until(() => c.state.status === 'disconnected', { what: 'the heartbeat timeout' })
    expect(c.state).toMatchObject({ status: 'disconnected', reason: { code: 'heartbeat_timeout' } })
    expect(await inFlight).toMatchObject({ errorName: 'NETWORK_EXCEPTION', retriable: true })
    await until(() => broker.openConnections === 0, { what: 'the broker to see the close' })
    broker.unanswered.delete(ApiKeys.PING)
    clock.advance(500) // full jitter with random 0.5: attempt 0 waits 500 ms
    await until(() => c.state.status === 'connected' && c.session > session, { what: 'reconnect' })
    expect(broker.connectionCount).toBe(2)
  })

  it('a request unanswered past its timeout probes the socket at once (heartbeats off): no pong closes it, the others in flight fail retriably, it reconnects', async () => {
    const { c, clock } = await setup({ heartbeatIntervalMs: 0, requestTimeoutMs: 2_000 })
    await c.ready()
    const session = c.session
    broker.unanswered.add(ApiKeys.METADATA)
    broker.unanswered.add(ApiKeys.CREATE_TOPIC)
    broker.unanswered.add(ApiKeys.PING)
    const other = c.request(createTopic, { name: 'slow', partitions: 1 }, { timeoutMs: 60_000 }).catch((e: unknown) => e)
    const silent = c.request(metadata, { topics: null }).catch((e: unknown) => e)
    await until(() => broker.requests.some((r) => r.apiKey === 'METADATA'), { what: 'the metadata request to arrive' })
    clock.advance(2_000)
    expect(await silent).toMatchObject({ errorName: 'REQUEST_TIMED_OUT', retriable: true })
    await until(() => pings() === 1, { what: 'the probe' })
    clock.advance(499)
    expect(c.state.status).toBe('connected')
    clock.advance(1)
    await until(() => c.state.status === 'disconnected', { what: 'the probe to time out' })
    expect(c.state).toMatchObject({ status: 'disconnected', reason: { code: 'heartbeat_timeout' } })
    expect(await other).toMatchObject({ errorName: 'NETWORK_EXCEPTION', retriable: true })
    await until(() => broker.openConnections === 0, { what: 'the broker to see the close' })
    broker.unanswered.clear()
    clock.advance(500) // full jitter with random 0.5: attempt 0 waits 500 ms
    await until(() => c.state.status === 'connected' && c.session > session, { what: 'reconnect' })
    await expect(c.request(metadata, { topics: null })).resolves.toBeDefined()
  })

  it('a request that times out on a socket that answers the probe keeps the socket (slow, not dead)', async () => {
    const { c, clock } = await setup({ heartbeatIntervalMs: 0, requestTimeoutMs: 2_000 })
    await c.ready()
    broker.unanswered.add(ApiKeys.METADATA)
    const silent = c.request(metadata, { topics: null }).catch((e: unknown) => e)
    await until(() => broker.requests.some((r) => r.apiKey === 'METADATA'), { what: 'the metadata request to arrive' })
    clock.advance(2_000)
    expect(await silent).toMatchObject({ errorName: 'REQUEST_TIMED_OUT' })
    await until(() => pings() === 1, { what: 'the probe' })
    await until(() => clock.pendingTimers === 0, { what: 'the pong' })
    clock.advance(10_000)
    expect(c.state.status).toBe('connected')
    expect(broker.connectionCount).toBe(1)
    expect(pings()).toBe(1)
  })

  it('a socket that never opens (a blackholed broker: connected, no answer) is given up after requestTimeoutMs and the next URL is tried', async () => {
    const net = await import('node:net')
    const held = new Set<import('node:net').Socket>()
    const hole = net.createServer((s) => {
      held.add(s)
      s.on('error', () => {})
      s.resume() // reads the upgrade request, never answers it
    })
    await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r))
    try {
      const holeUrl = `ws://127.0.0.1:${(hole.address() as import('node:net').AddressInfo).port}`
      const { c, clock } = await setup({ brokers: [holeUrl, broker.url], heartbeatIntervalMs: 0, requestTimeoutMs: 2_000, backoff: { baseMs: 10, capMs: 10 } })
      c.connect()
      await until(() => held.size === 1, { what: 'the blackholed broker to be reached' })
      clock.advance(1_999)
      expect(c.state.status).toBe('connecting')
      clock.advance(1)
      expect(c.state).toMatchObject({ status: 'disconnected', reason: { code: 'connect_failed' } })
      clock.advance(10)
      await until(() => c.state.status === 'connected', { what: 'the next broker' })
      expect(c.helloResponse).not.toBeNull()
    } finally {
      for (const s of held) s.destroy()
      await new Promise<void>((r) => hole.close(() => r()))
    }
  })

  it('offline pauses reconnects (no attempts while offline); online reconnects at once, without backoff', async () => {
    const network = new EventTarget()
    const { c, clock } = await setup({ networkEvents: network, heartbeatIntervalMs: 0 })
    await c.ready()
    network.dispatchEvent(new Event('offline'))
    expect(c.state).toMatchObject({ status: 'disconnected', online: false, reason: { code: 'offline' } })
    await until(() => broker.openConnections === 0, { what: 'the socket to close' })
    clock.advance(60_000)
    expect(c.state.status).toBe('disconnected')
    expect(broker.connectionCount).toBe(1)
    network.dispatchEvent(new Event('online'))
    expect(c.state).toMatchObject({ status: 'connecting', reason: { code: 'online' } })
    await until(() => c.state.status === 'connected', { what: 'reconnect' })
    expect(broker.connectionCount).toBe(2)
  })

  it('online during a long backoff skips the wait', async () => {
    const network = new EventTarget()
    const { c } = await setup({ networkEvents: network, heartbeatIntervalMs: 0, backoff: { baseMs: 60_000, capMs: 60_000 } })
    await c.ready()
    network.dispatchEvent(new Event('offline'))
    network.dispatchEvent(new Event('online'))
    await until(() => c.state.status === 'connected', { what: 'reconnect without waiting 60 s' })
  })

  it('statuses() yields the current state, then every change, and ends on close', async () => {
    const { c } = await setup({ heartbeatIntervalMs: 0 })
    const seen: string[] = []
    const done = (async () => {
      for await (const s of c.statuses()) seen.push(`${s.status}:${s.reason.code}`)
    })()
    await c.ready()
    broker.dropConnections()
    await until(() => c.state.status === 'disconnected', { what: 'disconnect' })
    c.close()
    await done
    expect(seen).toEqual(['disconnected:initial', 'connecting:connect_requested', 'connected:handshake_complete', 'disconnected:socket_closed', 'closed:close_requested'])
    const after: string[] = []
    for await (const s of c.statuses()) after.push(s.status)
    expect(after).toEqual(['closed'])
  })

  it('a consumer that breaks out of statuses() stops listening', async () => {
    const { c } = await setup({ heartbeatIntervalMs: 0 })
    for await (const s of c.statuses()) if (s.status === 'disconnected') break
    await c.ready()
    expect(c.state.status).toBe('connected')
  })
})
