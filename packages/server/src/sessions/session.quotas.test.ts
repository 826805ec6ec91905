/**
 * Quotas on one connection, on a ManualClock: rates are measured as bytes or requests answered over a window of
 * manual time, never with wall-clock timers.
 */
import { ApiKeys, CloseCodes, SamsaError, decodeResponseFrame, encodeRequestFrame, exchanges, readFrameHeader, type Exchange } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { testBatch } from '../log/testing/batches.js'
import { noopMetrics, type BrokerMetrics } from '../observability/broker-metrics.js'
import type { QuotaName } from '../security/quotas/broker-quotas.js'
import { sessionHarness, type Harness, type RecordingSocket } from './testing/session-harness.js'

function recordingMetrics() {
  const throttledMs = new Map<QuotaName, number>()
  const exceeded = new Map<QuotaName, number>()
  const metrics: BrokerMetrics = {
    ...noopMetrics,
    quotaThrottled: (q, ms) => void throttledMs.set(q, (throttledMs.get(q) ?? 0) + ms),
    quotaExceeded: (q) => void exceeded.set(q, (exceeded.get(q) ?? 0) + 1),
  }
  return { metrics, throttledMs, exceeded }
}

/** Lets promises and zero-delay work settle (real turns of the event loop; no time passes on the ManualClock). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
}

/** A connection whose requests are sent without waiting, and answered responses looked up by correlation id. */
function client(h: Harness, remoteAddress?: string) {
  const conn = h.open(remoteAddress !== undefined ? { remoteAddress } : {})
  let nextId = 1_000_000
  const responseTo = (socket: RecordingSocket, id: number) => socket.sent.find((f) => readFrameHeader(f).apiKey !== ApiKeys.PUSH && readFrameHeader(f).correlationId === id)
  return {
    ...conn,
    send<Req>(exchange: Exchange<Req, unknown>, req: Req): number {
      const id = nextId++
      conn.session.onFrame(encodeRequestFrame(exchange, conn.session.version, id, req))
      return id
    },
    answered(id: number): boolean {
      return responseTo(conn.socket, id) !== undefined
    },
    /** The response to `id`, advancing the ManualClock by `stepMs` while it is held (at most `maxMs`). */
    async awaitResponse<Res>(exchange: Exchange<unknown, Res>, id: number, stepMs = 10, maxMs = 120_000): Promise<{ ok: true; value: Res } | { ok: false; error: SamsaError }> {
      for (let waited = 0; ; waited += stepMs) {
        await settle()
        const frame = responseTo(conn.socket, id)
        if (frame) {
          const r = decodeResponseFrame(frame)
          return r.error ? { ok: false, error: r.error } : { ok: true, value: exchange.decodeResponse(r.body) }
        }
        if (conn.socket.closed) throw new Error(`closed with ${conn.socket.closed.code} ${conn.socket.closed.reason} before the response to ${id}`)
        if (waited >= maxMs) throw new Error(`no response to ${id} within ${maxMs} ms of manual time`)
        h.clock.advance(stepMs)
      }
    },
  }
}

const produce = (topic: string, batch: Uint8Array) => ({ topic, partition: 0, acks: 1, timeoutMs: 1000, batch })

describe('produce bytes per second', () => {
  it('throttles a producer above the quota (responses held, reading paused) without dropping anything: the rate achieved is the quota', async () => {
    const rec = recordingMetrics()
    const h = await sessionHarness({ produceBytesPerSecondPerIp: 10_000 }, { metrics: rec.metrics })
    const c = client(h, '10.0.0.1')
    await c.request(exchanges.createTopic, { name: 't', partitions: 1 })
    const batch = testBatch({ valueBytes: 900 })
    const start = h.clock.monotonicMs()
    let acked = 0
    let sawPaused = false
    while (h.clock.monotonicMs() - start < 10_000) {
      const id = c.send(exchanges.produce, produce('t', batch))
      await settle()
      if (!c.answered(id)) sawPaused ||= c.socket.paused
      const r = await c.awaitResponse(exchanges.produce, id)
      expect(r.ok && r.value.baseOffset).toBe(acked)
      acked++
    }
    const elapsedS = (h.clock.monotonicMs() - start) / 1000
    // One second's worth may go at once (the burst); the rest at the quota.
    const rate = (acked * batch.length - 10_000) / elapsedS
    expect(rate).toBeGreaterThan(9_000)
    expect(rate).toBeLessThan(11_000)
    expect(sawPaused).toBe(true)
    // Every acknowledged record is in the log, and nothing else.
    expect(h.broker.partition('t', 0).logEndOffset).toBe(acked)
    expect(rec.throttledMs.get('produce_bytes')! / 1000).toBeGreaterThan(elapsedS * 0.8)
    expect(c.socket.closed).toBeNull()
  })

  it('keeps serving other addresses while one is throttled', async () => {
    const h = await sessionHarness({ produceBytesPerSecondPerIp: 1_000 })
    const noisy = client(h, '10.0.0.1')
    const quiet = client(h, '10.0.0.2')
    await noisy.request(exchanges.createTopic, { name: 't', partitions: 1 })
    const id = noisy.send(exchanges.produce, produce('t', testBatch({ valueBytes: 3_000 })))
    await settle()
    expect(noisy.answered(id)).toBe(false)
    const q = quiet.send(exchanges.produce, produce('t', testBatch({ valueBytes: 10 })))
    expect((await quiet.awaitResponse(exchanges.produce, q, 1, 0)).ok).toBe(true)
    expect((await noisy.awaitResponse(exchanges.produce, id)).ok).toBe(true)
  })

  it('closes with QUOTA_EXCEEDED, appending nothing, a produce whose throttle would pass quotaMaxThrottleMs', async () => {
    const rec = recordingMetrics()
    const h = await sessionHarness({ produceBytesPerSecondPerPrincipal: 1_000, quotaMaxThrottleMs: 5_000 }, { metrics: rec.metrics })
    const c = client(h, '10.0.0.1')
    const other = client(h, '10.0.0.2')
    await c.request(exchanges.createTopic, { name: 't', partitions: 1 })
    c.send(exchanges.produce, produce('t', testBatch({ valueBytes: 10_000 })))
    await settle()
    expect(c.socket.closed?.code).toBe(CloseCodes.QUOTA_EXCEEDED)
    expect(c.socket.closed?.reason).toMatch(/produce_bytes quota exceeded/)
    expect(h.broker.partition('t', 0).logEndOffset).toBe(0)
    expect(rec.exceeded.get('produce_bytes')).toBe(1)
    expect(await other.request(exchanges.ping, {})).toEqual({})
  })
})

describe('per principal', () => {
  const alice = { kind: 'user', name: 'alice', claims: {} } as const
  const bob = { kind: 'user', name: 'bob', claims: {} } as const

  it('one principal shares its produce budget over its connections from any address; another principal is not held', async () => {
    const h = await sessionHarness({ produceBytesPerSecondPerPrincipal: 2_000 })
    const [a1, a2, b] = [client(h, '10.0.0.1'), client(h, '10.0.0.2'), client(h, '10.0.0.1')]
    a1.session.principal = alice
    a2.session.principal = alice
    b.session.principal = bob
    await a1.request(exchanges.createTopic, { name: 't', partitions: 1 })
    const batch = testBatch({ valueBytes: 1_500 })
    expect((await a1.awaitResponse(exchanges.produce, a1.send(exchanges.produce, produce('t', batch)), 1, 0)).ok).toBe(true)
    // alice's second connection spends the same budget: held.
    const held = a2.send(exchanges.produce, produce('t', batch))
    await settle()
    expect(a2.answered(held)).toBe(false)
    expect(a2.socket.paused).toBe(true)
    // bob, on alice's first address, is not.
    expect((await b.awaitResponse(exchanges.produce, b.send(exchanges.produce, produce('t', batch)), 1, 0)).ok).toBe(true)
    expect((await a2.awaitResponse(exchanges.produce, held)).ok).toBe(true)
    expect(a2.socket.paused).toBe(false)
    expect(h.broker.partition('t', 0).logEndOffset).toBe(3)
  })

  it('requestsPerSecondPerPrincipal holds a principal over all its connections', async () => {
    const h = await sessionHarness({ requestsPerSecondPerPrincipal: 5 })
    const [a1, a2, b] = [client(h, '10.0.0.1'), client(h, '10.0.0.2'), client(h, '10.0.0.3')]
    a1.session.principal = alice
    a2.session.principal = alice
    b.session.principal = bob
    for (let i = 0; i < 5; i++) a1.send(exchanges.ping, {})
    await settle()
    const held = a2.send(exchanges.ping, {})
    await settle()
    expect(a2.answered(held)).toBe(false)
    expect((await b.awaitResponse(exchanges.ping, b.send(exchanges.ping, {}), 1, 0)).ok).toBe(true)
    expect((await a2.awaitResponse(exchanges.ping, held)).ok).toBe(true)
  })

  it('a cluster peer has no quotas', async () => {
    const h = await sessionHarness({ requestsPerSecondPerConnection: 1, produceBytesPerSecondPerIp: 1 })
    const peer = client(h, '10.0.0.1')
    peer.session.principal = { kind: 'peer', name: 'node:2', claims: {} }
    const ids = Array.from({ length: 20 }, () => peer.send(exchanges.ping, {}))
    await settle()
    expect(ids.every((id) => peer.answered(id))).toBe(true)
  })
})

describe('fetch and subscription delivery bytes per second', () => {
  it('paces pushes to a subscriber at the quota', async () => {
    const rec = recordingMetrics()
    const h = await sessionHarness({ fetchBytesPerSecondPerIp: 5_000, maxPushBytes: 1_000 }, { metrics: rec.metrics })
    const writer = client(h, '10.0.0.9')
    await writer.request(exchanges.createTopic, { name: 't', partitions: 1 })
    const batch = testBatch({ valueBytes: 900 })
    for (let i = 0; i < 40; i++) await writer.request(exchanges.produce, produce('t', batch))
    const reader = client(h, '10.0.0.1')
    await reader.request(exchanges.subscribe, { topic: 't', partition: 0, offset: 0, creditBytes: 10_000_000 })
    const pushedBytes = () => reader.socket.sent.filter((f) => readFrameHeader(f).apiKey === ApiKeys.PUSH).reduce((n, f) => n + f.length, 0)
    const start = h.clock.monotonicMs()
    for (let i = 0; i < 400; i++) {
      await settle()
      h.clock.advance(10)
    }
    const elapsedS = (h.clock.monotonicMs() - start) / 1000
    const rate = (pushedBytes() - 5_000) / elapsedS
    expect(rate).toBeGreaterThan(4_000)
    expect(rate).toBeLessThan(6_000)
    expect(rec.throttledMs.get('fetch_bytes')).toBeGreaterThan(0)
    expect(reader.socket.closed).toBeNull()
  })

  it('holds a reader at most quotaMaxThrottleMs for a push far above the rate, and never closes it for that', async () => {
    const rec = recordingMetrics()
    const h = await sessionHarness({ fetchBytesPerSecondPerIp: 100, quotaMaxThrottleMs: 2_000, maxPushBytes: 1_024 }, { metrics: rec.metrics })
    const writer = client(h, '10.0.0.9')
    await writer.request(exchanges.createTopic, { name: 't', partitions: 1 })
    await writer.request(exchanges.produce, produce('t', testBatch({ valueBytes: 10_000 })))
    await writer.request(exchanges.produce, produce('t', testBatch({ valueBytes: 10 })))
    const reader = client(h, '10.0.0.1')
    await reader.request(exchanges.subscribe, { topic: 't', partition: 0, offset: 0, creditBytes: 1_000_000 })
    const pushes = () => reader.socket.sent.filter((f) => readFrameHeader(f).apiKey === ApiKeys.PUSH).length
    await settle()
    expect(pushes()).toBe(1)
    h.clock.advance(1_999)
    await settle()
    expect(pushes()).toBe(1)
    h.clock.advance(1)
    await settle()
    expect(pushes()).toBe(2)
    expect(reader.socket.closed).toBeNull()
    expect(rec.exceeded.get('fetch_bytes')).toBeUndefined()
  })

  it('counts replies held by a throttle in the connection output budget: pipelined fetches are not read past it', async () => {
    const budget = 50_000
    const h = await sessionHarness({ fetchBytesPerSecondPerPrincipal: 1_000, maxBufferedBytes: budget, quotaMaxThrottleMs: 60_000 })
    const c = client(h, '10.0.0.1')
    await c.request(exchanges.createTopic, { name: 't', partitions: 1 })
    await c.request(exchanges.produce, produce('t', testBatch({ valueBytes: 20_000 })))
    const fetch = { topic: 't', partition: 0, offset: 0, maxBytes: 30_000, maxWaitMs: 0, minBytes: 0 }
    const ids = Array.from({ length: 20 }, () => c.send(exchanges.fetch, fetch))
    await settle()
    // The first reply throttles the reader: it and the replies read after it are held, and count as queued, so the
    // rest wait for room instead of being read: what the connection holds stays within the budget plus one frame.
    expect(c.answered(ids[0]!)).toBe(false)
    expect(h.broker.queuedOutputBytes).toBeGreaterThan(20_000)
    expect(h.broker.queuedOutputBytes).toBeLessThanOrEqual(budget + 30_000)
    // The client reads what it is sent (the recording socket's buffer drains), as manual time passes.
    for (let step = 0; step < 2_000 && !ids.every((id) => c.answered(id)); step++) {
      await settle()
      c.socket.buffered = 0
      expect(h.broker.queuedOutputBytes).toBeLessThanOrEqual(budget + 30_000)
      h.clock.advance(1_000)
    }
    expect(ids.every((id) => c.answered(id))).toBe(true)
    expect(c.socket.closed).toBeNull()
    c.socket.buffered = 0
    expect(h.broker.queuedOutputBytes).toBe(0)
  })

  it('holds a fetch reply for the throttle it causes', async () => {
    const h = await sessionHarness({ fetchBytesPerSecondPerPrincipal: 1_000 })
    const c = client(h, '10.0.0.1')
    await c.request(exchanges.createTopic, { name: 't', partitions: 1 })
    await c.request(exchanges.produce, produce('t', testBatch({ valueBytes: 3_000 })))
    const fetch = { topic: 't', partition: 0, offset: 0, maxBytes: 100_000, maxWaitMs: 0, minBytes: 0 }
    const id = c.send(exchanges.fetch, fetch)
    await settle()
    expect(c.answered(id)).toBe(false)
    const before = h.clock.monotonicMs()
    expect((await c.awaitResponse(exchanges.fetch, id, 100)).ok).toBe(true)
    expect(h.clock.monotonicMs() - before).toBeGreaterThanOrEqual(1_900)
  })
})

describe('requests per second', () => {
  it('answers a burst of pings at once, then at requestsPerSecondPerConnection', async () => {
    const rec = recordingMetrics()
    const h = await sessionHarness({ requestsPerSecondPerConnection: 10 }, { metrics: rec.metrics })
    const c = client(h, '10.0.0.1')
    const ids = Array.from({ length: 30 }, () => c.send(exchanges.ping, {}))
    await settle()
    const answeredNow = ids.filter((id) => c.answered(id)).length
    expect(answeredNow).toBeLessThanOrEqual(11)
    const start = h.clock.monotonicMs()
    for (const id of ids) expect((await c.awaitResponse(exchanges.ping, id)).ok).toBe(true)
    // 30 requests, 10 at once, 20 more at 10/s: about 2 s.
    expect(h.clock.monotonicMs() - start).toBeGreaterThanOrEqual(1_800)
    expect(h.clock.monotonicMs() - start).toBeLessThanOrEqual(2_200)
    expect(rec.throttledMs.get('requests')).toBeGreaterThan(0)
  })
})

describe('connections', () => {
  it('closes a connection past maxConnectionsPerIp with QUOTA_EXCEEDED; other addresses still connect; a closed one frees its slot', async () => {
    const rec = recordingMetrics()
    const h = await sessionHarness({ maxConnectionsPerIp: 2 }, { metrics: rec.metrics })
    const [a, b, c] = [client(h, '10.0.0.1'), client(h, '10.0.0.1'), client(h, '10.0.0.1')]
    expect([a.socket.closed, b.socket.closed]).toEqual([null, null])
    expect(c.socket.closed).toMatchObject({ code: CloseCodes.QUOTA_EXCEEDED, reason: expect.stringMatching(/10\.0\.0\.1 already has 2 open connections \(maxConnectionsPerIp\)/) })
    expect(rec.exceeded.get('connections_per_ip')).toBe(1)
    const d = client(h, '10.0.0.2')
    expect(await d.request(exchanges.ping, {})).toEqual({})
    a.session.close(CloseCodes.NORMAL, 'bye')
    expect(client(h, '10.0.0.1').socket.closed).toBeNull()
  })

  it('closes a connection whose principal is past maxConnectionsPerPrincipal with QUOTA_EXCEEDED', async () => {
    const rec = recordingMetrics()
    const h = await sessionHarness({ maxConnectionsPerPrincipal: 2 }, { metrics: rec.metrics })
    const alice = { kind: 'user', name: 'alice', claims: {} } as const
    const conns = [client(h, '10.0.0.1'), client(h, '10.0.0.2'), client(h, '10.0.0.3')]
    for (const c of conns) c.session.principal = alice
    expect(conns.map((c) => c.socket.closed?.code ?? null)).toEqual([null, null, CloseCodes.QUOTA_EXCEEDED])
    expect(conns[2]!.socket.closed?.reason).toMatch(/user:alice already has 2/)
    expect(rec.exceeded.get('connections_per_principal')).toBe(1)
    // Anonymous connections are their address's principal: not alice's.
    expect(client(h, '10.0.0.3').socket.closed).toBeNull()
    conns[0]!.session.close(CloseCodes.NORMAL, 'bye')
    const again = client(h, '10.0.0.4')
    again.session.principal = alice
    expect(again.socket.closed).toBeNull()
  })
})

describe('subscriptions per connection', () => {
  it('refuses a subscription past maxSubscriptionsPerConnection with TOO_MANY_SUBSCRIPTIONS, keeps the others and the connection, and counts it', async () => {
    const rec = recordingMetrics()
    const h = await sessionHarness({ maxSubscriptionsPerConnection: 3 }, { metrics: rec.metrics })
    const c = client(h, '10.0.0.1')
    await c.request(exchanges.createTopic, { name: 't', partitions: 1 })
    const sub = { topic: 't', partition: 0, offset: 0, creditBytes: 1_000 }
    for (let i = 0; i < 3; i++) await c.request(exchanges.subscribe, sub)
    const refused = await c.request(exchanges.subscribe, sub).then(() => null, (e: unknown) => e)
    expect(refused).toMatchObject({ errorName: 'TOO_MANY_SUBSCRIPTIONS', retriable: false, details: { maxSubscriptions: 3 } })
    expect(c.session.subscriptions.size).toBe(3)
    expect(rec.exceeded.get('subscriptions_per_connection')).toBe(1)
    expect(await c.request(exchanges.ping, {})).toEqual({})
  })
})

describe('topic creations per minute', () => {
  it('refuses creations past the rate with THROTTLING_QUOTA_EXCEEDED (retriable, with the wait), creating nothing; other principals are not affected', async () => {
    const rec = recordingMetrics()
    const h = await sessionHarness({ topicCreationsPerMinutePerPrincipal: 2 }, { metrics: rec.metrics })
    const c = client(h, '10.0.0.1')
    await c.request(exchanges.createTopic, { name: 'a', partitions: 1 })
    await c.request(exchanges.createTopic, { name: 'b', partitions: 1 })
    const refused = await c.request(exchanges.createTopic, { name: 'c', partitions: 1 }).then(() => null, (e: unknown) => e)
    expect(refused).toMatchObject({ errorName: 'THROTTLING_QUOTA_EXCEEDED', retriable: true, details: { throttleTimeMs: 30_000, topicCreationsPerMinute: 2 } })
    expect(h.broker.listTopics().map((t) => t.name).sort()).toEqual(['a', 'b'])
    expect(rec.exceeded.get('topic_creations')).toBe(1)
    await client(h, '10.0.0.2').request(exchanges.createTopic, { name: 'd', partitions: 1 })
    h.clock.advance(30_000)
    await c.request(exchanges.createTopic, { name: 'c', partitions: 1 })
    expect(h.broker.listTopics()).toHaveLength(4)
  })
})
