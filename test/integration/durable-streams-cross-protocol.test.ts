/**
 * The Durable Streams HTTP protocol and the WebSocket protocol over the same log, on a real broker: records written
 * by one are read by the other at the same offsets with the same values; HTTP and WebSocket idempotent producers
 * share the broker's dedupe rule without colliding; a long poll is woken by a WebSocket produce (and counted in samsa_stream_waiting_reads while it waits); a stream's content
 * type, closure and producer dedupe survive a broker restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, type ConsumerRecord, type SamsaClient } from '@samsa/client-browser'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'
import { encodeRecordBatch, exchanges } from '../../packages/shared/src/index.js'
import { RawConnection } from '../support/raw-connection.js'
import { drainPartition } from '../support/raw-log.js'
import { until } from '../support/until.js'

let fx: BrokerFixture
const clients: SamsaClient[] = []
const url = (path: string) => `${fx.running.httpUrl}/v1/stream/${path}`
const offset = (n: number) => `0000000000000000_${String(n).padStart(16, '0')}`

function client(): SamsaClient {
  const c = createClient({ brokers: [fx.running.url], clientId: 'ds-cross', WebSocket: WebSocket as never })
  clients.push(c)
  return c
}

async function drain(topic: string) {
  const conn = await RawConnection.open(fx.running.url)
  try {
    return await drainPartition(conn, topic, 0)
  } finally {
    conn.close()
  }
}

async function readN(c: SamsaClient, topic: string, n: number): Promise<ConsumerRecord[]> {
  const seen: ConsumerRecord[] = []
  const sub = c.consumer().subscribe(topic, { from: 'earliest' })
  for await (const r of sub) {
    seen.push(r)
    if (seen.length === n) break
  }
  return seen
}

beforeAll(async () => {
  fx = await startBrokerFixture({ log: { fsync: 'never' } })
})
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()))
  await fx?.dispose()
})

describe('Durable Streams beside the WebSocket protocol', () => {
  it('records appended over HTTP are read over WebSocket at the offsets HTTP reported, with the same values', async () => {
    expect((await fetch(url('http-notes'), { method: 'PUT', headers: { 'content-type': 'text/plain' } })).status).toBe(201)
    const next: string[] = []
    for (const body of ['one', 'two', 'three']) {
      const r = await fetch(url('http-notes'), { method: 'POST', headers: { 'content-type': 'text/plain' }, body })
      expect(r.status).toBe(204)
      next.push(r.headers.get('stream-next-offset')!)
    }
    expect(next).toEqual([offset(1), offset(2), offset(3)])
    const seen = await readN(client(), 'http-notes', 3)
    expect(seen.map((r) => [r.partition, r.offset, r.text()])).toEqual([[0, 0, 'one'], [0, 1, 'two'], [0, 2, 'three']])
  })

  it('records sent over WebSocket are read over HTTP from any offset, and a long poll at the tail is woken by a WebSocket send', async () => {
    const c = client()
    await c.admin.createTopic('ws-notes', { partitions: 1 })
    const producer = c.producer({ acks: 'all' })
    const sent = await producer.send('ws-notes', [{ value: 'a' }, { value: 'b' }, { value: 'c' }])
    expect(sent.map((m) => m.offset)).toEqual([0, 1, 2])
    const all = await fetch(`${url('ws-notes')}?offset=-1`)
    expect(all.headers.get('content-type')).toBe('application/octet-stream')
    expect(await all.text()).toBe('abc')
    expect(all.headers.get('stream-next-offset')).toBe(offset(3))
    const fromOne = await fetch(`${url('ws-notes')}?offset=${offset(1)}`)
    expect(await fromOne.text()).toBe('bc')
    const poll = fetch(`${url('ws-notes')}?offset=${offset(3)}&live=long-poll`)
    const metrics = async () => (await fetch(`${fx.running.httpUrl}/metrics`)).text()
    await until(async () => (await metrics()).includes('\nsamsa_stream_waiting_reads 1\n'), { what: 'the long poll to wait' })
    const [d] = await producer.send('ws-notes', [{ value: 'd' }])
    const woken = await poll
    expect(woken.status).toBe(200)
    expect(await woken.text()).toBe('d')
    expect(woken.headers.get('stream-next-offset')).toBe(offset(d!.offset + 1))
    expect(await metrics()).toContain('\nsamsa_stream_waiting_reads 0\n')
  })

  it('an HTTP producer and a WebSocket producer on one stream never collide; an HTTP resend is deduplicated by the broker', async () => {
    await fetch(url('mixed'), { method: 'PUT', headers: { 'content-type': 'text/plain' } })
    const post = (body: string, seq: number) =>
      fetch(url('mixed'), { method: 'POST', headers: { 'content-type': 'text/plain', 'producer-id': 'writer-1', 'producer-epoch': '0', 'producer-seq': String(seq) }, body })
    expect((await post('h0', 0)).status).toBe(200)
    await client().producer({ acks: 'all' }).send('mixed', [{ value: 'w0' }, { value: 'w1' }])
    expect((await post('h1', 1)).status).toBe(200)
    const resent = await post('h1', 1)
    expect(resent.status).toBe(204)
    expect(resent.headers.get('producer-seq')).toBe('1')
    expect((await drain('mixed')).map((r) => r.value)).toEqual(['h0', 'w0', 'w1', 'h1'])
  })

  it('SSE resumes from Last-Event-ID without a gap or a duplicate, and a client that goes frees its waiting slot', async () => {
    await fetch(url('sse-notes'), { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'a' })
    const metrics = async () => (await fetch(`${fx.running.httpUrl}/metrics`)).text()
    const open = async (lastEventId: string | null) => {
      const ac = new AbortController()
      const r = await fetch(`${url('sse-notes')}?offset=-1&live=sse`, { signal: ac.signal, headers: lastEventId ? { 'last-event-id': lastEventId } : {} })
      const reader = r.body!.getReader()
      let text = ''
      const td = new TextDecoder()
      /** Reads until `n` control events have arrived; answers the data payloads and the last event id. */
      const events = async (n: number) => {
        while ((text.match(/event: control/g) ?? []).length < n) text += td.decode((await reader.read()).value)
        const data = [...text.matchAll(/event: data\ndata:(.*)\n/g)].map((m) => m[1])
        const ids = [...text.matchAll(/\nid: (.*)\n/g)].map((m) => m[1])
        return { data, lastId: ids.at(-1)! }
      }
      return { events, close: () => ac.abort() }
    }
    const first = await open(null)
    const seen = await first.events(1)
    expect(seen).toEqual({ data: ['a'], lastId: offset(1) })
    await until(async () => (await metrics()).includes('\nsamsa_stream_waiting_reads 1\n'), { what: 'the SSE read to wait' })
    first.close()
    await until(async () => (await metrics()).includes('\nsamsa_stream_waiting_reads 0\n'), { what: 'the closed SSE read to free its slot' })
    await client().producer({ acks: 'all' }).send('sse-notes', [{ value: 'b' }, { value: 'c' }])
    const resumed = await open(seen.lastId)
    expect(await resumed.events(1)).toEqual({ data: ['bc'], lastId: offset(3) })
    resumed.close()
  })

  it("a stream's content type, closure and producer dedupe survive a broker restart", async () => {
    const headers = { 'content-type': 'application/json', 'producer-id': 'p', 'producer-epoch': '2', 'producer-seq': '0' }
    expect((await fetch(url('durable-json'), { method: 'PUT', headers: { 'content-type': 'application/json', 'stream-ttl': '3600' } })).status).toBe(201)
    expect((await fetch(url('durable-json'), { method: 'POST', headers, body: '[{"n":1},{"n":2}]' })).status).toBe(200)
    expect((await fetch(url('durable-json'), { method: 'POST', headers: { ...headers, 'producer-seq': '1', 'stream-closed': 'true' }, body: '{"n":3}' })).status).toBe(200)
    await fx.restart()
    const head = await fetch(url('durable-json'), { method: 'HEAD' })
    expect(head.headers.get('content-type')).toBe('application/json')
    expect(head.headers.get('stream-closed')).toBe('true')
    expect(head.headers.get('stream-ttl')).toBe('3600')
    const read = await fetch(`${url('durable-json')}?offset=-1`)
    expect(await read.json()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }])
    const stale = await fetch(url('durable-json'), { method: 'POST', headers: { ...headers, 'producer-epoch': '1' }, body: '{"n":0}' })
    expect(stale.status).toBe(403)
    expect(stale.headers.get('producer-epoch')).toBe('2')
    const resentClose = await fetch(url('durable-json'), { method: 'POST', headers: { ...headers, 'producer-seq': '1', 'stream-closed': 'true' }, body: '{"n":3}' })
    expect(resentClose.status).toBe(204)
  })

  it('a WebSocket producer cannot append to a closed stream, before or after a restart; nothing is appended', async () => {
    const raw = async () => RawConnection.open(fx.running.url)
    const batch = encodeRecordBatch({ records: [{ key: null, value: new TextEncoder().encode('late'), headers: [], timestamp: 1_700_000_000_000 }] })
    expect((await fetch(url('closed-ws'), { method: 'PUT', headers: { 'content-type': 'text/plain', 'stream-closed': 'true' }, body: 'final' })).status).toBe(201)
    for (const restart of [false, true]) {
      if (restart) await fx.restart()
      const conn = await raw()
      try {
        const r = await conn.request(exchanges.produce, { topic: 'closed-ws', partition: 0, acks: -1, timeoutMs: 5_000, batch })
        expect(r.ok).toBe(false)
        if (!r.ok) expect(r.error).toMatchObject({ errorName: 'POLICY_VIOLATION', message: expect.stringContaining('closed') })
      } finally {
        conn.close()
      }
      expect((await drain('closed-ws')).map((x) => x.value)).toEqual(['final'])
    }
  })
})
