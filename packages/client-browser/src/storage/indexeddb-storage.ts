/**
 * @module ClientStorage in IndexedDB (via `idb`), the browser default. One database (default name 'samsa') holds the
 * SDK's stores and, optionally, the application's own stores (`appStores`), so `atomic` can commit app data and
 * consumer positions in ONE transaction.
 *
 * IndexedDB rule for `atomic`: a transaction commits automatically as soon as no request is pending at the end of a
 * task. Inside the handler, await ONLY IndexedDB requests of this transaction (via `idb` wrappers or your own
 * request promises); never `fetch`, timers, or other promises that leave the transaction idle — the transaction would
 * auto-commit half-way and the next request would throw `TransactionInactiveError`, which `atomic` reports as
 * `AtomicTransactionInactiveError`. Do slow work before `atomic`, and only the writes inside.
 */
import { unwrap, wrap, type IDBPDatabase } from 'idb'
import { memoryStorage as memoryStorageFallback, positionIsBehind } from './memory-storage.js'
import { OFFSETS, OUTBOX, PENDING, PRODUCERS, SDK_STORES, databaseVersion, offsetsOf, outboxOf, pendingOf, upgradeDatabase, type AppStores, type OffsetRow, type SamsaDbSchema } from './idb-schema.js'
import type { AtomicTransaction, ClientStorage, StoredPosition } from './stores.js'

export type { AppStores } from './idb-schema.js'

export interface IndexedDbStorageOptions {
  /** Default 'samsa'. */
  readonly databaseName?: string
  /** The application's own object stores in the same database (required for `atomic` over them). */
  readonly appStores?: AppStores
  /** Default globalThis.indexedDB; tests pass a fresh `new IDBFactory()` from fake-indexeddb. */
  readonly indexedDB?: IDBFactory
}

/** The handler of `atomic` let the transaction go idle (it awaited non-IndexedDB work), so IndexedDB committed it early. */
export class AtomicTransactionInactiveError extends Error {
  override readonly name = 'AtomicTransactionInactiveError'
  constructor(cause: unknown) {
    super(
      'The IndexedDB transaction of atomic() was no longer active: the handler awaited something that is not an IndexedDB request of this transaction ' +
        '(fetch, a timer, another database…), so IndexedDB auto-committed it; writes made before that point may already be committed without the rest. ' +
        'Await only requests of this transaction inside atomic(); do other work before it.',
      { cause },
    )
  }
}

const isInactive = (e: unknown): boolean => typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'TransactionInactiveError'

export function indexedDbStorage(opts: IndexedDbStorageOptions = {}): ClientStorage {
  const factory = opts.indexedDB ?? globalThis.indexedDB
  if (factory === undefined) throw new TypeError('indexedDbStorage() needs IndexedDB (globalThis.indexedDB or the indexedDB option); use memoryStorage() instead')
  const name = opts.databaseName ?? 'samsa'
  const version = databaseVersion(opts.appStores)
  let dbPromise: Promise<IDBPDatabase<SamsaDbSchema>> | null = null
  let closed = false

  const db = (): Promise<IDBPDatabase<SamsaDbSchema>> => {
    if (closed) return Promise.reject(new Error(`the IndexedDB storage '${name}' is closed`))
    dbPromise ??= open()
    return dbPromise
  }

  const open = async (): Promise<IDBPDatabase<SamsaDbSchema>> => {
    const request = factory.open(name, version)
    request.onupgradeneeded = (event) => upgradeDatabase(request.result, event.oldVersion, request.transaction!, opts.appStores)
    let opened: IDBPDatabase<SamsaDbSchema>
    try {
      opened = (await wrap(request)) as unknown as IDBPDatabase<SamsaDbSchema>
    } catch (error) {
      dbPromise = null
      if ((error as { name?: unknown })?.name === 'VersionError') {
        throw new Error(`IndexedDB '${name}' has a newer version than ${version} (another tab runs a newer app or SDK); reload this page`, { cause: error })
      }
      throw error
    }
    // Another tab wants to upgrade: step aside so it is not blocked; the next call reopens.
    unwrap(opened).onversionchange = () => {
      opened.close()
      if (dbPromise !== null) dbPromise = null
    }
    return opened
  }

  const storage: ClientStorage = {
    offsets: {
      async get(consumerId, topic, partition) {
        const row = await (await db()).get(OFFSETS, [consumerId, topic, partition])
        return row === undefined ? null : { offset: row.offset, leaderEpoch: row.leaderEpoch }
      },
      async put(consumerId, topic, partition, position, putOpts) {
        const tx = (await db()).transaction(OFFSETS, 'readwrite')
        const current = await tx.store.get([consumerId, topic, partition])
        if (current === undefined || putOpts?.force || !positionIsBehind(position, current)) {
          await tx.store.put({ consumerId, topic, partition, offset: position.offset, leaderEpoch: position.leaderEpoch })
        }
        await tx.done
      },
      async list(consumerId, topic) {
        const rows = await (await db()).getAll(OFFSETS, offsetsOf(consumerId, topic))
        return new Map(rows.map((r) => [r.partition, { offset: r.offset, leaderEpoch: r.leaderEpoch }]))
      },
      async delete(consumerId, topic) {
        await (await db()).delete(OFFSETS, offsetsOf(consumerId, topic))
      },
    },
    outbox: {
      async add(entry, identity, removePending = []) {
        const tx = (await db()).transaction([OUTBOX, PRODUCERS, ...(removePending.length > 0 ? [PENDING] : [])] as [typeof OUTBOX, typeof PRODUCERS, typeof PENDING], 'readwrite')
        try {
          // A failed request fails tx.done; its own promise is not awaited.
          tx.objectStore(OUTBOX).put(entry).catch(() => {})
          tx.objectStore(PRODUCERS).put(identity).catch(() => {})
          for (const seq of removePending) tx.objectStore(PENDING).delete([entry.producer, seq]).catch(() => {})
        } catch (error) {
          // A request that could not even be made (e.g. an invalid key): commit none of the others.
          tx.abort()
          await tx.done.catch(() => {})
          throw error
        }
        await tx.done
      },
      async remove(producer, topic, partition, baseSequence) {
        await (await db()).delete(OUTBOX, [producer, topic, partition, baseSequence])
      },
      async list(producer) {
        return (await db()).getAll(OUTBOX, outboxOf(producer))
      },
    },
    pending: {
      async add(records) {
        const tx = (await db()).transaction(PENDING, 'readwrite')
        try {
          for (const r of records) tx.store.put(r).catch(() => {})
        } catch (error) {
          tx.abort()
          await tx.done.catch(() => {})
          throw error
        }
        await tx.done
      },
      async list(producer) {
        return (await db()).getAll(PENDING, pendingOf(producer))
      },
      async remove(producer, seqs) {
        if (seqs.length === 0) return
        const tx = (await db()).transaction(PENDING, 'readwrite')
        for (const seq of seqs) tx.store.delete([producer, seq]).catch(() => {})
        await tx.done
      },
    },
    producers: {
      async get(producerName) {
        return (await (await db()).get(PRODUCERS, producerName)) ?? null
      },
      async put(identity) {
        await (await db()).put(PRODUCERS, identity)
      },
    },
    async atomic<T>(appStores: readonly string[], fn: (tx: AtomicTransaction) => Promise<T>): Promise<T> {
      for (const s of appStores) {
        if ((SDK_STORES as readonly string[]).includes(s)) throw new TypeError(`atomic(): '${s}' is an SDK store; list only the app's own stores`)
      }
      const raw = unwrap(await db()) as IDBDatabase
      const tx = raw.transaction([...new Set([...appStores, OFFSETS])], 'readwrite')
      let finished = false
      const done = new Promise<void>((resolve, reject) => {
        tx.oncomplete = () => ((finished = true), resolve())
        tx.onabort = () => ((finished = true), reject(tx.error ?? new DOMException('the transaction was aborted', 'AbortError')))
        tx.onerror = () => {} // the abort event follows
      })
      done.catch(() => {})
      // Writing to a transaction that went idle throws TransactionInactiveError, or InvalidStateError once it has finished.
      const translate = (e: unknown): unknown => (isInactive(e) || (finished && (e as { name?: unknown })?.name === 'InvalidStateError') ? new AtomicTransactionInactiveError(e) : e)
      const atomicTx: AtomicTransaction = {
        idb: tx,
        objectStore(storeName) {
          try {
            return tx.objectStore(storeName)
          } catch (error) {
            throw translate(error)
          }
        },
        putPosition(consumerId: string, topic: string, partition: number, position: StoredPosition) {
          const row: OffsetRow = { consumerId, topic, partition, offset: position.offset, leaderEpoch: position.leaderEpoch }
          try {
            tx.objectStore(OFFSETS).put(row)
          } catch (error) {
            throw translate(error)
          }
        },
      }
      let result: T
      try {
        result = await fn(atomicTx)
      } catch (error) {
        if (!finished) {
          try {
            tx.abort()
          } catch {
            // already committing: the abort below is reported through `done`
          }
        }
        await done.catch(() => {})
        throw translate(error)
      }
      await done
      return result
    },
    async close() {
      closed = true
      const p = dbPromise
      dbPromise = null
      if (p !== null) (await p.catch(() => null))?.close()
    },
  }
  return storage
}

/** The default storage of createClient: IndexedDB when the environment has it, memory otherwise. */
export function defaultStorage(): ClientStorage {
  return globalThis.indexedDB !== undefined ? indexedDbStorage() : memoryStorageFallback()
}
