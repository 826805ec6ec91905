import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { describe, expect, it } from 'vitest'
import { AtomicTransactionInactiveError, indexedDbStorage } from './indexeddb-storage.js'
import { memoryStorage } from './memory-storage.js'
import { storesContract } from './stores.contract.js'
import { SDK_SCHEMA_VERSION, APP_VERSION_RANGE } from './idb-schema.js'

storesContract('memory', () => memoryStorage())
storesContract('IndexedDB (fake-indexeddb)', () => indexedDbStorage({ indexedDB: new IDBFactory() }))

const notes = (version = 1) => ({
  version,
  upgrade(db: IDBDatabase, oldVersion: number) {
    if (oldVersion < 1) db.createObjectStore('notes', { keyPath: 'id' })
    if (oldVersion < 2 && version >= 2) db.createObjectStore('tags', { keyPath: 'id' })
  },
})

const request = <T>(r: IDBRequest<T>) => new Promise<T>((resolve, reject) => ((r.onsuccess = () => resolve(r.result)), (r.onerror = () => reject(r.error))))

describe('indexedDbStorage', () => {
  it('has no atomic in memory storage', () => {
    expect(memoryStorage().atomic).toBeUndefined()
  })

  it('persists across storage instances on one factory (a reload)', async () => {
    const factory = new IDBFactory()
    const a = indexedDbStorage({ indexedDB: factory })
    await a.offsets.put('c', 't', 0, { offset: 7, leaderEpoch: 1 })
    await a.close()
    const b = indexedDbStorage({ indexedDB: factory })
    expect(await b.offsets.get('c', 't', 0)).toEqual({ offset: 7, leaderEpoch: 1 })
    await b.close()
  })

  it('adds the app’s stores to the same database; the version combines SDK and app versions', async () => {
    const factory = new IDBFactory()
    const v1 = indexedDbStorage({ indexedDB: factory, databaseName: 'app', appStores: notes(1) })
    await v1.offsets.put('c', 't', 0, { offset: 1, leaderEpoch: 0 })
    await v1.close()
    const v2 = indexedDbStorage({ indexedDB: factory, databaseName: 'app', appStores: notes(2) })
    await v2.atomic!(['notes', 'tags'], async (tx) => {
      tx.objectStore('tags').put({ id: 'x' })
    })
    expect(await v2.offsets.get('c', 't', 0)).toEqual({ offset: 1, leaderEpoch: 0 })
    await v2.close()
    const dbs = await factory.databases()
    expect(dbs).toEqual([{ name: 'app', version: SDK_SCHEMA_VERSION * APP_VERSION_RANGE + 2 }])
  })

  it('atomic commits the app write and the position together', async () => {
    const storage = indexedDbStorage({ indexedDB: new IDBFactory(), appStores: notes() })
    const result = await storage.atomic!(['notes'], async (tx) => {
      await request(tx.objectStore('notes').put({ id: 1, text: 'hello' }))
      tx.putPosition('c', 't', 0, { offset: 11, leaderEpoch: 2 })
      return 'ok'
    })
    expect(result).toBe('ok')
    expect(await storage.offsets.get('c', 't', 0)).toEqual({ offset: 11, leaderEpoch: 2 })
    await storage.atomic!(['notes'], async (tx) => {
      expect(await request(tx.objectStore('notes').get(1))).toEqual({ id: 1, text: 'hello' })
    })
    await storage.close()
  })

  it('atomic commits neither when the handler throws', async () => {
    const storage = indexedDbStorage({ indexedDB: new IDBFactory(), appStores: notes() })
    const boom = new Error('handler failed')
    await expect(
      storage.atomic!(['notes'], async (tx) => {
        await request(tx.objectStore('notes').put({ id: 1, text: 'hello' }))
        tx.putPosition('c', 't', 0, { offset: 11, leaderEpoch: 2 })
        throw boom
      }),
    ).rejects.toBe(boom)
    expect(await storage.offsets.get('c', 't', 0)).toBeNull()
    await storage.atomic!(['notes'], async (tx) => {
      expect(await request(tx.objectStore('notes').get(1))).toBeUndefined()
    })
    await storage.close()
  })

  it('atomic reports a handler that awaited non-IndexedDB work clearly', async () => {
    const storage = indexedDbStorage({ indexedDB: new IDBFactory(), appStores: notes() })
    const failure = storage.atomic!(['notes'], async (tx) => {
      await new Promise((resolve) => setTimeout(resolve, 20))
      tx.putPosition('c', 't', 0, { offset: 1, leaderEpoch: 0 })
    })
    await expect(failure).rejects.toBeInstanceOf(AtomicTransactionInactiveError)
    await expect(failure).rejects.toThrow(/auto-committed/)
    expect(await storage.offsets.get('c', 't', 0)).toBeNull()
    await storage.close()
  })

  it('outbox.add that cannot write the batch removes no pending record (one transaction)', async () => {
    const storage = indexedDbStorage({ indexedDB: new IDBFactory() })
    const rec = { producer: 'p', seq: 0, sendSeq: 0, topic: 't', partition: 0, key: null, value: new Uint8Array([1]), headers: [], timestamp: 1, createdAtMs: 1 }
    await storage.pending.add([rec])
    const bad = { producer: 'p', topic: 't', partition: 0, baseSequence: Number.NaN, recordCount: 1, batch: new Uint8Array([1]), createdAtMs: 1 }
    await expect(storage.outbox.add(bad, { name: 'p', producerId: 1, producerEpoch: 0, nextSequences: { 't/0': 1 } }, [0])).rejects.toThrow()
    expect(await storage.pending.list('p')).toEqual([rec])
    expect(await storage.producers.get('p')).toBeNull()
    await storage.close()
  })

  it('a pending record survives a reload (a new storage on the same factory)', async () => {
    const factory = new IDBFactory()
    const a = indexedDbStorage({ indexedDB: factory })
    const rec = { producer: 'p#0', seq: 4, sendSeq: 4, topic: 't', partition: null, key: null, value: new Uint8Array([9]), headers: [], timestamp: 1, createdAtMs: 1 }
    await a.pending.add([rec])
    await a.close()
    const b = indexedDbStorage({ indexedDB: factory })
    expect(await b.pending.list('p#0')).toEqual([rec])
    await b.close()
  })

  it('atomic refuses SDK stores in the app list', async () => {
    const storage = indexedDbStorage({ indexedDB: new IDBFactory() })
    await expect(storage.atomic!(['outbox'], async () => {})).rejects.toThrow(/SDK store/)
    await storage.close()
  })
})
