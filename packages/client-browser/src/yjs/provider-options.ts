/** @module The options and events of SamsaYjsProvider, and the checks of its constructor's arguments. */
import type * as Y from 'yjs'
import type { SamsaClient } from '../client.js'
import type { YjsDocStore } from './doc-store.js'

export interface SamsaYjsProviderOptions {
  /** The document's topic; the provider uses its partition 0 (one topic per document). */
  readonly topic: string
  /** Producer id (durable outbox) and consumer id (stored position) in the client's storage; also the document store key. */
  readonly id: string
  /** Where snapshots go. Default `${topic}.snapshots`. */
  readonly snapshotTopic?: string
  /** Share `provider.awareness` (y-protocols) over this topic; without it `awareness` is null. */
  readonly awarenessTopic?: string
  /** The client whose update lands at offset k·N − 1 writes a snapshot. Default 100; 0 writes none automatically. */
  readonly snapshotEveryUpdates?: number
  /** A peer whose awareness state is not renewed within this many ms is removed; the own state is renewed at half of it. Default 30 000. */
  readonly awarenessTimeoutMs?: number
  /** Where the document state read from the topic is kept across reloads. Default `indexedDbDocStore()` when IndexedDB exists, else null (every start loads the latest snapshot). */
  readonly docStore?: YjsDocStore | null
  /** The document state is stored (then the position committed) this many ms after a record was read. Default 500. */
  readonly persistDelayMs?: number
  /** Create the topics (document, snapshots, awareness) with one partition if they do not exist. Default true. */
  readonly createTopics?: boolean
}

export interface SamsaYjsProviderEvents {
  /** The provider has read its topic up to the high watermark found when it subscribed (called once, with true). */
  synced: (synced: boolean) => void
  /** The count of local updates not yet acknowledged changed. */
  'unsynced-changes': (count: number) => void
  /** A subscription error, a record that is not a Yjs update, a retention gap no snapshot covers (YjsGapError), a failed store write. */
  error: (error: Error) => void
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null

export function checkProviderArguments(client: unknown, doc: unknown, opts: unknown): asserts opts is SamsaYjsProviderOptions {
  const where = 'new SamsaYjsProvider(client, doc, options)'
  if (!isObject(client) || typeof client['producer'] !== 'function' || typeof client['consumer'] !== 'function') throw new TypeError(`${where}: client must be a SamsaClient (createClient())`)
  if (!isObject(doc) || typeof (doc as unknown as Y.Doc).on !== 'function' || typeof (doc as unknown as Y.Doc).clientID !== 'number') throw new TypeError(`${where}: doc must be a Y.Doc`)
  if (!isObject(opts)) throw new TypeError(`${where}: options must be an object with topic and id`)
  for (const name of ['topic', 'id'] as const) {
    if (typeof opts[name] !== 'string' || opts[name] === '') throw new TypeError(`${where}: options.${name} must be a non-empty string`)
  }
  for (const name of ['snapshotTopic', 'awarenessTopic'] as const) {
    if (opts[name] !== undefined && (typeof opts[name] !== 'string' || opts[name] === '')) throw new TypeError(`${where}: options.${name} must be a non-empty string`)
  }
  const count = (name: string, min: number) => {
    const v = opts[name]
    if (v !== undefined && (!Number.isSafeInteger(v) || (v as number) < min)) throw new TypeError(`${where}: options.${name} must be an integer ≥ ${min}`)
  }
  count('snapshotEveryUpdates', 0)
  count('awarenessTimeoutMs', 100)
  count('persistDelayMs', 0)
  const store = opts['docStore']
  if (store !== undefined && store !== null && (!isObject(store) || typeof store['load'] !== 'function' || typeof store['merge'] !== 'function')) {
    throw new TypeError(`${where}: options.docStore must be a YjsDocStore (indexedDbDocStore(), memoryDocStore()) or null`)
  }
  if (opts['createTopics'] !== undefined && typeof opts['createTopics'] !== 'boolean') throw new TypeError(`${where}: options.createTopics must be a boolean`)
}
