/**
 * The durable idempotent producer (outbox, pending store, identity slots, reloads) against the real broker core
 * in-process (test/support/core-broker.ts): every resend after a lost answer or a reload is deduplicated, and every
 * sequence checked, by the broker's own producer-state rules.
 */
import 'fake-indexeddb/auto'
import { SamsaError, decodeRecords, encodeRecordBatch, exchanges, readBatchHeader } from '@samsa/shared'
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, type SamsaClient } from '../../packages/client-browser/src/client.js'
import { inProcessLockManager, type LockManagerLike } from '../../packages/client-browser/src/storage/identity-lock.js'
import { indexedDbStorage } from '../../packages/client-browser/src/storage/indexeddb-storage.js'
import { memoryStorage } from '../../packages/client-browser/src/storage/memory-storage.js'
import type { ClientStorage } from '../../packages/client-browser/src/storage/stores.js'
import type { PendingCount, RecordMetadata } from '../../packages/client-browser/src/producer/producer.js'
import { until } from '../../packages/client-browser/src/testing/until.js'
import { CoreBroker, CoreLink } from '../support/core-broker.js'

const td = new TextDecoder()
const values = (broker: CoreBroker, topic: string, partition: number) => broker.values(topic, partition)
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

describe('durable idempotent producer', () => {
  let broker: CoreBroker
  let clients: SamsaClient[] = []
  let storages: ClientStorage[] = []
  beforeEach(async () => {
    clients = []
    storages = []
    broker = await CoreBroker.start()
    await broker.createTopic('t', 2)
  })
  afterEach(async () => {
    broker.unreachable = false
    await Promise.allSettled(clients.map((c) => c.close()))
    await Promise.allSettled(storages.map((s) => s.close()))
    await broker.close()
  })

  const storageOn = (factory: IDBFactory) => {
    const s = indexedDbStorage({ indexedDB: factory })
    storages.push(s)
    return s
  }
  const client = (storage: ClientStorage, locks: LockManagerLike = inProcessLockManager()) => {
    const c = createClient({ brokers: [broker.url], clientId: 'test', WebSocket, reconnectBackoff: { baseMs: 5, capMs: 20 }, storage, locks })
    clients.push(c)
    return c
  }
  const producesOf = () => broker.requests.filter((r) => r.apiKey === 'PRODUCE').length
  const initsOf = () => broker.requests.filter((r) => r.apiKey === 'INIT_PRODUCER_ID').length

  it('writes every batch to the outbox (with the identity’s next sequence) before it is sent, and removes it on ack', async () => {
    const storage = storageOn(new IDBFactory())
    const p = client(storage).producer({ id: 'w', lingerMs: 0 })
    await p.ready
    expect(p.identitySlot).toBe('w#0')
    const checks: Promise<void>[] = []
    broker.onProduce = ({ topic, partition, batch }) => {
      const h = readBatchHeader(batch)
      const outbox = storage.outbox.list('w#0')
      const identity = storage.producers.get('w#0')
      checks.push(
        Promise.all([outbox, identity]).then(([entries, id]) => {
          const entry = entries.find((e) => e.topic === topic && e.partition === partition && e.baseSequence === h.baseSequence)
          expect(entry, `outbox entry for ${topic}/${partition} seq ${h.baseSequence}`).toBeDefined()
          expect(sameBytes(entry!.batch, batch)).toBe(true)
          expect(id!.nextSequences[`${topic}/${partition}`]).toBeGreaterThanOrEqual(h.baseSequence + h.recordCount)
        }),
      )
    }
    const metas = await Promise.all([p.send('t', [{ value: 'a', partition: 0 }, { value: 'b', partition: 0 }]), p.send('t', [{ value: 'c', partition: 1 }])])
    expect(metas.flat().map((m) => m.offset)).toEqual([0, 1, 0])
    await p.flush()
    expect(checks.length).toBeGreaterThanOrEqual(2)
    await Promise.all(checks)
    expect(await storage.outbox.list('w#0')).toEqual([])
    expect((await storage.producers.get('w#0'))?.nextSequences).toEqual({ 't/0': 2, 't/1': 1 })
    expect(p.pending()).toEqual({ batches: 0, records: 0 })
  })

  it('after a reload, resends the outbox in order with the same identity; every record lands exactly once and sequences continue', async () => {
    const factory = new IDBFactory()
    const storage1 = storageOn(factory)
    const c1 = client(storage1)
    const p1 = c1.producer({ id: 'chat', lingerMs: 0 })
    expect(await p1.send('t', [{ value: 'm0', partition: 0 }])).toEqual([{ topic: 't', partition: 0, offset: 0 }])
    const identity = await storage1.producers.get('chat#0')
    // The next batch is appended but its response is lost; then the broker is unreachable.
    broker.unreachable = true
    broker.dropAfterAppend = 1
    const lost: Promise<RecordMetadata[]>[] = [p1.send('t', [{ value: 'm1', partition: 0 }])]
    await until(async () => (await values(broker, 't', 0)).length === 2, { what: 'm1 appended' })
    // One batch per send: wait for each to be written to the outbox before the next.
    for (const records of [[{ value: 'm2', partition: 0 }, { value: 'm3', partition: 0 }], [{ value: 'n0', partition: 1 }], [{ value: 'm4', partition: 0 }]]) {
      const before = (await storage1.outbox.list('chat#0')).length
      lost.push(p1.send('t', records))
      await until(async () => (await storage1.outbox.list('chat#0')).length === before + 1, { what: 'the batch in the outbox' })
    }
    expect(p1.pending()).toEqual({ batches: 4, records: 5 })
    // "Reload": the page goes away without flushing; the old client's sends die with it, the outbox stays.
    await c1.close()
    await Promise.allSettled(lost)
    const outbox = await storage1.outbox.list('chat#0')
    expect(outbox.map((e) => [e.partition, e.baseSequence, e.recordCount])).toEqual([
      [0, 1, 1],
      [0, 2, 2],
      [0, 4, 1],
      [1, 0, 1],
    ])

    broker.unreachable = false
    const storage2 = storageOn(factory)
    const c2 = client(storage2) // a new page: fresh locks, the same database
    const p2 = c2.producer({ id: 'chat', lingerMs: 0 })
    const recovered: RecordMetadata[][] = []
    p2.onRecovered((metas) => recovered.push(metas))
    await p2.ready
    expect(p2.identitySlot).toBe('chat#0')
    const fresh = await p2.send('t', [{ value: 'm5', partition: 0 }, { value: 'n1', partition: 1 }])
    await p2.flush()

    expect(await values(broker, 't', 0)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5'])
    expect(await values(broker, 't', 1)).toEqual(['n0', 'n1'])
    expect(fresh).toEqual([
      { topic: 't', partition: 0, offset: 5 },
      { topic: 't', partition: 1, offset: 1 },
    ])
    expect(recovered.flat().sort((a, b) => a.partition - b.partition || a.offset - b.offset)).toEqual([
      { topic: 't', partition: 0, offset: 1 },
      { topic: 't', partition: 0, offset: 2 },
      { topic: 't', partition: 0, offset: 3 },
      { topic: 't', partition: 0, offset: 4 },
      { topic: 't', partition: 1, offset: 0 },
    ])
    expect(initsOf()).toBe(1)
    const after = await storage2.producers.get('chat#0')
    expect({ producerId: after!.producerId, producerEpoch: after!.producerEpoch }).toEqual({ producerId: identity!.producerId, producerEpoch: identity!.producerEpoch })
    expect(after!.nextSequences).toEqual({ 't/0': 6, 't/1': 2 })
    expect(await storage2.outbox.list('chat#0')).toEqual([])
    // The resends carried the stored bytes: the batch headers the broker saw for seq 1 are the stored entry's.
    const seq1 = broker.requests
      .filter((r) => r.apiKey === 'PRODUCE' && (r.body as { partition: number }).partition === 0)
      .map((r) => (r.body as { batch: Uint8Array }).batch)
      .filter((b) => readBatchHeader(b).baseSequence === 1)
    expect(seq1).toHaveLength(2) // the lost-response send, then the resend after the reload
    expect(seq1.every((b) => sameBytes(b, outbox[0]!.batch))).toBe(true)
  })

  describe('a producer that has never had an identity (first page life offline)', () => {
    const storages2 = {
      'IndexedDB (fake-indexeddb)': () => {
        const factory = new IDBFactory()
        return () => storageOn(factory)
      },
      memory: () => {
        const shared = memoryStorage()
        return () => shared
      },
    }

    it.each(Object.keys(storages2) as (keyof typeof storages2)[])('stores what it is sent before the identity exists; after a reload, every record lands once, in order (%s)', async (kind) => {
      const page = storages2[kind]()
      broker.unreachable = true
      const storage1 = page()
      const c1 = client(storage1)
      const p1 = c1.producer({ id: 'off', lingerMs: 0 })
      const sent = [
        [{ value: 'a0', partition: 0 }],
        [{ value: 'a1', partition: 0 }, { value: 'b0', partition: 1 }, { value: 'a2', partition: 0 }],
        [{ value: 'b1', partition: 1, key: 'k', headers: { h: 'x', n: null } }],
        [{ value: 'a3', partition: 0 }],
      ]
      const lost = sent.map((records) => p1.send('t', records))
      expect(p1.pending()).toEqual({ batches: 0, records: 6 })
      // Durable before anything else: the records are in the pending store while the broker was never reached.
      await until(async () => (await storage1.pending.list('off#0')).length === 6, { what: 'the records in the pending store' })
      const rows = await storage1.pending.list('off#0')
      expect(rows.map((r) => [td.decode(r.value!), r.partition])).toEqual([
        ['a0', 0],
        ['a1', 0],
        ['b0', 1],
        ['a2', 0],
        ['b1', 1],
        ['a3', 0],
      ])
      expect(rows.map((r) => r.sendSeq)).toEqual([0, 1, 1, 1, 4, 5])
      expect(await storage1.producers.get('off#0')).toBeNull()
      expect(await storage1.outbox.list('off#0')).toEqual([])
      expect(initsOf() + producesOf()).toBe(0)

      // "Reload" before the first connection: the page goes away without flushing.
      await c1.close()
      const outcomes = await Promise.allSettled(lost)
      expect(outcomes.every((o) => o.status === 'rejected')).toBe(true)
      expect((await storage1.pending.list('off#0')).length).toBe(6)

      const storage2 = page()
      const p2 = client(storage2).producer({ id: 'off', lingerMs: 0 }) // a new page: fresh locks, the same database
      const recovered: RecordMetadata[][] = []
      p2.onRecovered((metas) => recovered.push(metas))
      await until(() => p2.pending().records === 6, { what: 'the reloaded producer to count the stored records' })
      expect(p2.pending()).toEqual({ batches: 0, records: 6 })
      // Still offline: a send of this page life is stored too, after the recovered ones.
      const fresh = p2.send('t', [{ value: 'a4', partition: 0 }, { value: 'b2', partition: 1 }])
      await until(async () => (await storage2.pending.list('off#0')).length === 8, { what: 'the fresh send in the pending store' })

      // Every batch is in the outbox when sent, and none of its records is still pending (one transaction).
      const checks: Promise<void>[] = []
      broker.onProduce = ({ topic, partition, batch }) => {
        const h = readBatchHeader(batch)
        const batchValues = decodeRecords(batch).records.map((r) => td.decode(r.value!))
        checks.push(
          Promise.all([storage2.pending.list('off#0'), storage2.outbox.list('off#0')]).then(([pendingRows, outbox]) => {
            expect(outbox.some((e) => e.topic === topic && e.partition === partition && e.baseSequence === h.baseSequence)).toBe(true)
            expect(pendingRows.map((r) => td.decode(r.value!)).filter((v) => batchValues.includes(v))).toEqual([])
          }),
        )
      }
      broker.unreachable = false
      await p2.ready
      expect(p2.identitySlot).toBe('off#0')
      expect(await fresh).toEqual([
        { topic: 't', partition: 0, offset: 4 },
        { topic: 't', partition: 1, offset: 2 },
      ])
      await p2.flush()
      await Promise.all(checks)

      expect(await values(broker, 't', 0)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4'])
      expect(await values(broker, 't', 1)).toEqual(['b0', 'b1', 'b2'])
      const b1 = (await broker.records('t', 1))[1]!
      expect(td.decode(b1.key!)).toBe('k')
      expect(b1.headers.map((h) => [h.key, h.value === null ? null : td.decode(h.value)])).toEqual([
        ['h', 'x'],
        ['n', null],
      ])
      expect(recovered.flat().sort((a, b) => a.partition - b.partition || a.offset - b.offset)).toEqual([
        { topic: 't', partition: 0, offset: 0 },
        { topic: 't', partition: 0, offset: 1 },
        { topic: 't', partition: 0, offset: 2 },
        { topic: 't', partition: 0, offset: 3 },
        { topic: 't', partition: 1, offset: 0 },
        { topic: 't', partition: 1, offset: 1 },
      ])
      // One onRecovered call per former send(), each with its records in input order (calls in acknowledgement order).
      expect(recovered.map((metas) => metas.map((m) => `${m.partition}:${m.offset}`).join(' ')).sort()).toEqual(['0:0', '0:1 1:0 0:2', '0:3', '1:1'])
      expect(initsOf()).toBe(1)
      expect(await storage2.pending.list('off#0')).toEqual([])
      expect(await storage2.outbox.list('off#0')).toEqual([])
      expect((await storage2.producers.get('off#0'))?.nextSequences).toEqual({ 't/0': 5, 't/1': 3 })
      expect(p2.pending()).toEqual({ batches: 0, records: 0 })
    })

    it('without a reload: sends made before the identity resolve once the broker is reachable; the pending store empties', async () => {
      broker.unreachable = true
      const storage = storageOn(new IDBFactory())
      const p = client(storage).producer({ id: 'first', lingerMs: 0 })
      const seen: PendingCount[] = []
      p.onPending((x) => seen.push(x))
      const sends = Array.from({ length: 20 }, (_, i) => p.send('t', [{ value: `v${i}`, partition: i % 2 }]))
      await until(async () => (await storage.pending.list('first#0')).length === 20, { what: 'the records in the pending store' })
      expect(p.pending()).toEqual({ batches: 0, records: 20 })
      broker.unreachable = false
      const metas = (await Promise.all(sends)).flat()
      expect(metas.map((m) => `${m.partition}:${m.offset}`)).toEqual(Array.from({ length: 20 }, (_, i) => `${i % 2}:${Math.floor(i / 2)}`))
      await p.flush()
      expect(await values(broker, 't', 0)).toEqual(Array.from({ length: 10 }, (_, i) => `v${2 * i}`))
      expect(await values(broker, 't', 1)).toEqual(Array.from({ length: 10 }, (_, i) => `v${2 * i + 1}`))
      expect(await storage.pending.list('first#0')).toEqual([])
      expect(await storage.outbox.list('first#0')).toEqual([])
      expect(p.pending()).toEqual({ batches: 0, records: 0 })
      expect(seen.at(-1)).toEqual({ batches: 0, records: 0 })
      // Once the identity exists, sends skip the pending store.
      let stored = 0
      const add = storage.pending.add.bind(storage.pending)
      storage.pending.add = async (records) => ((stored += records.length), add(records))
      await p.send('t', [{ value: 'later', partition: 0 }])
      expect(stored).toBe(0)
    })

    it('drops the stored records of a send that fails for good (a record too large), keeps the rest', async () => {
      broker.unreachable = true
      const storage = storageOn(new IDBFactory())
      const p = client(storage).producer({ id: 'big', lingerMs: 0 })
      const tooBig = p.send('t', [{ value: 'x'.repeat(2_000_000), partition: 0 }])
      const ok = p.send('t', [{ value: 'fine', partition: 0 }])
      await until(async () => (await storage.pending.list('big#0')).length === 2, { what: 'both sends stored' })
      broker.unreachable = false
      await expect(tooBig).rejects.toMatchObject({ errorName: 'MESSAGE_TOO_LARGE' })
      expect(await ok).toEqual([{ topic: 't', partition: 0, offset: 0 }])
      await p.flush()
      await until(async () => (await storage.pending.list('big#0')).length === 0, { what: 'the failed send’s record removed' })
      expect(await values(broker, 't', 0)).toEqual(['fine'])
    })
  })

  it('with a stored identity, sends of page lives that never connect are stored; after two offline reloads every record lands once, in order', async () => {
    const factory = new IDBFactory()
    // Page life 1 connects: the slot gets its identity.
    const storage1 = storageOn(factory)
    const c1 = client(storage1)
    const p1 = c1.producer({ id: 'again', lingerMs: 0 })
    expect(await p1.send('t', [{ value: 'a0', partition: 0 }])).toEqual([{ topic: 't', partition: 0, offset: 0 }])
    await p1.flush()
    await c1.close()
    const identity = await storage1.producers.get('again#0')
    expect(identity?.producerId).toBeGreaterThanOrEqual(0)

    // Page life 2 is offline from the start: no hello, so no broker limits; its sends go to the pending store.
    broker.unreachable = true
    const storage2 = storageOn(factory)
    const c2 = client(storage2)
    const p2 = c2.producer({ id: 'again', lingerMs: 0 })
    const lost2 = [p2.send('t', [{ value: 'a1', partition: 0 }, { value: 'b0', partition: 1 }]), p2.send('t', [{ value: 'a2', partition: 0 }])]
    await until(async () => (await storage2.pending.list('again#0')).length === 3, { what: 'page life 2’s records in the pending store' })
    expect(p2.pending()).toEqual({ batches: 0, records: 3 })
    await c2.close() // a reload without flushing, still offline
    expect((await Promise.allSettled(lost2)).every((o) => o.status === 'rejected')).toBe(true)
    expect((await storage2.pending.list('again#0')).map((r) => td.decode(r.value!))).toEqual(['a1', 'b0', 'a2'])

    // Page life 3: still offline; more sends, stored after life 2's.
    const storage3 = storageOn(factory)
    const c3 = client(storage3)
    const p3 = c3.producer({ id: 'again', lingerMs: 0 })
    await until(() => p3.pending().records === 3, { what: 'page life 3 to count the stored records' })
    const lost3 = [p3.send('t', [{ value: 'b1', partition: 1 }]), p3.send('t', [{ value: 'a3', partition: 0 }, { value: 'b2', partition: 1 }])]
    await until(async () => (await storage3.pending.list('again#0')).length === 6, { what: 'page life 3’s records in the pending store' })
    await c3.close()
    expect((await Promise.allSettled(lost3)).every((o) => o.status === 'rejected')).toBe(true)
    const rows = await storage3.pending.list('again#0')
    expect(rows.map((r) => td.decode(r.value!))).toEqual(['a1', 'b0', 'a2', 'b1', 'a3', 'b2'])
    expect(await storage3.outbox.list('again#0')).toEqual([])
    expect(producesOf()).toBe(1)

    // Page life 4 connects: every record of lives 2 and 3 lands once, in send order, with the same identity.
    const storage4 = storageOn(factory)
    const p4 = client(storage4).producer({ id: 'again', lingerMs: 0 })
    const recovered: RecordMetadata[][] = []
    p4.onRecovered((metas) => recovered.push(metas))
    const checks: Promise<void>[] = []
    broker.onProduce = ({ topic, partition, batch }) => {
      const h = readBatchHeader(batch)
      const batchValues = decodeRecords(batch).records.map((r) => td.decode(r.value!))
      checks.push(
        Promise.all([storage4.pending.list('again#0'), storage4.outbox.list('again#0')]).then(([pendingRows, outbox]) => {
          expect(outbox.some((e) => e.topic === topic && e.partition === partition && e.baseSequence === h.baseSequence)).toBe(true)
          expect(pendingRows.map((r) => td.decode(r.value!)).filter((v) => batchValues.includes(v))).toEqual([])
        }),
      )
    }
    broker.unreachable = false
    await until(() => recovered.length === 4, { what: 'the four recovered sends acknowledged' })
    await p4.flush()
    await Promise.all(checks)
    expect(await values(broker, 't', 0)).toEqual(['a0', 'a1', 'a2', 'a3'])
    expect(await values(broker, 't', 1)).toEqual(['b0', 'b1', 'b2'])
    expect(recovered.map((metas) => metas.map((m) => `${m.partition}:${m.offset}`).join(' ')).sort()).toEqual(['0:1 1:0', '0:2', '0:3 1:2', '1:1'])
    expect(initsOf()).toBe(1)
    expect((await storage4.producers.get('again#0'))?.producerId).toBe(identity!.producerId)
    expect(await storage4.pending.list('again#0')).toEqual([])
    expect(await storage4.outbox.list('again#0')).toEqual([])
    expect((await storage4.producers.get('again#0'))?.nextSequences).toEqual({ 't/0': 4, 't/1': 3 })
    expect(p4.pending()).toEqual({ batches: 0, records: 0 })
    // Connected: sends skip the pending store.
    let stored = 0
    const add = storage4.pending.add.bind(storage4.pending)
    storage4.pending.add = async (records) => ((stored += records.length), add(records))
    expect(await p4.send('t', [{ value: 'a4', partition: 0 }])).toEqual([{ topic: 't', partition: 0, offset: 4 }])
    expect(stored).toBe(0)
  })

  it('gives two live producers with one id different identity slots; their sequences never mix', async () => {
    const factory = new IDBFactory()
    const locks = inProcessLockManager() // one origin, two tabs
    const [s1, s2] = [storageOn(factory), storageOn(factory)]
    const p1 = client(s1, locks).producer({ id: 'chat', lingerMs: 1 })
    const p2 = client(s2, locks).producer({ id: 'chat', lingerMs: 1 })
    await Promise.all([p1.ready, p2.ready])
    expect(new Set([p1.identitySlot, p2.identitySlot])).toEqual(new Set(['chat#0', 'chat#1']))
    const sends: Promise<RecordMetadata[]>[] = []
    for (let i = 0; i < 40; i++) {
      sends.push(p1.send('t', [{ value: `a${i}`, partition: 0 }]))
      sends.push(p2.send('t', [{ value: `b${i}`, partition: 0 }]))
    }
    await Promise.all(sends)
    const stored = await values(broker, 't', 0)
    expect(stored).toHaveLength(80)
    expect(stored.filter((v) => v.startsWith('a'))).toEqual(Array.from({ length: 40 }, (_, i) => `a${i}`))
    expect(stored.filter((v) => v.startsWith('b'))).toEqual(Array.from({ length: 40 }, (_, i) => `b${i}`))
    const [i0, i1] = [await s1.producers.get('chat#0'), await s1.producers.get('chat#1')]
    expect(i0!.producerId).not.toBe(i1!.producerId)
    expect([i0!.nextSequences['t/0'], i1!.nextSequences['t/0']]).toEqual([40, 40])
  })

  it('re-takes the lowest free slot after the holder closes', async () => {
    const locks = inProcessLockManager()
    const storage = memoryStorage()
    const c1 = client(storage, locks)
    const a = c1.producer({ id: 'x' })
    const b = client(storage, locks).producer({ id: 'x' })
    await Promise.all([a.ready, b.ready])
    expect([a.identitySlot, b.identitySlot]).toEqual(['x#0', 'x#1'])
    await c1.close()
    const c = client(storage, locks).producer({ id: 'x' })
    await c.ready
    expect(c.identitySlot).toBe('x#0')
  })

  it('counts pending batches and records and reports every change', async () => {
    const p = client(storageOn(new IDBFactory())).producer({ id: 'p', lingerMs: 0 })
    await p.ready
    await p.send('t', [{ value: 'warm', partition: 0 }])
    const seen: PendingCount[] = []
    p.onPending((x) => seen.push(x))
    broker.unreachable = true
    broker.dropConnections()
    const a = p.send('t', [{ value: '1', partition: 0 }, { value: '2', partition: 0 }, { value: '3', partition: 1 }])
    expect(p.pending()).toEqual({ batches: 0, records: 3 })
    await until(() => p.pending().batches === 2, { what: 'two batches' })
    expect(p.pending()).toEqual({ batches: 2, records: 3 })
    broker.unreachable = false
    await a
    await p.flush()
    expect(p.pending()).toEqual({ batches: 0, records: 0 })
    expect(seen[0]).toEqual({ batches: 0, records: 3 })
    expect(seen.at(-1)).toEqual({ batches: 0, records: 0 })
  })

  it('rejects the affected sends clearly when fenced (INVALID_PRODUCER_EPOCH) and does not retry', async () => {
    const storage = storageOn(new IDBFactory())
    const p = client(storage).producer({ id: 'f', lingerMs: 0 })
    await p.send('t', [{ value: 'ok', partition: 0 }])
    // Another holder of the identity takes the next epoch and writes with it: the broker now fences the old epoch.
    const { producerId, producerEpoch } = (await storage.producers.get('f#0'))!
    const other = await CoreLink.open(broker.broker, 'usurper')
    const bumped = await other.request(exchanges.initProducerId, { producerId, producerEpoch })
    expect(bumped).toEqual({ producerId, producerEpoch: producerEpoch + 1 })
    const batch = encodeRecordBatch({ producerId, producerEpoch: bumped.producerEpoch, baseSequence: 0, records: [{ key: null, value: new TextEncoder().encode('theirs'), headers: [], timestamp: 1 }] })
    await other.request(exchanges.produce, { topic: 't', partition: 0, acks: -1, timeoutMs: 1_000, batch })
    const before = producesOf()
    const error = await p.send('t', [{ value: 'x', partition: 0 }]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SamsaError)
    expect((error as SamsaError).errorName).toBe('INVALID_PRODUCER_EPOCH')
    expect((error as SamsaError).message).toMatch(/fenced/)
    await expect(p.send('t', [{ value: 'y', partition: 1 }])).rejects.toMatchObject({ errorName: 'INVALID_PRODUCER_EPOCH' })
    await p.flush()
    expect(producesOf() - before).toBe(1)
    expect(await storage.outbox.list('f#0')).toEqual([])
    expect((await storage.producers.get('f#0'))?.producerId).toBe(-1)
  })

  it('defaults to IndexedDB storage when globalThis.indexedDB exists', async () => {
    const c = createClient({ brokers: [broker.url], WebSocket, locks: inProcessLockManager() })
    clients.push(c)
    const p = c.producer({ id: 'd', lingerMs: 0 })
    await p.send('t', [{ value: 'v', partition: 0 }])
    const probe = indexedDbStorage()
    storages.push(probe)
    expect((await probe.producers.get('d#0'))?.nextSequences).toEqual({ 't/0': 1 })
  })
})
