/** @module The contract every ClientStorage passes (memory and IndexedDB): run with `storesContract(name, makeStorage)`. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ClientStorage, OutboxEntry, PendingRecord, ProducerIdentity } from './stores.js'

const entry = (producer: string, topic: string, partition: number, baseSequence: number, recordCount = 2): OutboxEntry => ({
  producer,
  topic,
  partition,
  baseSequence,
  recordCount,
  batch: new Uint8Array([partition, baseSequence, recordCount, 7]),
  createdAtMs: 1_000 + baseSequence,
})
const identity = (name: string, nextSequences: Record<string, number> = {}): ProducerIdentity => ({ name, producerId: 42, producerEpoch: 3, nextSequences })

const enc = new TextEncoder()
const pendingRecord = (producer: string, seq: number, sendSeq = seq, partition: number | null = null): PendingRecord => ({
  producer,
  seq,
  sendSeq,
  topic: 't',
  partition,
  key: seq % 2 === 0 ? null : enc.encode(`k${seq}`),
  value: enc.encode(`v${seq}`),
  headers: [
    { key: 'h', value: enc.encode(`h${seq}`) },
    { key: 'nil', value: null },
  ],
  timestamp: 5_000 + seq,
  createdAtMs: 6_000 + seq,
})

export function storesContract(name: string, makeStorage: () => ClientStorage): void {
  describe(`ClientStorage contract: ${name}`, () => {
    let storage: ClientStorage
    beforeEach(() => {
      storage = makeStorage()
    })
    afterEach(async () => {
      await storage.close()
    })

    describe('OffsetStore', () => {
      it('returns null for an unknown position, then what was put', async () => {
        expect(await storage.offsets.get('c', 't', 0)).toBeNull()
        await storage.offsets.put('c', 't', 0, { offset: 5, leaderEpoch: 1 })
        expect(await storage.offsets.get('c', 't', 0)).toEqual({ offset: 5, leaderEpoch: 1 })
      })

      it('never moves a position backwards unless forced', async () => {
        await storage.offsets.put('c', 't', 0, { offset: 10, leaderEpoch: 2 })
        await storage.offsets.put('c', 't', 0, { offset: 7, leaderEpoch: 2 })
        expect(await storage.offsets.get('c', 't', 0)).toEqual({ offset: 10, leaderEpoch: 2 })
        await storage.offsets.put('c', 't', 0, { offset: 12, leaderEpoch: 3 })
        expect(await storage.offsets.get('c', 't', 0)).toEqual({ offset: 12, leaderEpoch: 3 })
        await storage.offsets.put('c', 't', 0, { offset: 3, leaderEpoch: 1 }, { force: true })
        expect(await storage.offsets.get('c', 't', 0)).toEqual({ offset: 3, leaderEpoch: 1 })
      })

      it('lists the partitions of one consumer and topic only, and deletes them', async () => {
        await storage.offsets.put('c', 't', 2, { offset: 20, leaderEpoch: 0 })
        await storage.offsets.put('c', 't', 0, { offset: 5, leaderEpoch: 0 })
        await storage.offsets.put('c', 'u', 1, { offset: 9, leaderEpoch: 0 })
        await storage.offsets.put('d', 't', 1, { offset: 9, leaderEpoch: 0 })
        await storage.offsets.put('c', 't2', 1, { offset: 9, leaderEpoch: 0 })
        expect([...(await storage.offsets.list('c', 't'))]).toEqual([
          [0, { offset: 5, leaderEpoch: 0 }],
          [2, { offset: 20, leaderEpoch: 0 }],
        ])
        await storage.offsets.delete('c', 't')
        expect((await storage.offsets.list('c', 't')).size).toBe(0)
        expect(await storage.offsets.get('c', 'u', 1)).toEqual({ offset: 9, leaderEpoch: 0 })
        expect(await storage.offsets.get('d', 't', 1)).toEqual({ offset: 9, leaderEpoch: 0 })
        expect(await storage.offsets.get('c', 't2', 1)).toEqual({ offset: 9, leaderEpoch: 0 })
      })
    })

    describe('OutboxStore', () => {
      it('lists a producer’s batches ordered by (topic, partition, baseSequence), with the same bytes', async () => {
        await storage.outbox.add(entry('p#0', 'b', 0, 4), identity('p#0'))
        await storage.outbox.add(entry('p#0', 'a', 1, 2), identity('p#0'))
        await storage.outbox.add(entry('p#0', 'a', 1, 0), identity('p#0'))
        await storage.outbox.add(entry('p#0', 'a', 0, 10), identity('p#0'))
        await storage.outbox.add(entry('p#0', 'a', 0, 2), identity('p#0'))
        await storage.outbox.add(entry('p#1', 'a', 0, 0), identity('p#1'))
        await storage.outbox.add(entry('p', 'a', 0, 0), identity('p'))
        const listed = await storage.outbox.list('p#0')
        expect(listed.map((e) => [e.topic, e.partition, e.baseSequence])).toEqual([
          ['a', 0, 2],
          ['a', 0, 10],
          ['a', 1, 0],
          ['a', 1, 2],
          ['b', 0, 4],
        ])
        expect(listed[1]).toEqual(entry('p#0', 'a', 0, 10))
        expect(listed[1]!.batch).toBeInstanceOf(Uint8Array)
      })

      it('removes an acknowledged batch', async () => {
        await storage.outbox.add(entry('p', 't', 0, 0), identity('p'))
        await storage.outbox.add(entry('p', 't', 0, 2), identity('p'))
        await storage.outbox.remove('p', 't', 0, 0)
        await storage.outbox.remove('p', 't', 0, 99)
        expect((await storage.outbox.list('p')).map((e) => e.baseSequence)).toEqual([2])
      })

      it('stores the identity (advanced nextSequences) with the batch', async () => {
        await storage.outbox.add(entry('p', 't', 0, 0, 3), identity('p', { 't/0': 3 }))
        expect(await storage.producers.get('p')).toEqual(identity('p', { 't/0': 3 }))
        await storage.outbox.add(entry('p', 't', 1, 0, 2), identity('p', { 't/0': 3, 't/1': 2 }))
        expect((await storage.producers.get('p'))?.nextSequences).toEqual({ 't/0': 3, 't/1': 2 })
      })

      it('keeps the entry’s fields as added (a later change to the entry object does not reach the store)', async () => {
        const e = { ...entry('p', 't', 0, 0) }
        await storage.outbox.add(e, identity('p'))
        Object.assign(e, { baseSequence: 9, recordCount: 1 })
        expect((await storage.outbox.list('p'))[0]).toEqual(entry('p', 't', 0, 0))
      })

      it('copies on the way out: mutating a listed batch does not change the store', async () => {
        await storage.outbox.add(entry('p', 't', 0, 0), identity('p'))
        ;(await storage.outbox.list('p'))[0]!.batch[0] = 99
        expect((await storage.outbox.list('p'))[0]!.batch[0]).toBe(0)
      })

      it('stores a batch given as a view (the end of a produce frame) as exactly that view’s bytes', async () => {
        const frame = new Uint8Array([1, 2, 3, 0, 0, 2, 7])
        await storage.outbox.add({ ...entry('p', 't', 0, 0), batch: frame.subarray(3) }, identity('p'))
        const [listed] = await storage.outbox.list('p')
        expect([...listed!.batch]).toEqual([0, 0, 2, 7])
      })
    })

    describe('PendingRecordStore', () => {
      it('lists a producer’s pending records in seq order, with the same bytes, and only its own', async () => {
        expect(await storage.pending.list('p#0')).toEqual([])
        await storage.pending.add([pendingRecord('p#0', 2, 2, 1), pendingRecord('p#0', 3, 2)])
        await storage.pending.add([pendingRecord('p#0', 0), pendingRecord('p#0', 1, 1, 0)])
        await storage.pending.add([pendingRecord('p#1', 0), pendingRecord('p', 7)])
        const listed = await storage.pending.list('p#0')
        expect(listed.map((r) => r.seq)).toEqual([0, 1, 2, 3])
        expect(listed[1]).toEqual(pendingRecord('p#0', 1, 1, 0))
        expect(listed[2]).toEqual(pendingRecord('p#0', 2, 2, 1))
        expect(listed[3]!.value).toBeInstanceOf(Uint8Array)
        expect(listed[3]!.headers[0]!.value).toBeInstanceOf(Uint8Array)
        expect((await storage.pending.list('p')).map((r) => r.seq)).toEqual([7])
      })

      it('orders seqs numerically, not as strings', async () => {
        await storage.pending.add([10, 9, 100, 2].map((seq) => pendingRecord('p', seq)))
        expect((await storage.pending.list('p')).map((r) => r.seq)).toEqual([2, 9, 10, 100])
      })

      it('removes records by seq (unknown seqs are ignored)', async () => {
        await storage.pending.add([0, 1, 2, 3].map((seq) => pendingRecord('p', seq)))
        await storage.pending.add([pendingRecord('q', 1)])
        await storage.pending.remove('p', [1, 3, 42])
        await storage.pending.remove('p', [])
        expect((await storage.pending.list('p')).map((r) => r.seq)).toEqual([0, 2])
        expect((await storage.pending.list('q')).map((r) => r.seq)).toEqual([1])
      })

      it('outbox.add removes the pending records the batch carries, in the same write, for that producer only', async () => {
        await storage.pending.add([0, 1, 2].map((seq) => pendingRecord('p#0', seq)))
        await storage.pending.add([pendingRecord('p#1', 0)])
        await storage.outbox.add(entry('p#0', 't', 0, 0, 2), identity('p#0', { 't/0': 2 }), [0, 1])
        expect((await storage.pending.list('p#0')).map((r) => r.seq)).toEqual([2])
        expect((await storage.pending.list('p#1')).map((r) => r.seq)).toEqual([0])
        expect((await storage.outbox.list('p#0')).map((e) => e.baseSequence)).toEqual([0])
        expect((await storage.producers.get('p#0'))?.nextSequences).toEqual({ 't/0': 2 })
        // Without removePending, pending records are left alone.
        await storage.outbox.add(entry('p#0', 't', 0, 2, 1), identity('p#0', { 't/0': 3 }))
        expect((await storage.pending.list('p#0')).map((r) => r.seq)).toEqual([2])
      })

      it('copies on the way in: mutating the record afterwards does not change the store', async () => {
        const r = pendingRecord('p', 1)
        await storage.pending.add([r])
        r.value![0] = 0
        r.headers[0]!.value![0] = 0
        const [stored] = await storage.pending.list('p')
        expect(stored).toEqual(pendingRecord('p', 1))
      })
    })

    describe('ProducerIdentityStore', () => {
      it('gets null, then the identity put, overwritten by name', async () => {
        expect(await storage.producers.get('chat#0')).toBeNull()
        await storage.producers.put(identity('chat#0', { 't/0': 5 }))
        await storage.producers.put(identity('chat#1'))
        expect(await storage.producers.get('chat#0')).toEqual(identity('chat#0', { 't/0': 5 }))
        await storage.producers.put({ ...identity('chat#0'), producerEpoch: 4 })
        expect((await storage.producers.get('chat#0'))?.producerEpoch).toBe(4)
      })
    })
  })
}
