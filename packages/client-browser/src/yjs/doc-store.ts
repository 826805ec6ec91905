/**
 * @module Where a SamsaYjsProvider keeps the document state it has read from its topic, so a reload starts from it
 * and replays only the records after the stored consumer position.
 *
 * Invariant: a stored entry is (state, offset) where state contains every update record of the topic's partition 0
 * below offset. It only grows: `merge` unions the given updates into the stored state and keeps the larger offset,
 * in one IndexedDB transaction (read, Y.mergeUpdates, put), so two tabs sharing an id never overwrite each other.
 */
import { wrap, type IDBPDatabase } from 'idb'
import * as Y from 'yjs'

/** A document's stored state: a Yjs update containing every update record below `offset`. */
export interface StoredDocState {
  readonly state: Uint8Array
  readonly offset: number
}

export interface YjsDocStore {
  /** The state stored for the document, or null when none is. */
  load(id: string, topic: string): Promise<StoredDocState | null>
  /**
   * Unions `updates` (Yjs updates) into the stored state and raises its offset to `offset` (never lowers it), in one
   * atomic write. The caller guarantees that stored state ∪ updates contains every update record below `offset`.
   */
  merge(id: string, topic: string, updates: readonly Uint8Array[], offset: number): Promise<void>
  /** Forgets the stored state. */
  delete(id: string, topic: string): Promise<void>
  close(): Promise<void>
}

export interface IndexedDbDocStoreOptions {
  /** Default globalThis.indexedDB; tests pass an `IDBFactory` from fake-indexeddb. */
  readonly indexedDB?: IDBFactory
  /** Default 'samsa-yjs'. */
  readonly databaseName?: string
}

const STORE = 'docs'
const VERSION = 1

interface DocRow {
  readonly id: string
  readonly topic: string
  readonly state: Uint8Array
  readonly offset: number
}

const EMPTY_UPDATE = new Uint8Array([0, 0])

const mergedWith = (stored: StoredDocState | undefined, updates: readonly Uint8Array[], offset: number): StoredDocState => {
  const all = stored === undefined ? [...updates] : [stored.state, ...updates]
  const state = all.length === 0 ? EMPTY_UPDATE : all.length === 1 ? all[0]! : Y.mergeUpdates(all)
  return { state, offset: Math.max(offset, stored?.offset ?? 0) }
}

/** One object store `docs` (key [id, topic]) in its own database. */
export function indexedDbDocStore(opts: IndexedDbDocStoreOptions = {}): YjsDocStore {
  const factory = opts.indexedDB ?? globalThis.indexedDB
  if (factory === undefined) throw new TypeError('indexedDbDocStore() needs IndexedDB (globalThis.indexedDB or the indexedDB option); pass docStore: memoryDocStore() or null instead')
  const name = opts.databaseName ?? 'samsa-yjs'
  let dbPromise: Promise<IDBPDatabase> | null = null
  let closed = false
  const db = (): Promise<IDBPDatabase> => {
    if (closed) return Promise.reject(new Error(`the Yjs document store '${name}' is closed`))
    dbPromise ??= (async () => {
      const request = factory.open(name, VERSION)
      request.onupgradeneeded = () => {
        if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE, { keyPath: ['id', 'topic'] })
      }
      let opened: IDBPDatabase
      try {
        opened = (await wrap(request)) as unknown as IDBPDatabase
      } catch (error) {
        dbPromise = null
        throw error
      }
      opened.addEventListener('versionchange', () => {
        opened.close()
        dbPromise = null
      })
      return opened
    })()
    return dbPromise
  }
  return {
    async load(id, topic) {
      const row = (await (await db()).get(STORE, [id, topic])) as DocRow | undefined
      return row === undefined ? null : { state: row.state, offset: row.offset }
    },
    async merge(id, topic, updates, offset) {
      const tx = (await db()).transaction(STORE, 'readwrite')
      // Only requests of tx are awaited in between (Y.mergeUpdates is synchronous), so the transaction stays active.
      const row = (await tx.store.get([id, topic])) as DocRow | undefined
      await tx.store.put({ id, topic, ...mergedWith(row, updates, offset) } satisfies DocRow)
      await tx.done
    },
    async delete(id, topic) {
      await (await db()).delete(STORE, [id, topic])
    },
    async close() {
      closed = true
      const pending = dbPromise
      dbPromise = null
      if (pending !== null) (await pending.catch(() => null))?.close()
    },
  }
}

/** Keeps states in memory: they survive a provider's destroy() but not the page. */
export function memoryDocStore(): YjsDocStore {
  const states = new Map<string, StoredDocState>()
  const key = (id: string, topic: string) => JSON.stringify([id, topic])
  return {
    load: async (id, topic) => states.get(key(id, topic)) ?? null,
    async merge(id, topic, updates, offset) {
      states.set(key(id, topic), mergedWith(states.get(key(id, topic)), updates, offset))
    },
    delete: async (id, topic) => void states.delete(key(id, topic)),
    close: async () => {},
  }
}
