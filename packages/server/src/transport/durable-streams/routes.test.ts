import { Hono } from 'hono'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SamsaError } from '@samsa/shared'
import { Broker } from '../../broker/broker.js'
import { brokerConfig } from '../../broker/broker-config.js'
import { silentLogger } from '../../clock.js'
import { MemoryLogStorage } from '../../log/memory-log-storage.js'
import { ManualClock } from '../../log/testing/manual-clock.js'
import type { Principal } from '../../security/principal.js'
import { createApp } from '../app.js'
import { defaultDurableStreamsOptions, mountDurableStreams, type DurableStreamsOptions, type StreamOperation } from './routes.js'

/** Yields to the event loop until `probe` holds (at most 1000 turns): for conditions reached by in-process I/O. */
async function until(probe: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !probe(); i++) await new Promise((r) => setImmediate(r))
  expect(probe()).toBe(true)
}

let clock: ManualClock
let broker: Broker

beforeEach(async () => {
  clock = new ManualClock()
  broker = await Broker.start(brokerConfig(), { storage: new MemoryLogStorage(), clock, logger: silentLogger })
})
afterEach(async () => {
  await broker.shutdown()
})

function app(streams: Partial<DurableStreamsOptions> = {}) {
  return createApp({ broker, metricsText: async () => ({ contentType: 'text/plain', body: '' }), staticAsset: async () => null, sdkFile: async () => null, streams })
}

describe('Durable Streams routes', () => {
  it('ask the authorizer for create, write, read and delete with the principal of the request, and answer its refusal with 403', async () => {
    const asked: string[] = []
    const alice: Principal = { kind: 'user', name: 'alice', claims: {} }
    const a = app({
      principalOf: async (c) => (c.req.header('authorization') === 'Bearer alice' ? alice : { kind: 'anonymous', name: 'anonymous', claims: {} }),
      authorize: async (p: Principal, op: StreamOperation, topic: string) => {
        asked.push(`${p.name} ${op} ${topic}`)
        if (p.name !== 'alice') throw new SamsaError('TOPIC_AUTHORIZATION_FAILED', `${p.name} may not ${op} ${topic}`)
      },
    })
    const auth = { authorization: 'Bearer alice' }
    expect((await a.request('/v1/stream/notes', { method: 'PUT', headers: { ...auth, 'content-type': 'text/plain' } })).status).toBe(201)
    expect((await a.request('/v1/stream/notes', { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'hi' })).status).toBe(204)
    expect(await (await a.request('/v1/stream/notes?offset=-1', { headers: auth })).text()).toBe('hi')
    const refused = await a.request('/v1/stream/notes?offset=-1')
    expect(refused.status).toBe(403)
    expect(await refused.text()).toContain('anonymous may not read notes')
    expect((await a.request('/v1/stream/notes', { method: 'DELETE', headers: auth })).status).toBe(204)
    expect(asked).toEqual(['alice create notes', 'alice write notes', 'alice read notes', 'anonymous read notes', 'alice delete notes'])
  })

  it('allow everything when no authorizer is given', async () => {
    const a = app()
    expect((await a.request('/v1/stream/open', { method: 'PUT' })).status).toBe(201)
    expect((await a.request('/v1/stream/open', { method: 'DELETE' })).status).toBe(204)
  })

  it('serve under the configured prefix only', async () => {
    const a = app({ prefix: '/streams/' })
    expect((await a.request('/streams/notes', { method: 'PUT' })).status).toBe(201)
    expect((await a.request('/v1/stream/notes', { method: 'HEAD' })).status).toBe(404)
  })

  it('answer a stream as gone once its TTL passes without a read or write, and delete its topic', async () => {
    const a = app()
    expect((await a.request('/v1/stream/short', { method: 'PUT', headers: { 'stream-ttl': '60' } })).status).toBe(201)
    clock.advance(59_000)
    expect((await a.request('/v1/stream/short?offset=-1')).status).toBe(200) // a read slides the TTL
    clock.advance(59_000)
    expect((await a.request('/v1/stream/short', { method: 'HEAD' })).status).toBe(200) // HEAD does not
    clock.advance(1_000)
    expect((await a.request('/v1/stream/short', { method: 'HEAD' })).status).toBe(404)
    expect(broker.listTopics().map((t) => t.name)).not.toContain('short')
  })

  it('refuse a long poll beyond maxWaitingReads with 503, and take it again once the waiting one ends', async () => {
    const a = new Hono()
    const handle = mountDurableStreams(a, broker, { ...defaultDurableStreamsOptions, maxWaitingReads: 1, longPollTimeoutMs: 1_000 })
    await a.request('/v1/stream/tail', { method: 'PUT', headers: { 'content-type': 'text/plain' } })
    const tail = (await a.request('/v1/stream/tail', { method: 'HEAD' })).headers.get('stream-next-offset')!
    const first = a.request(`/v1/stream/tail?offset=${tail}&live=long-poll`)
    await until(() => handle.waitingReads.count === 1)
    const second = await a.request(`/v1/stream/tail?offset=${tail}&live=long-poll`)
    expect(second.status).toBe(503)
    expect(second.headers.get('retry-after')).toBe('1')
    await a.request('/v1/stream/tail', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'woken' })
    const woken = await first
    expect(woken.status).toBe(200)
    expect(await woken.text()).toBe('woken')
    expect(handle.waitingReads.count).toBe(0)
    const third = a.request(`/v1/stream/tail?offset=${woken.headers.get('stream-next-offset')}&live=long-poll`)
    await until(() => handle.waitingReads.count === 1)
    clock.advance(1_000)
    expect((await third).status).toBe(204)
  })

  it('refuse a body larger than maxRecordBytes with 413 before reading it whole', async () => {
    await broker.shutdown()
    broker = await Broker.start(brokerConfig({ maxRecordBytes: 64, maxBatchBytes: 128 }), { storage: new MemoryLogStorage(), clock, logger: silentLogger })
    const a = app()
    await a.request('/v1/stream/small', { method: 'PUT' })
    const big = await a.request('/v1/stream/small', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(65) })
    expect(big.status).toBe(413)
    expect(big.headers.get('x-content-type-options')).toBe('nosniff')
    expect((await a.request('/v1/stream/small', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(16) })).status).toBe(204)
  })

  it('write nothing after the final append of a close, whatever appends race with it; a Stream-Seq is taken once', async () => {
    const a = app()
    await a.request('/v1/stream/race', { method: 'PUT', headers: { 'content-type': 'text/plain' } })
    const post = (body: string, headers: Record<string, string> = {}) => a.request('/v1/stream/race', { method: 'POST', headers: { 'content-type': 'text/plain', ...headers }, body })
    const before = Array.from({ length: 20 }, (_, i) => post(`a${i}.`))
    const close = post('last.', { 'stream-closed': 'true' })
    const after = Array.from({ length: 20 }, (_, i) => post(`b${i}.`))
    const answers = await Promise.all([...before, close, ...after])
    const accepted = answers.filter((r) => r.status === 204).length
    expect(answers.every((r) => r.status === 204 || r.status === 409)).toBe(true)
    const body = await (await a.request('/v1/stream/race?offset=-1')).text()
    expect(body.endsWith('last.')).toBe(true)
    expect(body.split('.').filter(Boolean)).toHaveLength(accepted)

    await a.request('/v1/stream/seq', { method: 'PUT', headers: { 'content-type': 'text/plain' } })
    const seqs = await Promise.all(Array.from({ length: 5 }, () => a.request('/v1/stream/seq', { method: 'POST', headers: { 'content-type': 'text/plain', 'stream-seq': '001' }, body: 'x' })))
    expect(seqs.map((r) => r.status).sort()).toEqual([204, 409, 409, 409, 409])
  })

  it('answer concurrent creates of one stream 201 once and 200 (same config) or 409 (another) to the rest', async () => {
    const a = app()
    const put = (type: string) => a.request('/v1/stream/both', { method: 'PUT', headers: { 'content-type': type } })
    const answers = await Promise.all([put('text/plain'), put('text/plain'), put('text/plain'), put('application/json')])
    const statuses = answers.map((r) => r.status)
    expect(statuses.filter((x) => x === 201)).toHaveLength(1)
    const winner = answers.findIndex((r) => r.status === 201) === 3 ? 'application/json' : 'text/plain'
    expect(statuses.filter((x) => x === 200)).toHaveLength(winner === 'text/plain' ? 2 : 0)
    expect(statuses.filter((x) => x === 409)).toHaveLength(winner === 'text/plain' ? 1 : 3)
  })

  it('name no topic of the broker\'s own (__ names), so the stream catalog cannot be read or written over HTTP', async () => {
    const a = app()
    await a.request('/v1/stream/made', { method: 'PUT' })
    expect(broker.listTopics().map((t) => t.name)).toContain('__durable_streams')
    expect((await a.request('/v1/stream/__durable_streams?offset=-1')).status).toBe(404)
    expect((await a.request('/v1/stream/__durable_streams', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: 'x' })).status).toBe(404)
  })
})
