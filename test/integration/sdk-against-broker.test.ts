/**
 * The SDK (`@samsa/client-browser`, from its sources) against a real in-process broker over real WebSockets:
 * the README's snippet, keyed partitioning, ordering and contiguity at volume, 'latest' subscriptions,
 * exactly-once appends and gap-free consumption across connections cut mid-stream and a broker restart
 * (history checker), and the broker's HTTP surface (/healthz, /metrics, /v1/topics, /sdk/samsa.js, /).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, murmur2, partitionForKey, type ConsumerRecord, type RecordMetadata, type SamsaClient } from '@samsa/client-browser'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'
import { checkConsumerStream, checkHistory, describeReport, type Ack, type Read } from '../support/history-checker.js'
import { RawConnection } from '../support/raw-connection.js'
import { drainPartition } from '../support/raw-log.js'
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js'
import { until } from '../support/until.js'

let fx: BrokerFixture
const clients: SamsaClient[] = []
const te = new TextEncoder()
const v = (prefix: string, i: number) => `${prefix}-${String(i).padStart(6, '0')}`

function client(url = fx.running.url, clientId = 'sdk-it'): SamsaClient {
  const c = createClient({ brokers: [url], clientId, WebSocket: WebSocket as never, reconnectBackoff: { baseMs: 50, capMs: 500 } })
  clients.push(c)
  return c
}

async function drainTopic(topic: string, partitions: number): Promise<Read[]> {
  const conn = await RawConnection.open(fx.running.url)
  try {
    const out: Read[] = []
    for (let p = 0; p < partitions; p++) out.push(...(await drainPartition(conn, topic, p)))
    return out
  } finally {
    conn.close()
  }
}

/** Collects records from a subscription in the background; `stop()` closes it. */
function collect(sub: AsyncIterable<ConsumerRecord> & { close(): void }) {
  const records: ConsumerRecord[] = []
  let error: unknown = null
  const done = (async () => {
    try {
      for await (const r of sub) records.push(r)
    } catch (e) {
      error = e
    }
  })()
  return {
    records,
    error: () => error,
    async stop() {
      sub.close()
      await Promise.race([done, new Promise((r) => setTimeout(r, 5_000).unref())])
    },
  }
}

beforeAll(async () => {
  fx = await startBrokerFixture()
})

afterAll(async () => {
  for (const c of clients) await Promise.race([c.close().catch(() => {}), new Promise((r) => setTimeout(r, 5_000).unref())])
  await fx?.dispose()
})

describe("the README's snippet", () => {
  it('works verbatim: createTopic, send returns {topic, partition, offset}, subscribe from earliest yields text, headers, timestamps', async () => {
    const before = Date.now()
    // --- README, with the URL of this test's broker and `ws` as the WebSocket (as the README says for Node) ---
    const client = createClient({ brokers: [fx.running.url], clientId: 'app-1', WebSocket: WebSocket as never })
    clients.push(client)
    await client.admin.createTopic('orders', { partitions: 3 })
    const producer = client.producer({ acks: 'all' })
    const [meta] = await producer.send('orders', [{ key: 'k1', value: 'hello', headers: { h: 'v' } }])
    const seen: ConsumerRecord[] = []
    const sub = client.consumer().subscribe('orders', { from: 'earliest' })
    for await (const record of sub) {
      seen.push(record)
      break // the README's loop follows forever; one record is all there is
    }
    await client.close()
    // --- end of the README ---
    // What the README's comment prints (Kafka's murmur2 of "k1" over 3 partitions decides the partition).
    expect(meta).toEqual({ topic: 'orders', partition: 2, offset: 0 })
    expect(meta!.partition).toBe(partitionForKey(te.encode('k1'), 3))
    const [record] = seen
    expect(record).toBeDefined()
    expect(record!.partition).toBe(meta!.partition)
    expect(record!.offset).toBe(0)
    expect(record!.text()).toBe('hello')
    expect(record!.keyText()).toBe('k1')
    expect(record!.headers).toEqual({ h: 'v' })
    expect(record!.topic).toBe('orders')
    expect(record!.timestamp).toBeGreaterThanOrEqual(before - 1000)
    expect(record!.timestamp).toBeLessThanOrEqual(Date.now() + 1000)
  })
})

describe('keyed records land on stable partitions', () => {
  it("uses Kafka's murmur2 (reference vectors) and the same partition for a key across producers and clients", async () => {
    // Vectors from Kafka's UtilsTest.testMurmur2.
    for (const [s, h] of [['21', -973932308], ['foobar', -790332482], ['a-little-bit-long-string', -985981536], ['abc', 479470107]] as const) expect(murmur2(te.encode(s)) | 0).toBe(h)
    const c1 = client()
    await c1.admin.createTopic('keyed', { partitions: 3 })
    const keys = Array.from({ length: 12 }, (_, i) => `user-${i}`)
    const first = await c1.producer().send('keyed', keys.map((k) => ({ key: k, value: `a-${k}` })))
    const c2 = client(fx.running.url, 'other')
    const second = await c2.producer({ acks: 'leader' }).send('keyed', keys.map((k) => ({ key: k, value: `b-${k}` })))
    keys.forEach((k, i) => {
      expect(first[i]!.partition).toBe(partitionForKey(te.encode(k), 3))
      expect(second[i]!.partition).toBe(first[i]!.partition)
    })
    expect(new Set(first.map((m) => m.partition)).size).toBeGreaterThan(1)
  })
})

describe('volume', () => {
  it('20 000 records over 3 partitions arrive in order per partition with contiguous offsets', async () => {
    const N = 20_000
    const c = client()
    await c.admin.createTopic('bulk', { partitions: 3 })
    const producer = c.producer()
    const sends: Promise<RecordMetadata[]>[] = []
    for (let i = 0; i < N; i += 500) sends.push(producer.send('bulk', Array.from({ length: 500 }, (_, j) => ({ value: v('s', i + j) }))))
    const metas = (await Promise.all(sends)).flat()
    expect(metas).toHaveLength(N)
    const acked: Ack[] = metas.map((m, i) => ({ partition: m.partition, offset: m.offset, value: v('s', i) }))

    const consumer = client(fx.running.url, 'bulk-reader')
    const sub = consumer.consumer().subscribe('bulk', { from: 'earliest' })
    const delivered: Read[] = []
    const deadline = setTimeout(() => sub.close(), 60_000)
    try {
      for await (const r of sub) {
        delivered.push({ partition: r.partition, offset: r.offset, value: r.text() })
        if (delivered.length >= N) break
      }
    } finally {
      clearTimeout(deadline)
      sub.close()
    }
    expect(delivered).toHaveLength(N)
    expect(checkConsumerStream(delivered, { 0: 0, 1: 0, 2: 0 })).toEqual([])
    const report = checkHistory({ attempted: acked.map((a) => a.value), acked, drained: delivered })
    expect(report.ok, describeReport(report)).toBe(true)
    expect(Object.keys(report.counts.perPartition)).toEqual(['0', '1', '2'])
  }, 120_000)
})

describe("a subscriber from 'latest'", () => {
  it('sees only records produced after its subscription started', async () => {
    const c = client()
    await c.admin.createTopic('news', { partitions: 3 })
    const producer = c.producer()
    await producer.send('news', Array.from({ length: 30 }, (_, i) => ({ value: v('old', i) })))
    const got: ConsumerRecord[] = []
    const sub = c.consumer().subscribe('news', { from: 'latest', onRecord: (r) => void got.push(r) })
    try {
      await until(() => [0, 1, 2].every((p) => sub.position(p) !== null), { what: "the 'latest' positions to resolve" })
      expect([0, 1, 2].map((p) => sub.position(p))).toEqual([10, 10, 10])
      await producer.send('news', Array.from({ length: 9 }, (_, i) => ({ value: v('new', i) })))
      await until(() => got.length >= 9, { what: 'the 9 new records' })
      expect(got.map((r) => r.text()).sort()).toEqual(Array.from({ length: 9 }, (_, i) => v('new', i)))
      expect(got.every((r) => r.offset >= 10)).toBe(true)
    } finally {
      sub.close()
    }
  })
})

describe('connections cut server-side mid-stream, and a broker restart', () => {
  let proxy: TcpProxy
  beforeAll(async () => {
    proxy = await startTcpProxy(fx.running.port)
  })
  afterAll(async () => {
    await proxy?.close()
  })

  it('every send resolves, the topic holds each record exactly once, and the consumer sees no gap and no duplicate', async () => {
    const TOPIC = 'cut'
    const N = 12_000
    const PER_SEND = 40
    const admin = client()
    await admin.admin.createTopic(TOPIC, { partitions: 3 })
    const producerClient = client(proxy.url, 'cut-producer')
    const consumerClient = client(proxy.url, 'cut-consumer')
    const statuses: string[] = []
    producerClient.onStatus((s) => statuses.push(s.current.status))
    const reader = collect(consumerClient.consumer().subscribe(TOPIC, { from: 'earliest', creditWindowBytes: 16 * 1024 }))
    const producer = producerClient.producer({ lingerMs: 2 })

    const sends: Promise<RecordMetadata[]>[] = []
    let resolved = 0
    let rejected: unknown = null
    const faults: string[] = []
    const faultAt = new Map<number, () => Promise<void>>([
      [2_000, async () => void faults.push(`cut ${proxy.cutAll()} connections`)],
      [5_000, async () => void faults.push(`cut ${proxy.cutAll()} connections`)],
      [7_000, async () => {
        await fx.restart()
        faults.push('restarted the broker')
      }],
      [9_600, async () => void faults.push(`cut ${proxy.cutAll()} connections`)],
    ])
    for (let i = 0; i < N; i += PER_SEND) {
      const p = producer.send(TOPIC, Array.from({ length: PER_SEND }, (_, j) => ({ value: v('c', i + j) })))
      p.then(() => resolved++, (e: unknown) => (rejected ??= e))
      sends.push(p)
      // Keep a bounded window of sends outstanding so the faults land mid-stream.
      if (sends.length - resolved > 25) await until(() => sends.length - resolved <= 25 || rejected, { timeoutMs: 60_000, what: 'the producer to make progress' })
      const fault = faultAt.get(i)
      if (fault) {
        // Let the consumer be in the middle of reading too.
        await until(() => reader.records.length > 0, { timeoutMs: 20_000, what: 'the consumer to read something' })
        await fault()
      }
    }
    const outcomes = await Promise.race([
      Promise.allSettled(sends),
      new Promise<null>((r) => setTimeout(() => r(null), 90_000).unref()),
    ])
    expect(outcomes, 'every send settles within 90 s').not.toBeNull()
    const failures = outcomes!.flatMap((o, i) => (o.status === 'rejected' ? [`send ${i}: ${String(o.reason)}`] : []))
    expect(failures, 'every send resolves').toEqual([])
    const acked: Ack[] = outcomes!.flatMap((o, i) => (o as PromiseFulfilledResult<RecordMetadata[]>).value.map((m, j) => ({ partition: m.partition, offset: m.offset, value: v('c', i * PER_SEND + j) })))
    expect(acked).toHaveLength(N)

    const drained = await drainTopic(TOPIC, 3)
    const attempted = Array.from({ length: N }, (_, i) => v('c', i))
    const report = checkHistory({ attempted, acked, drained })
    console.log(`cut mid-stream: faults [${faults.join(', ')}], producer status changes ${statuses.length}, ${acked.length} acked, ${drained.length} in the log, consumer has ${reader.records.length} so far`)
    expect(report.ok, describeReport(report)).toBe(true)
    expect(drained).toHaveLength(N)

    // The consumer catches up through the same faults: everything, once, in order, nothing skipped.
    await until(() => reader.records.length >= N || reader.error(), { timeoutMs: 60_000, what: `the consumer to read all ${N} records (has ${reader.records.length})` })
    await reader.stop()
    expect(reader.error()).toBeNull()
    const delivered = reader.records.map((r) => ({ partition: r.partition, offset: r.offset, value: r.text() }))
    expect(checkConsumerStream(delivered, { 0: 0, 1: 0, 2: 0 })).toEqual([])
    const consumerReport = checkHistory({ attempted, acked, drained: delivered })
    expect(consumerReport.ok, describeReport(consumerReport)).toBe(true)
    expect(delivered).toHaveLength(N)
    expect(faults).toHaveLength(4)
    expect(proxy.accepted()).toBeGreaterThan(2)
  }, 180_000)
})

describe('the HTTP surface', () => {
  const http = (path: string, init?: RequestInit) => fetch(`${fx.running.httpUrl}${path}`, init)

  it('/healthz reports ok', async () => {
    const r = await http('/healthz')
    expect(r.status).toBe(200)
    expect(await r.json()).toMatchObject({ status: 'ok', brokerId: 0 })
  })

  it('/metrics has the records-in counter, the log-end-offset gauge and the producer-ids gauge', async () => {
    const c = client()
    await c.admin.createTopic('metered', { partitions: 2 })
    await c.producer().send('metered', Array.from({ length: 7 }, (_, i) => ({ value: `m${i}`, partition: i % 2 })))
    const r = await http('/metrics')
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toMatch(/text\/plain/)
    const text = await r.text()
    expect(text).toMatch(/^samsa_records_in_total\{topic="metered"\} 7$/m)
    expect(text).toMatch(/^samsa_log_end_offset\{topic="metered",partition="0"\} 4$/m)
    expect(text).toMatch(/^samsa_log_end_offset\{topic="metered",partition="1"\} 3$/m)
    expect(text).toMatch(/^samsa_high_watermark\{topic="metered",partition="0"\} 4$/m)
    expect(text).toMatch(/^samsa_producer_ids\{topic="metered",partition="0"\} 1$/m) // the SDK producer's id
  })

  it('/v1/topics creates, lists, describes and deletes, with JSON errors (400, 404, 409)', async () => {
    const created = await http('/v1/topics', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'rest', partitions: 2 }) })
    expect(created.status).toBe(201)
    expect(await created.json()).toMatchObject({ name: 'rest', partitions: [{ partition: 0, logEndOffset: 0 }, { partition: 1, logEndOffset: 0 }] })
    const listed = (await (await http('/v1/topics')).json()) as { topics: { name: string; partitions: number }[] }
    expect(listed.topics).toContainEqual({ name: 'rest', partitions: 2 })
    const described = await http('/v1/topics/rest')
    expect(described.status).toBe(200)
    expect(((await described.json()) as { partitions: unknown[] }).partitions).toHaveLength(2)

    const exists = await http('/v1/topics', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'rest', partitions: 1 }) })
    expect(exists.status).toBe(409)
    expect(await exists.json()).toMatchObject({ error: { name: 'TOPIC_ALREADY_EXISTS', retriable: false } })
    const bad = await http('/v1/topics', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bad name' }) })
    expect(bad.status).toBe(400)
    expect(bad.headers.get('content-type')).toMatch(/application\/json/)
    expect(await bad.json()).toMatchObject({ error: { name: 'INVALID_TOPIC_EXCEPTION' } })
    const badPartitions = await http('/v1/topics', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'zero', partitions: 0 }) })
    expect(badPartitions.status).toBe(400)
    expect(await badPartitions.json()).toMatchObject({ error: { name: 'INVALID_PARTITIONS' } })
    const notJson = await http('/v1/topics', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' })
    expect(notJson.status).toBe(400)
    expect(await notJson.json()).toMatchObject({ error: { name: 'INVALID_REQUEST' } })
    const unknown = await http('/v1/topics/nope')
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ error: { name: 'UNKNOWN_TOPIC_OR_PARTITION' } })

    const deleted = await http('/v1/topics/rest', { method: 'DELETE' })
    expect(deleted.status).toBe(204)
    expect((await http('/v1/topics/rest')).status).toBe(404)
    const again = await http('/v1/topics/rest', { method: 'DELETE' })
    expect(again.status).toBe(404)
    expect(await again.json()).toMatchObject({ error: { name: 'UNKNOWN_TOPIC_OR_PARTITION' } })
  })

  it('an unknown route gets the JSON 404 the app defines (app.notFound), not a text one', async () => {
    const route = await http('/v1/nothing-here')
    expect(route.status).toBe(404)
    expect(route.headers.get('content-type'), `body: ${await route.clone().text()}`).toMatch(/application\/json/)
    expect(await route.json()).toMatchObject({ error: { name: 'NOT_FOUND' } })
  })

  it('/sdk/samsa.js is served as JavaScript that exports createClient', async () => {
    const r = await http('/sdk/samsa.js')
    expect(r.status, 'run `npm run build` first: the bundle is built by build:sdk').toBe(200)
    expect(r.headers.get('content-type')).toMatch(/^text\/javascript/)
    const js = await r.text()
    expect(js.length).toBeGreaterThan(1000)
    expect(js).toMatch(/export\s*\{[^}]*createClient/)
  })

  it('/ serves the demo app: its HTML and the script and style it loads from /app/', async () => {
    const r = await http('/')
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toMatch(/text\/html/)
    const html = await r.text()
    expect(html).toMatch(/<html/i)
    const script = /<script type="module" src="(\/app\/[\w.-]+\.js)"/.exec(html)?.[1]
    const style = /<link rel="stylesheet" href="(\/app\/[\w.-]+\.css)"/.exec(html)?.[1]
    expect(script, 'run `npm run build` first: the app is built by build:demo').toBeDefined()
    const js = await http(script!)
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/)
    // The SDK is bundled into the app.
    expect(await js.text()).toContain('createTopic')
    const css = await http(style!)
    expect(css.headers.get('content-type')).toMatch(/^text\/css/)
  })
})
