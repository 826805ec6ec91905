import 'fake-indexeddb/auto'
import { ApiKeys } from '@samsa/shared'
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, type ClientOptions, type SamsaClient } from '../client.js'
import { indexedDbStorage } from '../storage/indexeddb-storage.js'
import { memoryStorage } from '../storage/memory-storage.js'
import type { ClientStorage, StoredPosition } from '../storage/stores.js'
import { FakeBroker } from '../testing/fake-broker.js'
import { ManualClock } from '../testing/manual-clock.js'
import { until } from '../testing/until.js'
import type { ConsumerRecord } from './consumer-record.js'
import type { Gap, Subscription } from './subscription.js'

/** Wraps a storage, counting OffsetStore.put calls. */
function counting(base: ClientStorage): ClientStorage & { puts: StoredPosition[] } {
  const puts: StoredPosition[] = []
  const offsets = { ...base.offsets, put: (...a: Parameters<ClientStorage['offsets']['put']>) => (puts.push(a[3]), base.offsets.put(...a)) }
  const s: ClientStorage & { puts: StoredPosition[] } = { offsets, outbox: base.outbox, pending: base.pending, producers: base.producers, close: () => base.close(), puts }
  return base.atomic ? { ...s, atomic: base.atomic } : s
}

async function take(sub: AsyncIterable<ConsumerRecord>, n: number): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = []
  for await (const r of sub) {
    out.push(r)
    if (out.length === n) break
  }
  return out
}

describe('stored positions, commits, gaps and process() against the fake broker', () => {
  let broker: FakeBroker
  let clients: SamsaClient[] = []
  beforeEach(async () => {
    broker = await FakeBroker.start()
    clients = []
  })
  afterEach(async () => {
    for (const c of clients) await c.close().catch(() => {})
    await broker.close()
  })
  const client = (storage: ClientStorage, extra: Partial<ClientOptions> = {}) => {
    const c = createClient({ brokers: [broker.url], clientId: 'test', WebSocket, reconnectBackoff: { baseMs: 5, capMs: 20 }, storage, heartbeatIntervalMs: 0, ...extra })
    clients.push(c)
    return c
  }
  /** Produces values one batch each (one send per value) through a client with its own storage. */
  async function produce(topic: string, values: string[]): Promise<void> {
    const p = client(memoryStorage()).producer({ lingerMs: 0 })
    for (const v of values) await p.send(topic, [{ value: v }])
  }
  const range = (from: number, to: number, prefix = 'm') => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`)

  it('resumes at the stored position after a reload (a new client over the same storage); reset applies where nothing is stored', async () => {
    const storage = memoryStorage()
    broker.createTopic('t', 1)
    await produce('t', range(0, 10))
    const a = client(storage)
    const sub = a.consumer({ id: 'reader' }).subscribe('t', { from: 'stored', partitions: [0] })
    const first = await take(sub, 4)
    expect(first.map((r) => r.offset)).toEqual([0, 1, 2, 3])
    // Auto mode: the iterator advanced past 0..2; breaking out leaves offset 3 uncommitted (it may not be processed).
    await sub.closed
    expect(await storage.offsets.get('reader', 't', 0)).toEqual({ offset: 3, leaderEpoch: 0 })
    await a.close()

    const b = client(storage)
    const again = b.consumer({ id: 'reader' }).subscribe('t', { from: 'stored', partitions: [0] })
    expect((await take(again, 1))[0]!.offset).toBe(3)
    // Another consumer id has its own positions; reset 'latest' starts at the log end.
    const other = b.consumer({ id: 'other' }).subscribe('t', { from: 'stored', reset: 'latest', partitions: [0] })
    await until(() => other.position(0) !== null, { what: 'start resolved' })
    expect(other.position(0)).toBe(10)
    const fromStart = b.consumer({ id: 'third' }).subscribe('t', { from: 'stored', partitions: [0] })
    expect((await take(fromStart, 1))[0]!.offset).toBe(0)
  })

  it('auto-commit batches its writes: far fewer store writes than records, at most one per partition per push', async () => {
    const storage = counting(memoryStorage())
    broker.createTopic('t', 1)
    const p = client(memoryStorage()).producer({ lingerMs: 5 })
    await Promise.all(Array.from({ length: 20 }, (_, b) => p.send('t', range(b * 25, b * 25 + 25).map((value) => ({ value })))))
    const c = client(storage)
    const sub = c.consumer().subscribe('t', { from: 'stored' })
    let n = 0
    sub.onRecord(() => void n++)
    await until(() => n === 500, { what: '500 records' })
    await sub.flush()
    expect(await storage.offsets.get('default', 't', 0)).toMatchObject({ offset: 500 })
    const pushes = broker.pushes.length
    expect(storage.puts.length).toBeGreaterThan(0)
    expect(storage.puts.length).toBeLessThanOrEqual(pushes)
    expect(storage.puts.length).toBeLessThan(50)
    expect(sub.storeWrites).toBe(storage.puts.length)
    const offsets = storage.puts.map((x) => x.offset)
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y)) // written in order, never backwards
  })

  it('auto-commit: sub.close() flushes a position the interval has not written yet', async () => {
    const storage = counting(memoryStorage())
    const clock = new ManualClock()
    broker.createTopic('t', 1)
    const p = client(memoryStorage()).producer({ lingerMs: 0 })
    await p.send('t', range(0, 10).map((value) => ({ value })))
    const c = client(storage, { clock })
    const sub = c.consumer().subscribe('t', { from: 'stored', autoCommitIntervalMs: 60_000 })
    const it = sub[Symbol.asyncIterator]()
    for (let i = 0; i < 4; i++) await it.next() // offsets 0..3 handed out; advanced past 0..2
    expect(storage.puts).toEqual([]) // the interval (manual clock) has not elapsed; more records are buffered
    sub.close()
    await sub.closed
    expect(storage.puts).toEqual([{ offset: 3, leaderEpoch: 0 }])
  })

  it('manual commit: record.commit() and sub.commit(upTo?) store positions; positions never move backwards', async () => {
    const storage = counting(memoryStorage())
    broker.createTopic('t', 1)
    await produce('t', range(0, 6))
    const c = client(storage)
    const sub = c.consumer({ id: 'm' }).subscribe('t', { from: 'stored', commit: 'manual' })
    const it = sub[Symbol.asyncIterator]()
    const got: ConsumerRecord[] = []
    for (let i = 0; i < 5; i++) got.push((await it.next()).value as ConsumerRecord)
    expect(storage.puts).toEqual([])
    await got[2]!.commit()
    expect(await storage.offsets.get('m', 't', 0)).toEqual({ offset: 3, leaderEpoch: 0 })
    await got[1]!.commit() // behind: ignored
    await sub.commit({ partition: 0, offset: 1 }) // behind: ignored
    expect(await storage.offsets.get('m', 't', 0)).toEqual({ offset: 3, leaderEpoch: 0 })
    expect(storage.puts).toHaveLength(1)
    await sub.commit({ partition: 0, offset: 4 })
    expect(await storage.offsets.get('m', 't', 0)).toMatchObject({ offset: 4 })
    await expect(sub.commit({ partition: 0, offset: 6 })).rejects.toBeInstanceOf(RangeError)
    await sub.commit() // everything handed out
    expect(await storage.offsets.get('m', 't', 0)).toMatchObject({ offset: 5 })
    // The store itself refuses to go backwards too.
    await storage.offsets.put('m', 't', 0, { offset: 2, leaderEpoch: 0 })
    expect(await storage.offsets.get('m', 't', 0)).toMatchObject({ offset: 5 })
    sub.close()
    // record.commit() without from: 'stored' explains itself.
    const plain = c.consumer().subscribe('t', { from: 'earliest' })
    const [r] = await take(plain, 1)
    await expect(r!.commit()).rejects.toThrow(/from: 'stored'/)
    await expect(plain.commit()).rejects.toThrow(/from: 'stored'/)
  })

  it('concurrent manual commits coalesce into few writes', async () => {
    const storage = counting(memoryStorage())
    broker.createTopic('t', 1)
    const p = client(memoryStorage()).producer({ lingerMs: 0 })
    await p.send('t', range(0, 100).map((value) => ({ value })))
    const c = client(storage)
    const sub = c.consumer().subscribe('t', { from: 'stored', commit: 'manual' })
    const records = await take(sub, 100)
    await Promise.all(records.map((r) => r.commit()))
    expect(await storage.offsets.get('default', 't', 0)).toMatchObject({ offset: 100 })
    expect(storage.puts.length).toBeLessThanOrEqual(2)
  })

  it('retention gap: a stored position below logStartOffset emits a gap and continues from the log start (earliest) or the log end (latest)', async () => {
    const storage = memoryStorage()
    broker.createTopic('t', 1)
    await produce('t', range(0, 10))
    await storage.offsets.put('default', 't', 0, { offset: 3, leaderEpoch: 0 })
    broker.truncateBefore('t', 0, 6)
    const c = client(storage)
    const gaps: Gap[] = []
    const sub = c.consumer().subscribe('t', { from: 'stored' })
    sub.onGap((g) => gaps.push(g))
    const got = await take(sub, 4)
    expect(gaps).toEqual([{ topic: 't', partition: 0, from: 3, to: 6, reason: 'retention' }])
    expect(got.map((r) => r.offset)).toEqual([6, 7, 8, 9])

    const latestStorage = memoryStorage()
    await latestStorage.offsets.put('default', 't', 0, { offset: 2, leaderEpoch: 0 })
    const latestGaps: Gap[] = []
    const latest = client(latestStorage).consumer().subscribe('t', { from: 'stored', reset: 'latest' })
    latest.onGap((g) => latestGaps.push(g))
    await until(() => latestGaps.length === 1, { what: 'the gap' })
    expect(latestGaps).toEqual([{ topic: 't', partition: 0, from: 2, to: 10, reason: 'retention' }])
    await until(async () => (await latestStorage.offsets.get('default', 't', 0))?.offset === 10, { what: 'the reset position stored' })
    await produce('t', ['new'])
    expect((await take(latest, 1))[0]!.text()).toBe('new')
  })

  it('retention gap on a resumed position: retention passes the in-memory position while disconnected', async () => {
    broker.createTopic('t', 1)
    await produce('t', range(0, 10))
    const c = client(memoryStorage())
    const sub = c.consumer().subscribe('t', { from: 'stored', creditWindowBytes: 1 })
    const gaps: Gap[] = []
    sub.onGap((g) => gaps.push(g))
    const it = sub[Symbol.asyncIterator]()
    for (let i = 0; i < 3; i++) expect(((await it.next()).value as ConsumerRecord).offset).toBe(i)
    broker.truncateBefore('t', 0, 6)
    broker.dropConnections()
    await until(() => gaps.length === 1, { what: 'the gap after the reconnect' })
    const rest: number[] = []
    while (rest.length < 4) rest.push(((await it.next()).value as ConsumerRecord).offset)
    // Records already buffered before the drop are discarded on re-subscribe; the position (3) is resumed and is below the log start.
    expect(gaps).toEqual([{ topic: 't', partition: 0, from: 3, to: 6, reason: 'retention' }])
    expect(rest).toEqual([6, 7, 8, 9])
  })

  it('a non-stored from keeps failing with OFFSET_OUT_OF_RANGE unless a reset policy is given', async () => {
    broker.createTopic('t', 1)
    await produce('t', range(0, 5))
    broker.truncateBefore('t', 0, 3)
    const c = client(memoryStorage())
    const failing = c.consumer().subscribe('t', { from: { offset: 1 } })
    const errors: Error[] = []
    failing.onError((e) => errors.push(e))
    await expect(take(failing, 1)).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' })
    expect(errors).toHaveLength(1)
    const gaps: Gap[] = []
    const reset = c.consumer().subscribe('t', { from: { offset: 1 }, reset: 'earliest' })
    reset.onGap((g) => gaps.push(g))
    expect((await take(reset, 1))[0]!.offset).toBe(3)
    expect(gaps).toEqual([{ topic: 't', partition: 0, from: 1, to: 3, reason: 'retention' }])
  })

  it('truncation gap: a stored position above the log end emits a gap, moves the stored position back and delivers the new records', async () => {
    const storage = memoryStorage()
    broker.createTopic('t', 1)
    await produce('t', range(0, 10))
    const a = client(storage)
    const sub = a.consumer().subscribe('t', { from: 'stored', commit: 'manual' })
    await take(sub, 10)
    await sub.commit()
    expect(await storage.offsets.get('default', 't', 0)).toMatchObject({ offset: 10 })
    await a.close()
    broker.truncateAfter('t', 0, 7) // the broker lost offsets 7..9
    await produce('t', ['n7', 'n8'])
    const gaps: Gap[] = []
    const b = client(storage).consumer().subscribe('t', { from: 'stored' })
    b.onGap((g) => gaps.push(g))
    await until(() => gaps.length === 1, { what: 'the gap' })
    expect(gaps).toEqual([{ topic: 't', partition: 0, from: 9, to: 10, reason: 'truncation' }])
    await until(async () => (await storage.offsets.get('default', 't', 0))?.offset === 9, { what: 'the forced position' })
    await produce('t', ['n9', 'n10'])
    expect((await take(b, 2)).map((r) => [r.offset, r.text()])).toEqual([[9, 'n9'], [10, 'n10']])
  })

  it('truncation gap: a stored leader epoch newer than the broker’s restarts per the reset policy', async () => {
    const storage = memoryStorage()
    broker.createTopic('t', 1)
    await produce('t', range(0, 5))
    await storage.offsets.put('default', 't', 0, { offset: 4, leaderEpoch: 7 })
    const gaps: Gap[] = []
    const sub = client(storage).consumer().subscribe('t', { from: 'stored' })
    sub.onGap((g) => gaps.push(g))
    expect((await take(sub, 1))[0]!.offset).toBe(0)
    expect(gaps).toEqual([{ topic: 't', partition: 0, from: 0, to: 4, reason: 'truncation' }])
  })

  it('subscribe errors: retriable ones are retried, others end the subscription through onError', async () => {
    broker.createTopic('t', 1)
    await produce('t', ['a'])
    const c = client(memoryStorage())
    broker.failNext(ApiKeys.SUBSCRIBE, 'NOT_LEADER_OR_FOLLOWER', 2)
    const retried = c.consumer({ retryBackoff: { baseMs: 1, capMs: 2 } }).subscribe('t', { from: 'earliest' })
    expect((await take(retried, 1))[0]!.text()).toBe('a')
    broker.failNext(ApiKeys.SUBSCRIBE, 'TOPIC_AUTHORIZATION_FAILED')
    const failed = c.consumer().subscribe('t', { from: 'earliest' })
    const errors: Error[] = []
    failed.onError((e) => errors.push(e))
    await expect(failed.closed).resolves.toMatchObject({ errorName: 'TOPIC_AUTHORIZATION_FAILED' })
    expect(errors).toHaveLength(1)
  })

  it("from: 'stored' without storage in the deps, and process() over memory storage, fail clearly", async () => {
    broker.createTopic('t', 1)
    const c = client(memoryStorage())
    const sub = c.consumer().subscribe('t', { from: 'stored' })
    await expect(sub.process(async () => {}, { stores: ['messages'] })).rejects.toThrow(/needs IndexedDB storage/)
    sub.close()
  })

  describe('process() with IndexedDB storage (fake-indexeddb)', () => {
    const appStores = { version: 1, upgrade: (db: IDBDatabase) => void db.createObjectStore('messages', { keyPath: 'offset' }) }
    const open = (factory: IDBFactory) => indexedDbStorage({ indexedDB: factory, databaseName: 'chat', appStores })
    const req = <T>(r: IDBRequest<T>) => new Promise<T>((resolve, reject) => ((r.onsuccess = () => resolve(r.result)), (r.onerror = () => reject(r.error))))
    async function messages(storage: ClientStorage): Promise<{ offset: number; text: string }[]> {
      return storage.atomic!(['messages'], async (tx) => req(tx.objectStore('messages').getAll()) as Promise<{ offset: number; text: string }[]>)
    }

    it('commits each batch and its position together; a throwing handler commits nothing, stops, and the batch comes again after a reload', async () => {
      const factory = new IDBFactory()
      broker.createTopic('chat', 1)
      await produce('chat', range(0, 6)) // 6 batches; a 1-byte credit window makes every push one batch
      const storage1 = open(factory)
      const c1 = client(storage1)
      const sub = c1.consumer({ id: 'chat-page' }).subscribe('chat', { from: 'stored', creditWindowBytes: 1 })
      const batches: number[][] = []
      const errors: Error[] = []
      sub.onError((e) => errors.push(e))
      const processing = sub.process(
        async (batch, tx) => {
          batches.push(batch.map((r) => r.offset))
          const store = tx.objectStore('messages')
          for (const r of batch) await req(store.put({ offset: r.offset, text: r.text() }))
          if (batch.some((r) => r.offset === 3)) throw new Error('render failed on 3')
        },
        { stores: ['messages'] },
      )
      expect(sub.processing).toBe(processing)
      await expect(processing).rejects.toThrow('render failed on 3')
      expect(errors.map((e) => e.message)).toEqual(['render failed on 3'])
      expect(batches).toEqual([[0], [1], [2], [3]])
      expect((await messages(storage1)).map((m) => m.offset)).toEqual([0, 1, 2]) // batch 3 rolled back
      expect(await storage1.offsets.get('chat-page', 'chat', 0)).toEqual({ offset: 3, leaderEpoch: 0 })
      await c1.close()
      await storage1.close()

      // Reload: same database, new client; the failed batch comes again and everything lands exactly once.
      const storage2 = open(factory)
      const c2 = client(storage2)
      const again = c2.consumer({ id: 'chat-page' }).subscribe('chat', { from: 'stored' })
      const seen: number[] = []
      void again.process(
        async (batch, tx) => {
          const store = tx.objectStore('messages')
          for (const r of batch) {
            seen.push(r.offset)
            await req(store.put({ offset: r.offset, text: r.text() }))
          }
        },
        { stores: ['messages'] },
      )
      await until(async () => (await storage2.offsets.get('chat-page', 'chat', 0))?.offset === 6, { what: 'all batches committed' })
      expect(seen).toEqual([3, 4, 5])
      expect(await messages(storage2)).toEqual(range(0, 6).map((text, offset) => ({ offset, text })))
      again.close()
      await expect(again.processing).resolves.toBeUndefined()
      await c2.close()
      await storage2.close()
    })

    it('requires from: stored and is the only consumer of the subscription', async () => {
      broker.createTopic('chat', 1)
      const storage = open(new IDBFactory())
      const c = client(storage)
      const plain = c.consumer().subscribe('chat', { from: 'earliest' })
      await expect(plain.process(async () => {}, { stores: ['messages'] })).rejects.toThrow(/from: 'stored'/)
      const sub: Subscription = c.consumer().subscribe('chat', { from: 'stored' })
      void sub.process(async () => {}, { stores: ['messages'] })
      expect(() => sub.onRecord(() => {})).toThrow(/batches/)
      expect(() => sub[Symbol.asyncIterator]()).toThrow(/batches/)
      await c.close()
      await storage.close()
    })
  })
})
