/** Bad arguments to the producer reject with a TypeError and change nothing; AbortSignal on send() and flush(). */
import { ApiKeys } from '@samsa/shared'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { AbortError } from '../client-errors.js'
import { createClient, type SamsaClient } from '../client.js'
import { memoryStorage } from '../storage/memory-storage.js'
import { FakeBroker } from '../testing/fake-broker.js'
import { until } from '../testing/until.js'

const text = (b: Uint8Array | null) => new TextDecoder().decode(b!)

describe('producer arguments and abort signals', () => {
  let broker: FakeBroker
  let client: SamsaClient
  beforeEach(async () => {
    broker = await FakeBroker.start()
    broker.createTopic('t', 1)
    client = createClient({ brokers: broker.url, clientId: 'args', WebSocket, reconnectBackoff: { baseMs: 5, capMs: 20 } })
  })
  afterEach(async () => {
    await client.close()
    await broker.close()
  })

  it("the issue's calls reject with a TypeError, leave pending() and the producer as they were, and close() still settles", async () => {
    const producer = client.producer()
    await producer.send('t', [{ value: 'first' }])
    const p = producer as unknown as { send(...args: unknown[]): Promise<unknown> }
    const calls = [() => p.send('t', { value: 'x' }), () => p.send({ topic: 't', messages: [{ value: 'x' }] }), () => p.send('t', [{ value: { a: 1 } }])]
    for (const call of calls) {
      let result!: Promise<unknown>
      expect(() => (result = call())).not.toThrow()
      const error = await result.then(() => null, (e: unknown) => e)
      expect(error).toBeInstanceOf(TypeError)
      expect((error as Error).message).toMatch(/^send\(topic, records\): (records|topic|records\[0\]\.value) must be /)
      expect(producer.pending()).toEqual({ batches: 0, records: 0 })
    }
    expect(await producer.send('t', [{ value: 'second' }])).toEqual([{ topic: 't', partition: 0, offset: 1 }])
    expect(broker.partition('t', 0).records().map((r) => text(r.value))).toEqual(['first', 'second'])
  })

  it('admin calls and flush reject bad arguments instead of throwing', async () => {
    const admin = client.admin as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>
    for (const [name, args, message] of [
      ['createTopic', [{ name: 'x' }], /createTopic\(name, options\): name must be a non-empty string, got an object/],
      ['createTopic', ['x', { partitions: '3' }], /options\.partitions must be an integer ≥ 1, got the string "3"/],
      ['listOffsets', ['t', 0], /query must be 'earliest', 'latest' or \{ timestamp \}/],
      ['listOffsets', ['t', -1, 'latest'], /partition must be an integer ≥ 0/],
      ['deleteTopic', [], /deleteTopic\(name\): name must be a non-empty string, got undefined/],
    ] as const) {
      let result!: Promise<unknown>
      expect(() => (result = admin[name]!(...args))).not.toThrow()
      await expect(result).rejects.toThrow(message)
    }
    await expect(client.producer().flush({ signal: 'soon' } as never)).rejects.toThrow(/flush\(options\): options\.signal must be an AbortSignal/)
    expect(() => client.producer({ acks: 2 } as never)).toThrow(TypeError)
    expect(() => client.consumer({ creditWindowBytes: -1 })).toThrow(/consumer\(options\): options\.creditWindowBytes must be an integer ≥ 1/)
    await expect(client.connect({ timeoutMs: 'soon' } as never)).rejects.toThrow(TypeError)
    await expect(client.admin.listOffsets('t', 0, 'latest')).resolves.toMatchObject({ offset: 0 })
  })

  it('a send aborted before its records are batched rejects at once, drops them and sends nothing', async () => {
    const producer = client.producer()
    await producer.ready
    broker.unanswered.add(ApiKeys.METADATA) // the send waits for the partition count, before batching
    const controller = new AbortController()
    const sent = producer.send('t', [{ value: 'never' }, { value: 'never either' }], { signal: controller.signal })
    await until(() => broker.requests.some((r) => r.apiKey === 'METADATA'), { what: 'the metadata request' })
    expect(producer.pending().records).toBe(2)
    controller.abort(new Error('user left the page'))
    const error = await sent.then(() => null, (e: unknown) => e)
    expect(error).toBeInstanceOf(AbortError)
    expect(error).toMatchObject({ name: 'AbortError', recordsDropped: true, cause: new Error('user left the page') })
    expect(producer.pending()).toEqual({ batches: 0, records: 0 })
    broker.unanswered.delete(ApiKeys.METADATA)
    broker.dropConnections() // the unanswered metadata request fails over; the client reconnects
    expect(await producer.send('t', [{ value: 'after' }])).toEqual([{ topic: 't', partition: 0, offset: 0 }])
    await producer.flush()
    expect(broker.partition('t', 0).records().map((r) => text(r.value))).toEqual(['after'])
  })

  it('a send aborted while its records wait in the pending store (no connection yet) removes them from it', async () => {
    const storage = memoryStorage()
    const offline = createClient({ brokers: broker.url, clientId: 'offline', WebSocket, storage, reconnectBackoff: { baseMs: 5, capMs: 20 } })
    try {
      broker.unreachable = true
      const producer = offline.producer({ id: 'p' })
      const controller = new AbortController()
      const sent = producer.send('t', [{ value: 'stored, then dropped' }], { signal: controller.signal })
      await until(async () => (await storage.pending.list('p#0')).length === 1, { what: 'the record in the pending store' })
      controller.abort()
      await expect(sent).rejects.toMatchObject({ name: 'AbortError', recordsDropped: true })
      expect(producer.pending()).toEqual({ batches: 0, records: 0 })
      await until(async () => (await storage.pending.list('p#0')).length === 0, { what: 'the pending row removed' })
      broker.unreachable = false
      expect(await producer.send('t', [{ value: 'kept' }])).toEqual([{ topic: 't', partition: 0, offset: 0 }])
      expect(broker.partition('t', 0).records().map((r) => text(r.value))).toEqual(['kept'])
    } finally {
      await offline.close()
      await storage.close()
    }
  })

  it('an already-aborted signal rejects without counting anything', async () => {
    const producer = client.producer()
    await expect(producer.send('t', [{ value: 'x' }], { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError', recordsDropped: true })
    await expect(producer.flush({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    expect(producer.pending()).toEqual({ batches: 0, records: 0 })
  })
})
