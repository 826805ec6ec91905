import { ApiKeys, SamsaError } from '@samsa/shared'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, type SamsaClient } from './client.js'
import type { ConsumerRecord } from './consumer/consumer-record.js'
import { partitionForKey } from './producer/partitioner.js'
import { FakeBroker, type FakeBrokerOptions } from './testing/fake-broker.js'
import { until } from './testing/until.js'

const te = new TextEncoder()

describe('client against the fake broker', () => {
  let broker: FakeBroker
  let clients: SamsaClient[] = []
  const start = async (opts: FakeBrokerOptions = {}) => (broker = await FakeBroker.start(opts))
  const client = () => {
    const c = createClient({ brokers: [broker.url], clientId: 'test', WebSocket, reconnectBackoff: { baseMs: 5, capMs: 20 } })
    clients.push(c)
    return c
  }
  beforeEach(() => {
    clients = []
  })
  afterEach(async () => {
    for (const c of clients) c.close().catch(() => {})
    await broker.close()
  })

  async function collect(sub: AsyncIterable<ConsumerRecord>, n: number): Promise<ConsumerRecord[]> {
    const out: ConsumerRecord[] = []
    if (n === 0) return out
    for await (const r of sub) {
      out.push(r)
      if (out.length === n) break
    }
    return out
  }

  it('client.status() yields the current state, then each change, and ends on close(); client.state is the current one', async () => {
    await start()
    const c = client()
    const seen: string[] = []
    const watching = (async () => {
      for await (const s of c.status()) seen.push(s.status)
    })()
    await c.admin.createTopic('s', { partitions: 1 })
    expect(c.state.status).toBe('connected')
    await c.close()
    await watching
    expect(seen).toEqual(['disconnected', 'connecting', 'connected', 'closed'])
  })

  it('round-trips records across 3 partitions, in offset order per partition', async () => {
    await start()
    const c = client()
    await c.admin.createTopic('orders', { partitions: 3 })
    const producer = c.producer({ acks: 'all' })
    const metas = await producer.send('orders', Array.from({ length: 30 }, (_, i) => ({ value: `v${i}`, headers: { h: `x${i}` } })))
    expect(new Set(metas.map((m) => m.partition))).toEqual(new Set([0, 1, 2]))
    const records = await collect(c.consumer().subscribe('orders', { from: 'earliest' }), 30)
    for (const p of [0, 1, 2]) {
      const offsets = records.filter((r) => r.partition === p).map((r) => r.offset)
      expect(offsets).toEqual(Array.from({ length: 10 }, (_, i) => i))
    }
    const byValue = new Map(records.map((r) => [r.text(), r]))
    metas.forEach((m, i) => {
      const r = byValue.get(`v${i}`)!
      expect({ partition: r.partition, offset: r.offset }).toEqual({ partition: m.partition, offset: m.offset })
      expect(r.headers).toEqual({ h: `x${i}` })
    })
  })

  it('keeps keys on stable partitions (Kafka murmur2) and returns offsets in input order', async () => {
    await start()
    const c = client()
    await c.admin.createTopic('keyed', { partitions: 5 })
    const producer = c.producer()
    const input = Array.from({ length: 40 }, (_, i) => ({ key: `user-${i % 4}`, value: JSON.stringify({ i }) }))
    const [a, b] = await Promise.all([producer.send('keyed', input.slice(0, 20)), producer.send('keyed', input.slice(20))])
    const metas = [...a!, ...b!]
    metas.forEach((m, i) => expect(m.partition).toBe(partitionForKey(te.encode(`user-${i % 4}`), 5)))
    const perPartition = new Map<number, number[]>()
    for (const m of metas) perPartition.set(m.partition, [...(perPartition.get(m.partition) ?? []), m.offset])
    for (const offsets of perPartition.values()) expect(offsets).toEqual([...offsets].sort((x, y) => x - y))
    const stored = broker.partition('keyed', metas[0]!.partition).records()
    expect(stored.map((r) => JSON.parse(new TextDecoder().decode(r.value!)).i)).toEqual(metas.flatMap((m, i) => (m.partition === metas[0]!.partition ? [i] : [])))
  })

  it('the consumer resumes after a dropped connection with no duplicate and no gap', async () => {
    await start()
    const c = client()
    await c.admin.createTopic('t', { partitions: 2 })
    const producer = c.producer()
    await producer.send('t', Array.from({ length: 20 }, (_, i) => ({ value: `a${i}`, partition: i % 2 })))
    const sub = c.consumer().subscribe('t', { from: 'earliest' })
    const it = sub[Symbol.asyncIterator]()
    const seen: ConsumerRecord[] = []
    for (let i = 0; i < 7; i++) seen.push((await it.next()).value as ConsumerRecord)
    broker.dropConnections()
    await until(() => c.state.status === 'connected' && broker.connectionCount === 2, { what: 'reconnect' })
    await producer.send('t', Array.from({ length: 10 }, (_, i) => ({ value: `b${i}`, partition: i % 2 })))
    while (seen.length < 30) seen.push((await it.next()).value as ConsumerRecord)
    for (const p of [0, 1]) expect(seen.filter((r) => r.partition === p).map((r) => r.offset)).toEqual(Array.from({ length: 15 }, (_, i) => i))
    expect(sub.position(0)).toBe(15)
    sub.close()
    expect(await it.next()).toEqual({ done: true, value: undefined })
  })

  it('grants credit only as records are consumed; the broker never pushes past the credit', async () => {
    await start()
    const c = client()
    await c.admin.createTopic('t', { partitions: 1 })
    const producer = c.producer({ lingerMs: 0 })
    const value = 'x'.repeat(1000)
    for (let i = 0; i < 40; i++) await producer.send('t', [{ value }])
    const window = 8 * 1024
    const sub = c.consumer().subscribe('t', { from: 'earliest', creditWindowBytes: window })
    await until(() => broker.pushes.length > 0, { what: 'first push' })
    // Nothing consumed yet: the broker stops once the window is spent.
    await until(() => broker.pushes.reduce((n, p) => n + p.bytes, 0) >= window, { what: 'window spent' })
    const pushedBeforeConsuming = broker.pushes.length
    expect(broker.requests.filter((r) => r.apiKey === 'CREDIT')).toHaveLength(0)
    const records = await collect(sub, 40)
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 40 }, (_, i) => i))
    expect(broker.pushes.length).toBeGreaterThan(pushedBeforeConsuming)
    for (const p of broker.pushes) expect(p.creditBefore).toBeGreaterThan(0)
    expect(broker.requests.filter((r) => r.apiKey === 'CREDIT').length).toBeGreaterThan(0)
  })

  it('rejects a record over maxRecordBytes locally with MESSAGE_TOO_LARGE, sending nothing', async () => {
    await start({ maxRecordBytes: 1000 })
    const c = client()
    await c.admin.createTopic('t', { partitions: 1 })
    const err = await c.producer().send('t', [{ value: 'ok' }, { value: new Uint8Array(2000) }]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SamsaError)
    expect(err).toMatchObject({ errorName: 'MESSAGE_TOO_LARGE', retriable: false })
    expect(broker.requests.filter((r) => r.apiKey === 'PRODUCE')).toHaveLength(0)
  })

  it('surfaces OFFSET_OUT_OF_RANGE from a push as an error, never skipping silently', async () => {
    await start()
    const c = client()
    await c.admin.createTopic('t', { partitions: 1 })
    await c.producer().send('t', [{ value: 'a' }])
    const sub = c.consumer().subscribe('t', { from: 'earliest' })
    const errors: Error[] = []
    sub.onError((e) => errors.push(e))
    const it = sub[Symbol.asyncIterator]()
    expect(((await it.next()).value as ConsumerRecord).text()).toBe('a')
    broker.endSubscriptions('t', 0, new SamsaError('OFFSET_OUT_OF_RANGE', 'retention', { logStartOffset: 5, logEndOffset: 9 }))
    await expect(it.next()).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE', details: { logStartOffset: 5 } })
    expect(errors).toHaveLength(1)
    expect(await sub.closed).toBeInstanceOf(SamsaError)
  })

  it('delivers to a callback, from an explicit offset per partition', async () => {
    await start()
    const c = client()
    await c.admin.createTopic('t', { partitions: 2 })
    await c.producer().send('t', Array.from({ length: 6 }, (_, i) => ({ value: JSON.stringify({ i }), partition: i % 2 })))
    const got: string[] = []
    const sub = c.consumer().subscribe('t', { from: { 0: 2, 1: 1 }, onRecord: (r) => void got.push(`${r.partition}:${r.offset}:${r.json<{ i: number }>().i}`) })
    await until(() => got.length === 3, { what: 'records' })
    expect(got.sort()).toEqual(['0:2:4', '1:1:3', '1:2:5'])
    expect(() => sub[Symbol.asyncIterator]()).toThrow(TypeError)
  })

  it('admin lists and describes topics and offsets', async () => {
    await start()
    const c = client()
    await c.admin.createTopic('b', { partitions: 2 })
    await c.admin.createTopic('a')
    expect(await c.admin.listTopics()).toEqual(['a', 'b'])
    await c.producer().send('b', [{ value: '1', partition: 1, timestamp: 1000 }, { value: '2', partition: 1, timestamp: 2000 }])
    const d = await c.admin.describeTopic('b')
    expect(d.partitions[1]).toMatchObject({ logStartOffset: 0, highWatermark: 2, logEndOffset: 2 })
    expect(await c.admin.listOffsets('b', 1, 'earliest')).toMatchObject({ offset: 0 })
    expect(await c.admin.listOffsets('b', 1, 'latest')).toMatchObject({ offset: 2 })
    expect(await c.admin.listOffsets('b', 1, { timestamp: 1500 })).toMatchObject({ offset: 1, timestamp: 2000 })
    await c.admin.deleteTopic('a')
    await expect(c.admin.describeTopic('a')).rejects.toMatchObject({ errorName: 'UNKNOWN_TOPIC_OR_PARTITION' })
  })

  it("subscribing from 'latest' delivers only records produced afterwards", async () => {
    await start()
    const c = client()
    await c.admin.createTopic('t', { partitions: 1 })
    const producer = c.producer()
    await producer.send('t', [{ value: 'old' }])
    const sub = c.consumer().subscribe('t')
    await until(() => sub.position(0) !== null, { what: 'start resolved' })
    expect(sub.position(0)).toBe(1)
    await producer.send('t', [{ value: 'new' }])
    const [r] = await collect(sub, 1)
    expect(r!.text()).toBe('new')
  })

  it("with acks 'none' the broker does not answer and offsets are -1", async () => {
    await start()
    const c = client()
    await c.admin.createTopic('t', { partitions: 1 })
    const metas = await c.producer({ acks: 'none' }).send('t', [{ value: 'fire' }, { value: 'forget' }])
    expect(metas.map((m) => m.offset)).toEqual([-1, -1])
    await until(() => broker.partition('t', 0).logEndOffset === 2, { what: 'append' })
    expect(broker.requests.some((r) => r.apiKey === 'INIT_PRODUCER_ID')).toBe(false)
  })

  it('reports connection status changes to the application', async () => {
    await start()
    const c = client()
    const seen: string[] = []
    c.onStatus(({ current }) => seen.push(`${current.status}:${current.reason.code}`))
    await c.admin.listTopics()
    broker.dropConnections()
    await until(() => seen.length >= 5, { what: 'reconnect statuses' })
    expect(seen.slice(0, 5)).toEqual(['connecting:connect_requested', 'connected:handshake_complete', 'disconnected:socket_closed', 'connecting:backoff_elapsed', 'connected:handshake_complete'])
  })
})
