import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { FakeBroker } from '../testing/fake-broker.js'
import { createConsumerClient } from './consumer.js'
import { createClient as createCoreClient } from './core.js'
import { indexedDbStorage } from './indexeddb.js'
import { createProducerClient } from './producer.js'
import { GroupConsumer, createGroupConsumerClient, createClient as createGroupClient } from './groups.js'
import { Consumer } from '../consumer/consumer.js'
import { memoryStorage } from '../storage/memory-storage.js'

describe('entry points: producer-only, consumer-only and core clients', () => {
  const closers: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close()
  })
  const broker = async () => {
    const b = await FakeBroker.start()
    closers.push(() => b.close())
    return b
  }

  it('a producer client sends and a consumer client reads what it sent; each has only its part', async () => {
    const b = await broker()
    const producing = createProducerClient({ brokers: b.url, WebSocket })
    const consuming = createConsumerClient({ brokers: b.url, WebSocket })
    closers.push(() => producing.close(), () => consuming.close())
    expect('consumer' in producing).toBe(false)
    expect('producer' in consuming).toBe(false)
    await producing.admin.createTopic('t', { partitions: 1 })
    const [meta] = await producing.producer().send('t', [{ key: 'k', value: 'hi' }])
    expect(meta).toEqual({ topic: 't', partition: 0, offset: 0 })
    for await (const r of consuming.consumer().subscribe('t', { from: 'earliest' })) {
      expect(r.text()).toBe('hi')
      break
    }
  })

  it('close() of a producer client flushes its producers and reports nothing unacknowledged', async () => {
    const b = await broker()
    const client = createProducerClient({ brokers: b.url, WebSocket })
    await client.admin.createTopic('t', { partitions: 1 })
    const p = client.producer({ lingerMs: 50 })
    const sent = p.send('t', [{ value: 'x' }])
    expect(await client.close()).toEqual({ unacknowledged: { batches: 0, records: 0 } })
    await expect(sent).resolves.toHaveLength(1)
  })

  it('the core client has both parts and stores positions in the storage it is given', async () => {
    const b = await broker()
    const storage = memoryStorage()
    const client = createCoreClient({ brokers: b.url, WebSocket, storage })
    closers.push(() => client.close())
    await client.admin.createTopic('t', { partitions: 1 })
    await client.producer().send('t', [{ value: 'a' }])
    const sub = client.consumer({ id: 'c' }).subscribe('t', { from: 'stored', commit: 'manual' })
    for await (const r of sub) {
      expect(r.text()).toBe('a')
      await sub.commit()
      break
    }
    expect(await storage.offsets.get('c', 't', 0)).toEqual(expect.objectContaining({ offset: 1 }))
  })

  it('the groups entry: consumer({ groupId }) is a group member, consumer() a plain one; the other entries have no groups', async () => {
    const b = await broker()
    const full = createGroupClient({ brokers: b.url, WebSocket, storage: memoryStorage() })
    const consuming = createGroupConsumerClient({ brokers: b.url, WebSocket })
    closers.push(() => full.close(), () => consuming.close())
    expect(full.consumer({ groupId: 'g', lifecycle: null })).toBeInstanceOf(GroupConsumer)
    expect(full.consumer()).toBeInstanceOf(Consumer)
    expect(consuming.consumer({ groupId: 'g', lifecycle: null }).groupId).toBe('g')
    expect('producer' in consuming).toBe(false)
    expect(() => full.consumer({ groupId: '', lifecycle: null })).toThrow(/options.groupId must be a string of 1..249 characters/)
    const core = createCoreClient({ brokers: b.url, WebSocket })
    closers.push(() => core.close())
    expect(() => core.consumer({ groupId: 'g' } as never)).toThrow(/@samsa\/client-browser\/groups/)
  })

  it('the indexeddb entry point exports the IndexedDB storage', () => {
    expect(typeof indexedDbStorage).toBe('function')
  })
})
