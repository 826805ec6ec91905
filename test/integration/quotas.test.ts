/**
 * Quotas and abuse limits against a real broker over real WebSockets (in process). Each row: the close code or
 * error, another client (another loopback address, 127.0.0.2) still served, nothing appended or changed, and the
 * metric that counted it. Rates are checked through the throttle the broker applied (its metric), never by timing.
 */
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, type ConsumerRecord, type SamsaClient } from '@samsa/client-browser'
import { CloseCodes, exchanges } from '../../packages/shared/src/index.js'
import { testBatch } from '../../packages/server/src/log/testing/batches.js'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'
import { RawConnection } from '../support/raw-connection.js'
import { until } from '../support/until.js'

const OTHER = { localAddress: '127.0.0.2' }
let fx: BrokerFixture | undefined
const open: RawConnection[] = []

const sdkClients: SamsaClient[] = []

afterEach(async () => {
  for (const c of open.splice(0)) c.close()
  await Promise.all(sdkClients.splice(0).map((c) => c.close()))
  await fx?.dispose()
  fx = undefined
})

async function connection(f: BrokerFixture, opts: { hello?: boolean; localAddress?: string } = {}): Promise<RawConnection> {
  const c = await RawConnection.open(f.running.url, opts)
  open.push(c)
  return c
}

async function metric(f: BrokerFixture, series: string): Promise<number> {
  const text = await (await fetch(`${f.running.httpUrl}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

const produce = (topic: string, batch: Uint8Array) => ({ topic, partition: 0, acks: 1, timeoutMs: 5_000, batch })

describe('a flood of connections from one address', () => {
  it('closes every connection past maxConnectionsPerIp with QUOTA_EXCEEDED (4029) while another address is served, and counts them', async () => {
    fx = await startBrokerFixture({ maxConnectionsPerIp: 5 })
    const f = fx
    const flood = await Promise.all(Array.from({ length: 25 }, () => connection(f, { hello: false })))
    const closed = await until(() => {
      const n = flood.filter((c) => c.closed).length
      return n >= 20 ? n : null
    }, { what: '20 connections to be refused' })
    expect(closed).toBe(20)
    for (const c of flood.filter((x) => x.closed)) {
      expect(c.closed).toEqual({ code: CloseCodes.QUOTA_EXCEEDED, reason: '127.0.0.1 already has 5 open connections (maxConnectionsPerIp)' })
    }
    const other = await connection(f, OTHER)
    expect((await other.request(exchanges.ping, {})).ok).toBe(true)
    const kept = flood.find((c) => !c.closed)!
    expect((await kept.request(exchanges.hello, { clientId: 'kept', minVersion: 1, maxVersion: 1 })).ok).toBe(true)
    expect(await metric(f, 'samsa_quota_exceeded_total{quota="connections_per_ip"}')).toBe(20)
    expect(await metric(f, 'samsa_connections_closed_total{code="QUOTA_EXCEEDED"}')).toBe(20)
    // Slots are freed by closing: after one closes, one more is accepted from that address.
    kept.close()
    await kept.waitClosed()
    await until(async () => {
      const again = await connection(f)
      return again.closed === null && (await again.request(exchanges.ping, {})).ok
    }, { what: 'a freed slot to be taken again' })
  })
})

describe('a flood of subscriptions on one connection', () => {
  it('refuses every subscription past maxSubscriptionsPerConnection with TOO_MANY_SUBSCRIPTIONS; the connection and the broker stay', async () => {
    fx = await startBrokerFixture({ maxSubscriptionsPerConnection: 10 })
    const c = await connection(fx)
    expect((await c.request(exchanges.createTopic, { name: 's', partitions: 1 })).ok).toBe(true)
    const results = await Promise.all(Array.from({ length: 100 }, () => c.request(exchanges.subscribe, { topic: 's', partition: 0, offset: 0, creditBytes: 1_000 })))
    expect(results.filter((r) => r.ok)).toHaveLength(10)
    const refused = results.filter((r) => !r.ok)
    expect(refused).toHaveLength(90)
    for (const r of refused) expect(r.ok ? null : r.error).toMatchObject({ errorName: 'TOO_MANY_SUBSCRIPTIONS', retriable: false, details: { maxSubscriptions: 10 } })
    expect((await c.request(exchanges.ping, {})).ok).toBe(true)
    expect(c.closed).toBeNull()
    const other = await connection(fx, OTHER)
    expect((await other.request(exchanges.subscribe, { topic: 's', partition: 0, offset: 0, creditBytes: 1_000 })).ok).toBe(true)
    expect(await metric(fx, 'samsa_quota_exceeded_total{quota="subscriptions_per_connection"}')).toBe(90)
    expect(await metric(fx, 'samsa_request_errors_total{api="SUBSCRIBE",error="TOO_MANY_SUBSCRIPTIONS"}')).toBe(90)
  })
})

describe('a flood of topic creations', () => {
  it('creates topicCreationsPerMinutePerPrincipal topics and refuses the rest with THROTTLING_QUOTA_EXCEEDED (retriable), creating nothing more', async () => {
    fx = await startBrokerFixture({ topicCreationsPerMinutePerPrincipal: 5 })
    const c = await connection(fx)
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => c.request(exchanges.createTopic, { name: `flood-${i}`, partitions: 1 })))
    expect(results.filter((r) => r.ok)).toHaveLength(5)
    for (const r of results.filter((x) => !x.ok)) {
      expect(r.ok ? null : r.error).toMatchObject({ errorName: 'THROTTLING_QUOTA_EXCEEDED', retriable: true, details: { topicCreationsPerMinute: 5 } })
      expect(r.ok ? 0 : r.error.details.throttleTimeMs).toBeGreaterThan(0)
    }
    expect(fx.running.broker.listTopics()).toHaveLength(5)
    expect(c.closed).toBeNull()
    // Another address is another (anonymous) principal: its own budget.
    const other = await connection(fx, OTHER)
    expect((await other.request(exchanges.createTopic, { name: 'other', partitions: 1 })).ok).toBe(true)
    expect(fx.running.broker.listTopics()).toHaveLength(6)
    expect(await metric(fx, 'samsa_quota_exceeded_total{quota="topic_creations"}')).toBe(45)
  })
})

describe('a flood of topic creations over the REST API', () => {
  it('shares the WebSocket budget of the address and answers 429 with Retry-After past it, creating nothing more', async () => {
    fx = await startBrokerFixture({ topicCreationsPerMinutePerPrincipal: 3 })
    const c = await connection(fx)
    expect((await c.request(exchanges.createTopic, { name: 'ws-1', partitions: 1 })).ok).toBe(true)
    const post = (name: string) => fetch(`${fx!.running.httpUrl}/v1/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, partitions: 1 }) })
    const statuses: number[] = []
    let refused: Response | null = null
    for (let i = 0; i < 10; i++) {
      const res = await post(`rest-${i}`)
      statuses.push(res.status)
      if (res.status === 429) refused ??= res
      else await res.body?.cancel()
    }
    expect(statuses).toEqual([201, 201, 429, 429, 429, 429, 429, 429, 429, 429])
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await refused!.json()).toMatchObject({ error: { name: 'THROTTLING_QUOTA_EXCEEDED', retriable: true, details: { topicCreationsPerMinute: 3 } } })
    expect(fx.running.broker.listTopics()).toHaveLength(3)
    expect(await metric(fx, 'samsa_quota_exceeded_total{quota="topic_creations"}')).toBe(8)
    expect((await c.request(exchanges.ping, {})).ok).toBe(true)
  })
})

describe('partitions per topic and in total', () => {
  it('refuses a topic over maxPartitionsPerTopic (INVALID_PARTITIONS) or past maxPartitions (POLICY_VIOLATION), creating nothing; counted', async () => {
    fx = await startBrokerFixture({ maxPartitionsPerTopic: 4, maxPartitions: 6 })
    const c = await connection(fx)
    const wide = await c.request(exchanges.createTopic, { name: 'wide', partitions: 5 })
    expect(wide.ok ? null : wide.error).toMatchObject({ errorName: 'INVALID_PARTITIONS', retriable: false })
    expect((await c.request(exchanges.createTopic, { name: 'first', partitions: 4 })).ok).toBe(true)
    const past = await c.request(exchanges.createTopic, { name: 'second', partitions: 3 })
    expect(past.ok ? null : past.error).toMatchObject({ errorName: 'POLICY_VIOLATION', retriable: false, details: { maxPartitions: 6 } })
    expect(fx.running.broker.listTopics().map((t) => t.name)).toEqual(['first'])
    const other = await connection(fx, OTHER)
    expect((await other.request(exchanges.createTopic, { name: 'second', partitions: 2 })).ok).toBe(true)
    expect(c.closed).toBeNull()
    expect(await metric(fx, 'samsa_request_errors_total{api="CREATE_TOPIC",error="INVALID_PARTITIONS"}')).toBe(1)
    expect(await metric(fx, 'samsa_request_errors_total{api="CREATE_TOPIC",error="POLICY_VIOLATION"}')).toBe(1)
  })
})

describe('a produce above the byte quota', () => {
  it('is throttled, not dropped: every acknowledged record is in the log, the throttle applied is what the quota asks, others are served meanwhile', async () => {
    const RATE = 200_000
    fx = await startBrokerFixture({ produceBytesPerSecondPerIp: RATE })
    const c = await connection(fx)
    expect((await c.request(exchanges.createTopic, { name: 'p', partitions: 1 })).ok).toBe(true)
    const batch = testBatch({ valueBytes: 20_000 })
    const count = 30
    const other = await connection(fx, OTHER)
    let otherPings = 0
    let producing = true
    const pinger = (async () => {
      while (producing) {
        expect((await other.request(exchanges.ping, {})).ok).toBe(true)
        otherPings++
      }
    })()
    // Sent all at once: the broker reads each only once the throttle of the one before has passed.
    const results = await Promise.all(Array.from({ length: count }, () => c.request(exchanges.produce, produce('p', batch))))
    expect(results.map((r) => r.ok && r.value.baseOffset)).toEqual(Array.from({ length: count }, (_, i) => i))
    producing = false
    await pinger
    expect(otherPings).toBeGreaterThan(0)
    expect(fx.running.broker.partition('p', 0).logEndOffset).toBe(count)
    // One second's worth passes at once; the rest waits (total − burst) / rate, less what refilled while the
    // broker handled the requests between throttles.
    const expectedS = (count * batch.length - RATE) / RATE
    const throttledS = await metric(fx, 'samsa_quota_throttle_seconds_total{quota="produce_bytes"}')
    expect(throttledS).toBeGreaterThan(expectedS * 0.85)
    expect(throttledS).toBeLessThanOrEqual(expectedS + 0.05)
    expect(await metric(fx, 'samsa_quota_throttles_total{quota="produce_bytes"}')).toBeGreaterThan(0)
    expect(c.closed).toBeNull()
  })

  it('closes with QUOTA_EXCEEDED, appending nothing, a producer whose throttle would pass quotaMaxThrottleMs', async () => {
    fx = await startBrokerFixture({ produceBytesPerSecondPerIp: 10_000, quotaMaxThrottleMs: 1_000 })
    const c = await connection(fx)
    expect((await c.request(exchanges.createTopic, { name: 'p', partitions: 1 })).ok).toBe(true)
    await c.request(exchanges.produce, produce('p', testBatch({ valueBytes: 100_000 }))).catch(() => null)
    expect(await c.waitClosed()).toMatchObject({ code: CloseCodes.QUOTA_EXCEEDED, reason: expect.stringMatching(/produce_bytes quota exceeded/) })
    expect(fx.running.broker.partition('p', 0).logEndOffset).toBe(0)
    const other = await connection(fx, OTHER)
    expect((await other.request(exchanges.ping, {})).ok).toBe(true)
    expect(await metric(fx, 'samsa_quota_exceeded_total{quota="produce_bytes"}')).toBe(1)
    expect(await metric(fx, 'samsa_connections_closed_total{code="QUOTA_EXCEEDED"}')).toBe(1)
  })
})

describe('the SDK under byte quotas', () => {
  it('produces and consumes everything at the quotas, throttled and never disconnected', async () => {
    const RATE = 100_000
    fx = await startBrokerFixture({ produceBytesPerSecondPerIp: RATE, fetchBytesPerSecondPerIp: RATE, maxPushBytes: 16_384 })
    const sdk = createClient({ brokers: [fx.running.url], clientId: 'quota-sdk', WebSocket: WebSocket as never })
    sdkClients.push(sdk)
    await sdk.admin.createTopic('q', { partitions: 1 })
    const N = 1_200
    const value = (i: number) => `${String(i).padStart(6, '0')}${'x'.repeat(194)}`
    const producer = sdk.producer()
    const sends = []
    for (let i = 0; i < N; i += 100) sends.push(producer.send('q', Array.from({ length: 100 }, (_, j) => ({ value: value(i + j), partition: 0 }))))
    const acked = (await Promise.all(sends)).flat()
    expect(acked.map((m) => m.offset)).toEqual(Array.from({ length: N }, (_, i) => i))
    expect(fx.running.broker.partition('q', 0).logEndOffset).toBe(N)
    expect(await metric(fx, 'samsa_quota_throttle_seconds_total{quota="produce_bytes"}')).toBeGreaterThan(0.5)

    const got: ConsumerRecord[] = []
    const sub = sdk.consumer().subscribe('q', { from: 'earliest' })
    for await (const r of sub) {
      got.push(r)
      if (got.length === N) break
    }
    expect(got.map((r) => r.offset)).toEqual(Array.from({ length: N }, (_, i) => i))
    expect(got.every((r, i) => r.text().startsWith(String(i).padStart(6, '0')))).toBe(true)
    expect(await metric(fx, 'samsa_quota_throttle_seconds_total{quota="fetch_bytes"}')).toBeGreaterThan(0.5)
    // Throttled, never closed: the SDK kept its one connection.
    expect(await metric(fx, 'samsa_connections_closed_total{code="QUOTA_EXCEEDED"}')).toBe(0)
    expect(fx.running.broker.connectionCount).toBe(1)
  })
})

describe('a slowloris upgrade', () => {
  const UPGRADE = 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'

  it('sending its headers one byte at a time is cut with 408 after headersTimeoutMs, while another client is served, and counted', async () => {
    const HEADERS_TIMEOUT_MS = 400
    fx = await startBrokerFixture({ headersTimeoutMs: HEADERS_TIMEOUT_MS })
    const before = await metric(fx, 'samsa_connection_errors_total{stage="http"}')
    const socket = connect(fx.running.port, '127.0.0.1')
    let received = ''
    let closed = false
    socket.on('data', (d) => (received += d.toString('latin1')))
    socket.on('error', () => {})
    socket.on('close', () => (closed = true))
    let sent = 0
    // The attacker's pace (not a synchronization): a byte every 50 ms, so the headers would take 6 s.
    const drip = setInterval(() => {
      if (!socket.destroyed && sent < UPGRADE.length - 4) socket.write(UPGRADE[sent++]!)
    }, 50)
    try {
      const other = await connection(fx, OTHER)
      expect((await other.request(exchanges.ping, {})).ok).toBe(true)
      await until(() => closed, { timeoutMs: 15_000, what: 'the broker to cut the slow upgrade' })
      expect((await other.request(exchanges.ping, {})).ok).toBe(true)
    } finally {
      clearInterval(drip)
    }
    expect(sent).toBeLessThan(UPGRADE.length - 4)
    expect(received).toMatch(/^HTTP\/1\.1 408 /)
    expect(fx.running.broker.connectionCount).toBe(1)
    await until(async () => (await metric(fx!, 'samsa_connection_errors_total{stage="http"}')) > before, { what: 'the header timeout to be counted' })
  })

  it('that completes its headers but never says hello is closed with HELLO_TIMEOUT (4009)', async () => {
    fx = await startBrokerFixture({ helloTimeoutMs: 300 })
    const silent = await connection(fx, { hello: false })
    expect((await silent.waitClosed()).code).toBe(CloseCodes.HELLO_TIMEOUT)
    expect(fx.running.broker.connectionCount).toBe(0)
    expect(await metric(fx, 'samsa_connections_closed_total{code="HELLO_TIMEOUT"}')).toBe(1)
  })
})
