import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import type { Entry, HardState } from './raft/index.js'
import { RaftLogStore, RaftStorageDamageError } from './raft-log-store.js'

const membership = { voters: [1, 2, 3], learners: [] }
const dir = 'controller/raft'
const enc = (s: string) => new TextEncoder().encode(s)
const entry = (index: number, term: number, data = `e${index}t${term}`): Entry => ({ index, term, data: enc(data) })
const range = (from: number, to: number, term: number) => Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term))
const open = (storage: MemoryLogStorage, maxSegmentBytes?: number) => RaftLogStore.open(storage, { dir, membership, ...(maxSegmentBytes ? { maxSegmentBytes } : {}) })

/** The view's whole content, for comparing a reopened store with what was synced. */
function contents(store: RaftLogStore) {
  const v = store.view
  return { hardState: v.hardState(), snapshot: v.snapshot(), first: v.firstIndex(), entries: v.entries(v.firstIndex(), v.lastIndex() + 1) }
}

async function reopenAfterPowerLoss(storage: MemoryLogStorage, store: RaftLogStore, maxSegmentBytes?: number) {
  storage.simulatePowerLoss()
  await store.close().catch(() => {})
  return open(storage, maxSegmentBytes)
}

describe('RaftLogStore', () => {
  it('a fresh store is empty; entries and hard state survive a power loss once synced', async () => {
    const storage = new MemoryLogStorage()
    const store = await open(storage)
    expect(contents(store)).toMatchObject({ hardState: { term: 0, vote: 0, commit: 0 }, first: 1, entries: [] })
    store.write({ entries: range(1, 3, 1), hardState: { term: 1, vote: 2, commit: 2 } })
    expect(store.view.lastIndex()).toBe(3)
    await store.sync()
    const reopened = await reopenAfterPowerLoss(storage, store)
    expect(contents(reopened)).toEqual(contents(store))
  })

  it('loses exactly what was written but not synced', async () => {
    const storage = new MemoryLogStorage()
    const store = await open(storage)
    store.write({ entries: range(1, 2, 1), hardState: { term: 1, vote: 1, commit: 1 } })
    await store.sync()
    const synced = contents(store)
    store.write({ entries: range(3, 5, 2), hardState: { term: 2, vote: 1, commit: 4 } })
    const reopened = await reopenAfterPowerLoss(storage, store)
    expect(contents(reopened)).toEqual(synced)
  })

  it('groups several writes under one fsync of the log and one hard-state write', async () => {
    const storage = new MemoryLogStorage()
    const store = await open(storage)
    const before = storage.syncCount
    for (let i = 1; i <= 10; i++) store.write({ entries: [entry(i, 1)], hardState: { term: 1, vote: 1, commit: i - 1 } })
    await store.sync()
    // syncCount counts StoredFile.sync(): the one segment fsync (the hard state goes through writeFileAtomic once).
    expect(storage.syncCount - before).toBe(1)
    const reopened = await reopenAfterPowerLoss(storage, store)
    expect(reopened.view.lastIndex()).toBe(10)
    expect(reopened.view.hardState()).toEqual({ term: 1, vote: 1, commit: 9 })
  })

  it('replaces stored entries from a conflicting index on, across segments', async () => {
    const storage = new MemoryLogStorage()
    const store = await open(storage, 100)
    store.write({ entries: range(1, 20, 1), hardState: { term: 1, vote: 1, commit: 5 } })
    await store.sync()
    expect((await storage.list(dir)).filter((n) => n.endsWith('.raft')).length).toBeGreaterThan(3)
    store.write({ entries: range(7, 9, 2), hardState: { term: 2, vote: 3, commit: 5 } })
    await store.sync()
    const reopened = await reopenAfterPowerLoss(storage, store, 100)
    expect(reopened.view.entries(1, 10)).toEqual([...range(1, 6, 1), ...range(7, 9, 2)])
    expect(reopened.view.lastIndex()).toBe(9)
    expect(contents(reopened)).toEqual(contents(store))
  })

  it('cuts a torn or damaged tail above the persisted commit on open', async () => {
    const storage = new MemoryLogStorage()
    const store = await open(storage)
    store.write({ entries: range(1, 4, 1), hardState: { term: 1, vote: 1, commit: 2 } })
    await store.sync()
    await store.close()
    const [segment] = (await storage.list(dir)).filter((n) => n.endsWith('.raft'))
    const bytes = storage.peek(`${dir}/${segment}`)!
    // Half a record more: torn.
    storage.poke(`${dir}/${segment}`, Uint8Array.from([...bytes, ...bytes.subarray(0, 10)]))
    expect((await open(storage)).view.lastIndex()).toBe(4)
    // A flipped byte in the last record (entry 4, above commit 2): cut there.
    const flipped = bytes.slice()
    flipped[flipped.length - 1]! ^= 0xff
    storage.poke(`${dir}/${segment}`, flipped)
    const cut = await open(storage)
    expect(cut.view.lastIndex()).toBe(3)
    expect(cut.view.entries(1, 4)).toEqual(range(1, 3, 1))
  })

  it('refuses to open when a committed entry is damaged', async () => {
    const storage = new MemoryLogStorage()
    const store = await open(storage)
    store.write({ entries: range(1, 4, 1), hardState: { term: 1, vote: 1, commit: 3 } })
    await store.sync()
    await store.close()
    const [segment] = (await storage.list(dir)).filter((n) => n.endsWith('.raft'))
    const bytes = storage.peek(`${dir}/${segment}`)!
    const recordBytes = bytes.length / 4
    const flipped = bytes.slice()
    flipped[2 * recordBytes + 20]! ^= 0x01 // inside entry 3
    storage.poke(`${dir}/${segment}`, flipped)
    await expect(open(storage)).rejects.toThrow(RaftStorageDamageError)
    await expect(open(storage)).rejects.toThrow(/entry 3 fails its CRC, at or below the persisted commit 3/)
    const hsBytes = storage.peek(`${dir}/hardstate`)!
    hsBytes[3]! ^= 1
    storage.poke(`${dir}/hardstate`, hsBytes)
    await expect(open(storage)).rejects.toThrow(/hard state file fails its CRC/)
  })

  it('compaction persists the snapshot and drops the segments it covers', async () => {
    const storage = new MemoryLogStorage()
    const store = await open(storage, 100)
    store.write({ entries: range(1, 20, 1), hardState: { term: 1, vote: 1, commit: 20 } })
    await store.sync()
    const segmentsBefore = (await storage.list(dir)).filter((n) => n.endsWith('.raft')).length
    const snapshot = store.view.compact(15, enc('state@15'))
    store.compacted(snapshot)
    await store.sync()
    const segmentsAfter = (await storage.list(dir)).filter((n) => n.endsWith('.raft')).length
    expect(segmentsAfter).toBeLessThan(segmentsBefore)
    store.write({ entries: range(21, 22, 1), hardState: { term: 1, vote: 1, commit: 22 } })
    await store.sync()
    const reopened = await reopenAfterPowerLoss(storage, store, 100)
    expect(reopened.view.snapshot()).toEqual({ metadata: { index: 15, term: 1, voters: [1, 2, 3], learners: [] }, data: enc('state@15') })
    expect(reopened.view.firstIndex()).toBe(16)
    expect(reopened.view.entries(16, 23)).toEqual(range(16, 22, 1))
  })

  it("installing a leader's snapshot replaces the whole log; a crash half-way drops a log that does not continue it", async () => {
    const storage = new MemoryLogStorage()
    const store = await open(storage)
    store.write({ entries: range(1, 10, 1), hardState: { term: 1, vote: 1, commit: 5 } })
    await store.sync()
    const snapshot = { metadata: { index: 8, term: 2, voters: [1, 2, 3], learners: [] }, data: enc('img') }
    store.write({ snapshot, entries: range(9, 9, 2), hardState: { term: 2, vote: 0, commit: 8 } })
    await store.sync()
    const reopened = await reopenAfterPowerLoss(storage, store)
    expect(contents(reopened)).toEqual(contents(store))
    expect(reopened.view.entries(9, 10)).toEqual(range(9, 9, 2))
    await reopened.close()

    // The snapshot file landed, the old log (term 1 at index 8) did not go yet.
    const torn = new MemoryLogStorage()
    const s2 = await open(torn)
    s2.write({ entries: range(1, 10, 1), hardState: { term: 1, vote: 1, commit: 5 } })
    await s2.sync()
    await s2.close()
    const otherStorage = new MemoryLogStorage()
    const other = await open(otherStorage)
    other.write({ snapshot, entries: [] })
    await other.sync()
    await torn.writeFileAtomic(`${dir}/snapshot`, otherStorage.peek(`${dir}/snapshot`)!)
    const r2 = await open(torn)
    expect(r2.view.snapshot()).toEqual(snapshot)
    expect(r2.view.firstIndex()).toBe(9)
    expect(r2.view.lastIndex()).toBe(8)
    expect((await torn.list(dir)).filter((n) => n.endsWith('.raft'))).toEqual([])
  })

  it('whatever was synced survives any power loss, and the hard state never goes backwards', async () => {
    type Op = { kind: 'append'; from: number; count: number } | { kind: 'commit' } | { kind: 'term' } | { kind: 'sync' } | { kind: 'crash' }
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), from: fc.nat({ max: 6 }), count: fc.integer({ min: 1, max: 5 }) }),
      fc.constant({ kind: 'commit' as const }),
      fc.constant({ kind: 'term' as const }),
      fc.constant({ kind: 'sync' as const }),
      fc.constant({ kind: 'crash' as const }),
    )
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), fc.integer({ min: 60, max: 400 }), async (ops, segmentBytes) => {
      const storage = new MemoryLogStorage()
      let store = await open(storage, segmentBytes)
      let synced = contents(store)
      let hs: HardState = store.view.hardState()
      let term = 1
      for (const o of ops) {
        const last = store.view.lastIndex()
        if (o.kind === 'append') {
          // Never below the commit: the core only overwrites uncommitted entries.
          const first = Math.max(hs.commit + 1, last + 1 - o.from)
          store.write({ entries: range(first, first + o.count - 1, term), hardState: (hs = { ...hs, term }) })
        } else if (o.kind === 'commit' && last > hs.commit) {
          store.write({ entries: [], hardState: (hs = { ...hs, commit: hs.commit + Math.ceil((last - hs.commit) / 2) }) })
        } else if (o.kind === 'term') {
          term++
          store.write({ entries: [], hardState: (hs = { term, vote: (term % 3) + 1, commit: hs.commit }) })
        } else if (o.kind === 'sync') {
          await store.sync()
          synced = contents(store)
        } else if (o.kind === 'crash') {
          const before = synced.hardState
          store = await reopenAfterPowerLoss(storage, store, segmentBytes)
          expect(contents(store)).toEqual(synced)
          const after = store.view.hardState()
          expect(after.term).toBeGreaterThanOrEqual(before.term)
          expect(after.commit).toBeGreaterThanOrEqual(before.commit)
          hs = after
          term = Math.max(term, after.term)
        }
      }
    }), { numRuns: 150 })
  })

  it('a failed fsync is sticky and loses nothing that was synced before it', async () => {
    const storage = new MemoryLogStorage()
    const store = await open(storage)
    store.write({ entries: range(1, 3, 1), hardState: { term: 1, vote: 1, commit: 2 } })
    await store.sync()
    const synced = contents(store)
    storage.failSyncs(new Error('EIO'))
    store.write({ entries: range(4, 5, 1), hardState: { term: 1, vote: 1, commit: 4 } })
    await expect(store.sync()).rejects.toThrow('EIO')
    expect(() => store.write({ entries: range(6, 6, 1) })).toThrow('EIO')
    await expect(store.sync()).rejects.toThrow('EIO')
    storage.failSyncs(null)
    const reopened = await reopenAfterPowerLoss(storage, store)
    expect(contents(reopened)).toEqual(synced)
  })
})
