/**
 * The runtime conformance suite: one single broker per runtime (Node, Bun, Deno; launchers.ts), black-box over
 * WebSocket with the SDK (running in Node as the client) and, for malformed input, raw frames. Every runtime must
 * give the same answers: topic creation, produce with acks, consumption from earliest and from an offset, an
 * idempotent resend after a cut connection written once, bad frames and bad topics answered with the same errors and
 * close codes, and records kept across a restart on the same data directory.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { ApiKeys, ByteWriter, CloseCodes, MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, decodeResponseFrame, exchanges } from '@samsa/shared'
import { createClient, type ConsumerRecord, type SamsaClient } from '@samsa/client-browser'
import { RawConnection } from '../support/raw-connection.js'
import { startTcpProxy } from '../support/tcp-proxy.js'
import { BROKER_RUNTIMES, launchBroker, MAX_CONNECTIONS_PER_IP, type LaunchedBroker } from './launchers.js'

/** The first `count` records of a subscription (closed afterwards), within `timeoutMs`. */
async function read(client: SamsaClient, topic: string, from: 'earliest' | { offset: number }, count: number, timeoutMs = 10_000, creditWindowBytes?: number): Promise<ConsumerRecord[]> {
  const sub = client.consumer().subscribe(topic, { from, ...(creditWindowBytes !== undefined ? { creditWindowBytes } : {}) })
  const out: ConsumerRecord[] = []
  const timer = setTimeout(() => sub.close(), timeoutMs)
  try {
    for await (const r of sub) {
      out.push(r)
      if (out.length >= count) break
    }
  } finally {
    clearTimeout(timer)
    sub.close()
  }
  if (out.length < count) throw new Error(`read ${out.length} of ${count} records of ${topic} within ${timeoutMs} ms`)
  return out
}

describe.each(BROKER_RUNTIMES)('conformance on %s', (runtime) => {
  let dataDir: string
  let broker: LaunchedBroker
  const clients: SamsaClient[] = []
  const client = (url = broker.url) => {
    const c = createClient({ brokers: [url], clientId: `conformance-${runtime}`, WebSocket: WebSocket as never, reconnectBackoff: { baseMs: 20, capMs: 200 } })
    clients.push(c)
    return c
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), `samsa-${runtime}-`))
    broker = await launchBroker(runtime, dataDir)
  })

  afterAll(async () => {
    for (const c of clients) await Promise.race([c.close().catch(() => {}), new Promise((r) => setTimeout(r, 3_000).unref())])
    broker?.kill()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('creates a topic, produces with acks and consumes from earliest and from an offset', async () => {
    const c = client()
    await c.admin.createTopic('orders', { partitions: 1 })
    const producer = c.producer({ acks: 'all' })
    const metas = await producer.send('orders', Array.from({ length: 5 }, (_, i) => ({ value: `v${i}` })))
    expect(metas.map((m) => m.offset)).toEqual([0, 1, 2, 3, 4])
    expect((await read(c, 'orders', 'earliest', 5)).map((r) => r.text())).toEqual(['v0', 'v1', 'v2', 'v3', 'v4'])
    expect((await read(c, 'orders', { offset: 3 }, 2)).map((r) => [r.offset, r.text()])).toEqual([[3, 'v3'], [4, 'v4']])
  })

  it('delivers a topic many times the credit window in order, as the consumer grants credit', async () => {
    const c = client()
    await c.admin.createTopic('credit', { partitions: 1 })
    const value = 'x'.repeat(200)
    for (let i = 0; i < 4; i++) await c.producer({ acks: 'all' }).send('credit', Array.from({ length: 250 }, (_, j) => ({ value: `${i * 250 + j}:${value}` })))
    const records = await read(c, 'credit', 'earliest', 1000, 15_000, 4096)
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 1000 }, (_, i) => i))
  })

  it('writes an idempotent resend after a cut connection once', async () => {
    const direct = client()
    await direct.admin.createTopic('once', { partitions: 1 })
    const proxy = await startTcpProxy(Number(new URL(broker.url).port))
    try {
      const producer = client(proxy.url).producer({ acks: 'all' })
      await producer.send('once', [{ value: 'warm-up' }])
      proxy.dropReplies(true)
      const sent = producer.send('once', [{ value: 'exactly-once' }])
      // The broker has appended it (a direct reader sees it) while the producer never got the answer.
      await read(direct, 'once', { offset: 1 }, 1)
      proxy.dropReplies(false)
      proxy.cut()
      const [meta] = await sent
      expect(meta!.offset).toBe(1)
      await producer.send('once', [{ value: 'after' }])
      expect((await read(direct, 'once', 'earliest', 3)).map((r) => r.text())).toEqual(['warm-up', 'exactly-once', 'after'])
    } finally {
      await proxy.close()
    }
  })

  it('answers a bad frame body with INVALID_REQUEST and closes a frame shorter than its header with 1002', async () => {
    const conn = await RawConnection.open(broker.url)
    try {
      const frame = new ByteWriter().u16(ApiKeys.FETCH).u16(conn.version).u32(conn.nextCorrelationId()).u32(0xffffffff).u8(7).finish()
      expect(decodeResponseFrame(await conn.sendRaw(frame)).error?.errorName).toBe('INVALID_REQUEST')
      conn.ws.send(new Uint8Array([1, 2, 3]))
      expect((await conn.waitClosed()).code).toBe(CloseCodes.PROTOCOL_ERROR)
    } finally {
      conn.close()
    }
  })

  it('closes a connection whose frame is over maxFrameBytes (default 2 MiB) with 1009', async () => {
    const conn = await RawConnection.open(broker.url)
    try {
      conn.ws.send(new Uint8Array(2 * 1024 * 1024 + 1))
      expect((await conn.waitClosed()).code).toBe(CloseCodes.MESSAGE_TOO_BIG)
    } finally {
      conn.close()
    }
  })

  it('refuses a bad topic name and an unknown topic with their errors', async () => {
    const c = client()
    await expect(c.admin.createTopic('bad topic/name', { partitions: 1 })).rejects.toMatchObject({ errorName: 'INVALID_TOPIC_EXCEPTION' })
    await expect(c.producer({ acks: 'all' }).send('no-such-topic', [{ value: 'x' }])).rejects.toMatchObject({ errorName: 'UNKNOWN_TOPIC_OR_PARTITION' })
  })

  it('refuses a WebSocket upgrade from a foreign origin with 403 before the handshake', async () => {
    const ws = new WebSocket(`${broker.url}/ws`, { origin: 'https://evil.example' })
    const status = await new Promise<number | string>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      ws.once('open', () => resolve('opened'))
      ws.once('error', (e) => resolve(e.message))
    })
    ws.terminate()
    expect(status).toBe(403)
  })

  it('applies the per-address connection quota (the runtime reports the client address)', async () => {
    const open: RawConnection[] = []
    let refused: { code: number; reason: string } | null = null
    try {
      for (let i = 0; i <= MAX_CONNECTIONS_PER_IP && !refused; i++) {
        const conn = await RawConnection.open(broker.url, { hello: false })
        open.push(conn)
        const r = await conn.request(exchanges.hello, { clientId: 'quota', minVersion: MIN_PROTOCOL_VERSION, maxVersion: MAX_PROTOCOL_VERSION }).catch(() => null)
        if (!r?.ok) refused = await conn.waitClosed()
      }
      expect(refused?.code).toBe(CloseCodes.QUOTA_EXCEEDED)
    } finally {
      for (const c of open) c.close()
    }
  })

  it('refuses to serve a non-loopback address with no authentication, in one line', async () => {
    const dir = await mkdtemp(join(tmpdir(), `samsa-${runtime}-open-`))
    try {
      await expect(launchBroker(runtime, dir, ['--host', '0.0.0.0'])).rejects.toThrow(/could not start .*refusing to serve 0\.0\.0\.0 with no authentication/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  // workerd: a Durable Object has no shutdown hook (the platform ends it), so there a stopped runtime must end the
  // connection at once rather than leave it hanging: the client sees 1006, which the SDK treats as a reason to reconnect.
  it('closes with the same codes: 1013 over maxConnections, 1001 at shutdown (workerd: closed at once)', async () => {
    const dir = await mkdtemp(join(tmpdir(), `samsa-${runtime}-limits-`))
    const small = await launchBroker(runtime, dir, ['--max-connections', '1'])
    try {
      const first = await RawConnection.open(small.url)
      const second = await RawConnection.open(small.url, { hello: false })
      expect((await second.waitClosed()).code).toBe(CloseCodes.TRY_AGAIN_LATER)
      const closed = first.waitClosed(15_000)
      await small.stop()
      expect((await closed).code).toBe(runtime === 'workerd' ? 1006 : CloseCodes.GOING_AWAY)
    } finally {
      small.kill()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('keeps acknowledged records across a restart on the same data directory', async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => {})
    await broker.stop()
    broker = await launchBroker(runtime, dataDir)
    const c = client()
    expect((await read(c, 'orders', 'earliest', 5)).map((r) => r.text())).toEqual(['v0', 'v1', 'v2', 'v3', 'v4'])
    const [meta] = await c.producer({ acks: 'all' }).send('orders', [{ value: 'v5' }])
    expect(meta!.offset).toBe(5)
  })
})
