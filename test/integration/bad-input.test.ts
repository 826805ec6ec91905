import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import {
  ApiKeys, ByteWriter, CloseCodes, encodeRecordBatch, encodeRequestFrame, exchanges, type BatchInput,
} from '../../packages/shared/src/index.js'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'
import { RawConnection } from '../support/raw-connection.js'
import { until } from '../support/until.js'

const te = new TextEncoder()
const batch = (n: number, extra: Partial<BatchInput> = {}) =>
  encodeRecordBatch({ records: Array.from({ length: n }, (_, i) => ({ key: null, value: te.encode(`v${i}`), headers: [], timestamp: 1_700_000_000_000 + i })), ...extra })

let fx: BrokerFixture
let conn: RawConnection

async function segmentBytes(topic: string): Promise<number> {
  let total = 0
  for (const p of await readdir(join(fx.dataDir, 'topics', topic))) {
    if (p === 'topic.json') continue
    for (const f of await readdir(join(fx.dataDir, 'topics', topic, p))) total += (await stat(join(fx.dataDir, 'topics', topic, p, f))).size
  }
  return total
}

async function expectStillServing(): Promise<void> {
  const r = await conn.request(exchanges.ping, {})
  expect(r.ok).toBe(true)
}

beforeAll(async () => {
  fx = await startBrokerFixture({ maxFrameBytes: 64 * 1024, maxBatchBytes: 32 * 1024, maxRecordBytes: 4 * 1024 })
  conn = await RawConnection.open(fx.running.url)
  const r = await conn.request(exchanges.createTopic, { name: 't', partitions: 2 })
  expect(r.ok).toBe(true)
  const p = await conn.request(exchanges.produce, { topic: 't', partition: 0, acks: -1, timeoutMs: 5000, batch: batch(3) })
  expect(p.ok && p.value.baseOffset).toBe(0)
})

afterAll(async () => {
  conn?.close()
  await fx?.dispose()
})

describe('frames that cannot be parsed close the connection; the broker keeps serving others', () => {
  it('closes a truncated frame (shorter than its header) with 1002', async () => {
    const c = await RawConnection.open(fx.running.url)
    c.ws.send(new Uint8Array([0, 5, 0]))
    expect((await c.waitClosed()).code).toBe(CloseCodes.PROTOCOL_ERROR)
    await expectStillServing()
  })

  it('closes a text frame with 1003', async () => {
    const c = await RawConnection.open(fx.running.url)
    c.ws.send('hello?')
    const closed = await c.waitClosed()
    expect(closed.code).toBe(CloseCodes.UNSUPPORTED_DATA)
    expect(closed.reason).toMatch(/binary/)
    await expectStillServing()
  })

  it('closes a frame over maxFrameBytes with 1009 and appends nothing', async () => {
    const before = await segmentBytes('t')
    const c = await RawConnection.open(fx.running.url)
    const big = encodeRequestFrame(exchanges.produce, c.version, 99, { topic: 't', partition: 0, acks: -1, timeoutMs: 1000, batch: new Uint8Array(70 * 1024) })
    c.ws.send(big)
    expect((await c.waitClosed()).code).toBe(CloseCodes.MESSAGE_TOO_BIG)
    expect(await segmentBytes('t')).toBe(before)
    await expectStillServing()
  })
})

describe('well-formed frames with bad requests get an error response and the connection stays', () => {
  it('answers an unknown api key with UNKNOWN_API_KEY', async () => {
    const frame = new ByteWriter().u16(999).u16(conn.version).u32(conn.nextCorrelationId()).finish()
    const { decodeResponseFrame } = await import('../../packages/shared/src/index.js')
    const r = decodeResponseFrame(await conn.sendRaw(frame))
    expect(r.error?.errorName).toBe('UNKNOWN_API_KEY')
    await expectStillServing()
  })

  it('answers an unsupported version with UNSUPPORTED_VERSION', async () => {
    const r = await conn.request(exchanges.ping, {}, { version: 77 })
    expect(!r.ok && r.error.errorName).toBe('UNSUPPORTED_VERSION')
    await expectStillServing()
  })

  it('requires hello before anything else', async () => {
    const c = await RawConnection.open(fx.running.url, { hello: false })
    const r = await c.request(exchanges.metadata, { topics: null }, { version: 1 })
    expect(!r.ok && r.error.errorName).toBe('HELLO_REQUIRED')
    c.close()
  })

  it('answers a garbage body with INVALID_REQUEST', async () => {
    const frame = new ByteWriter().u16(ApiKeys.FETCH).u16(conn.version).u32(conn.nextCorrelationId()).u32(0xffffffff).u8(7).finish()
    const { decodeResponseFrame } = await import('../../packages/shared/src/index.js')
    const r = decodeResponseFrame(await conn.sendRaw(frame))
    expect(r.error?.errorName).toBe('INVALID_REQUEST')
    await expectStillServing()
  })

  it('rejects a batch with a wrong CRC with CORRUPT_MESSAGE and touches no file', async () => {
    const before = await segmentBytes('t')
    const b = batch(2)
    b[b.length - 1] = b[b.length - 1]! ^ 0xff
    const r = await conn.request(exchanges.produce, { topic: 't', partition: 0, acks: -1, timeoutMs: 1000, batch: b })
    expect(!r.ok && r.error.errorName).toBe('CORRUPT_MESSAGE')
    expect(!r.ok && r.error.retriable).toBe(true)
    expect(await segmentBytes('t')).toBe(before)
  })

  it('rejects garbage batch bytes and trailing bytes after a batch', async () => {
    const garbage = await conn.request(exchanges.produce, { topic: 't', partition: 0, acks: -1, timeoutMs: 1000, batch: te.encode('not a batch at all, just text that is long enough to look like a header maybe') })
    expect(!garbage.ok && garbage.error.errorName).toBe('CORRUPT_MESSAGE')
    const b = batch(1)
    const trailing = new Uint8Array(b.length + 5)
    trailing.set(b)
    const r = await conn.request(exchanges.produce, { topic: 't', partition: 0, acks: -1, timeoutMs: 1000, batch: trailing })
    expect(!r.ok && r.error.errorName).toBe('CORRUPT_MESSAGE')
  })

  it('rejects a record over maxRecordBytes and a batch over maxBatchBytes with MESSAGE_TOO_LARGE', async () => {
    const before = await segmentBytes('t')
    const bigRecord = encodeRecordBatch({ records: [{ key: null, value: new Uint8Array(5000), headers: [], timestamp: 1 }] })
    const r1 = await conn.request(exchanges.produce, { topic: 't', partition: 0, acks: -1, timeoutMs: 1000, batch: bigRecord })
    expect(!r1.ok && r1.error.errorName).toBe('MESSAGE_TOO_LARGE')
    expect(!r1.ok && r1.error.details.maxRecordBytes).toBe(4096)
    const bigBatch = encodeRecordBatch({ records: Array.from({ length: 20 }, () => ({ key: null, value: new Uint8Array(2000), headers: [], timestamp: 1 })) })
    const r2 = await conn.request(exchanges.produce, { topic: 't', partition: 0, acks: -1, timeoutMs: 1000, batch: bigBatch })
    expect(!r2.ok && r2.error.errorName).toBe('MESSAGE_TOO_LARGE')
    expect(await segmentBytes('t')).toBe(before)
  })

  it.each(['..', '.', '../x', 'a/b', 'a\u0000b', 'x'.repeat(250), '', 'white space', 'ünï'])('rejects the topic name %j with INVALID_TOPIC_EXCEPTION and creates nothing', async (name) => {
    const r = await conn.request(exchanges.createTopic, { name, partitions: 1 })
    expect(!r.ok && r.error.errorName).toBe('INVALID_TOPIC_EXCEPTION')
    expect((await readdir(join(fx.dataDir, 'topics'))).sort()).toEqual(['t'])
    const p = await conn.request(exchanges.produce, { topic: name, partition: 0, acks: -1, timeoutMs: 1000, batch: batch(1) })
    expect(!p.ok && p.error.errorName).toBe('INVALID_TOPIC_EXCEPTION')
  })

  it('rejects a bad partition count with INVALID_PARTITIONS', async () => {
    for (const partitions of [0, -1, 1_000_001]) {
      const r = await conn.request(exchanges.createTopic, { name: 'never', partitions })
      expect(!r.ok && r.error.errorName).toBe('INVALID_PARTITIONS')
    }
  })

  it('answers unknown topics and partitions with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    for (const [topic, partition] of [['nope', 0], ['t', 2], ['t', -1]] as const) {
      const p = await conn.request(exchanges.produce, { topic, partition, acks: -1, timeoutMs: 1000, batch: batch(1) })
      expect(!p.ok && p.error.errorName).toBe('UNKNOWN_TOPIC_OR_PARTITION')
      const f = await conn.request(exchanges.fetch, { topic, partition, offset: 0, maxBytes: 1000, maxWaitMs: 0, minBytes: 0 })
      expect(!f.ok && f.error.errorName).toBe('UNKNOWN_TOPIC_OR_PARTITION')
      const s = await conn.request(exchanges.subscribe, { topic, partition, offset: 0, creditBytes: 1000 })
      expect(!s.ok && s.error.errorName).toBe('UNKNOWN_TOPIC_OR_PARTITION')
    }
  })

  it('answers negative, huge and out-of-range offsets with OFFSET_OUT_OF_RANGE and the log range', async () => {
    for (const offset of [-5, 4, 2 ** 53 - 1]) {
      const f = await conn.request(exchanges.fetch, { topic: 't', partition: 0, offset, maxBytes: 1000, maxWaitMs: 0, minBytes: 0 })
      expect(!f.ok && f.error.errorName).toBe('OFFSET_OUT_OF_RANGE')
      expect(!f.ok && f.error.details).toEqual({ logStartOffset: 0, logEndOffset: 3 })
      const s = await conn.request(exchanges.subscribe, { topic: 't', partition: 0, offset, creditBytes: 1000 })
      expect(!s.ok && s.error.errorName).toBe('OFFSET_OUT_OF_RANGE')
    }
  })

  it('answers an offset beyond 2^53 − 1 on the wire with INVALID_REQUEST', async () => {
    const frame = new ByteWriter().u16(ApiKeys.FETCH).u16(conn.version).u32(conn.nextCorrelationId())
      .string('t').i32(0).u32(0x7fffffff).u32(0xffffffff).u32(1000).u32(0).u32(0).finish()
    const { decodeResponseFrame } = await import('../../packages/shared/src/index.js')
    const r = decodeResponseFrame(await conn.sendRaw(frame))
    expect(r.error?.errorName).toBe('INVALID_REQUEST')
  })

  it('rejects a stale producer epoch and a sequence gap, appending nothing', async () => {
    const init = await conn.request(exchanges.initProducerId, { producerId: -1, producerEpoch: -1 })
    if (!init.ok) throw init.error
    const { producerId } = init.value
    const bumped = await conn.request(exchanges.initProducerId, { producerId, producerEpoch: 0 })
    expect(bumped.ok && bumped.value.producerEpoch).toBe(1)
    const first = await conn.request(exchanges.produce, { topic: 't', partition: 1, acks: -1, timeoutMs: 1000, batch: batch(2, { producerId, producerEpoch: 1, baseSequence: 0 }) })
    expect(first.ok).toBe(true)
    const before = await segmentBytes('t')
    const stale = await conn.request(exchanges.produce, { topic: 't', partition: 1, acks: -1, timeoutMs: 1000, batch: batch(1, { producerId, producerEpoch: 0, baseSequence: 2 }) })
    expect(!stale.ok && stale.error.errorName).toBe('INVALID_PRODUCER_EPOCH')
    const gap = await conn.request(exchanges.produce, { topic: 't', partition: 1, acks: -1, timeoutMs: 1000, batch: batch(1, { producerId, producerEpoch: 1, baseSequence: 5 }) })
    expect(!gap.ok && gap.error.errorName).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER')
    expect(await segmentBytes('t')).toBe(before)
    const resend = await conn.request(exchanges.produce, { topic: 't', partition: 1, acks: -1, timeoutMs: 1000, batch: batch(2, { producerId, producerEpoch: 1, baseSequence: 0 }) })
    expect(resend.ok && resend.value).toMatchObject({ baseOffset: 0, duplicate: true })
  })

  it('rejects credit and unsubscribe for unknown subscriptions, and more subscriptions than allowed', async () => {
    const r = await conn.request(exchanges.credit, { subscriptionId: 12345, bytes: 10 })
    expect(!r.ok && r.error.errorName).toBe('UNKNOWN_SUBSCRIPTION')
    const u = await conn.request(exchanges.unsubscribe, { subscriptionId: 12345 })
    expect(!u.ok && u.error.errorName).toBe('UNKNOWN_SUBSCRIPTION')
  })
})

describe('a subscriber that never reads', () => {
  it('is paused at the buffer limit, then closed with SLOW_CONSUMER, and the broker keeps serving', async () => {
    const slowFx = await startBrokerFixture({ maxBufferedBytes: 64 * 1024, slowConsumerTimeoutMs: 300, maxPushBytes: 16 * 1024 })
    try {
      const producer = await RawConnection.open(slowFx.running.url)
      await producer.request(exchanges.createTopic, { name: 's', partitions: 1 })
      const slow = await RawConnection.open(slowFx.running.url)
      const sub = await slow.request(exchanges.subscribe, { topic: 's', partition: 0, offset: -2, creditBytes: 64 * 1024 * 1024 })
      expect(sub.ok).toBe(true)
      // Stop reading from the socket: the broker's send buffer fills up.
      ;(slow.ws as unknown as { _socket: { pause(): void } })._socket.pause()
      const value = new Uint8Array(3000)
      let closedBy: number | null = null
      slowFx.running.broker.logger.info({}, 'filling')
      for (let i = 0; i < 400 && closedBy === null; i++) {
        const b = encodeRecordBatch({ records: Array.from({ length: 10 }, () => ({ key: null, value, headers: [], timestamp: 1 })) })
        const r = await producer.request(exchanges.produce, { topic: 's', partition: 0, acks: 1, timeoutMs: 5000, batch: b })
        expect(r.ok).toBe(true)
        if (slowFx.running.broker.connectionCount < 2) closedBy = 1
      }
      ;(slow.ws as unknown as { _socket: { resume(): void } })._socket.resume()
      const closed = await slow.waitClosed(10_000)
      expect(closed.code).toBe(CloseCodes.SLOW_CONSUMER)
      expect((await producer.request(exchanges.ping, {})).ok).toBe(true)
      producer.close()
    } finally {
      await slowFx.dispose()
    }
  })
})

describe('limits', () => {
  it('answers requests beyond maxInFlightRequestsPerConnection with a retriable TOO_MANY_REQUESTS', async () => {
    const small = await startBrokerFixture({ maxInFlightRequestsPerConnection: 2 })
    try {
      const c = await RawConnection.open(small.running.url)
      expect((await c.request(exchanges.createTopic, { name: 'lp', partitions: 1 })).ok).toBe(true)
      const longPoll = () => c.request(exchanges.fetch, { topic: 'lp', partition: 0, offset: 0, maxBytes: 1000, maxWaitMs: 400, minBytes: 1 })
      const parked = [longPoll(), longPoll()]
      const third = await longPoll()
      expect(!third.ok && third.error.errorName).toBe('TOO_MANY_REQUESTS')
      expect(!third.ok && third.error.retriable).toBe(true)
      for (const r of await Promise.all(parked)) expect(r.ok).toBe(true)
      expect((await c.request(exchanges.ping, {})).ok).toBe(true)
      c.close()
    } finally {
      await small.dispose()
    }
  })

  it('refuses connections beyond maxConnections with 1013', async () => {
    const small = await startBrokerFixture({ maxConnections: 1 })
    try {
      const a = await RawConnection.open(small.running.url)
      const ws = new WebSocket(`${small.running.url}/ws`)
      const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)))
      expect(code).toBe(CloseCodes.TRY_AGAIN_LATER)
      a.close()
      await until(() => small.running.broker.connectionCount === 0, { what: 'the slot to free' })
    } finally {
      await small.dispose()
    }
  })
})
