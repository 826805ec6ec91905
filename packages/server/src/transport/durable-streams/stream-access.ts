/**
 * @module What every Durable Streams route shares: the stream a path names, the lookup of a stream (its catalog
 * entry, its expiry, its topic), and the read of one chunk of records through Broker.fetch, the WebSocket path's
 * fetch, so reads obey the same rules: never at or above the high watermark, a wait woken by the high watermark,
 * bounded by maxPushBytes per read and by requestTimeoutMs per wait.
 */
import { decodeRecords, SamsaError, scanBatches, topicNameProblem } from '@samsa/shared'
import type { Broker } from '../../broker/broker.js'
import { expiresAtMs, type StreamCatalog, type StreamEntry } from './stream-catalog.js'
import { endStream } from './stream-lifecycle.js'
import type { PeerCalls } from './stream-cluster.js'

/** A stream path: a topic, and optionally a partition (`notes` is notes/0, `notes/2` partition 2). */
export interface StreamRef {
  readonly topic: string
  readonly partition: number
}

/** The content type of a topic created over WebSocket (it has no catalog entry). */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream'

/** Topics whose names start with `__` are the broker's own (the stream catalog): no stream path names them. */
export function streamRef(path: string): StreamRef | null {
  const parts = path.split('/')
  if (parts.length > 2 || topicNameProblem(parts[0]!) !== null || parts[0]!.startsWith('__')) return null
  if (parts.length === 1) return { topic: parts[0]!, partition: 0 }
  if (!/^(0|[1-9][0-9]{0,8})$/.test(parts[1]!)) return null
  return { topic: parts[0]!, partition: Number(parts[1]) }
}

export interface StreamView {
  readonly ref: StreamRef
  /** Absent for a topic created over WebSocket: open, no TTL, DEFAULT_CONTENT_TYPE. */
  readonly entry: StreamEntry | undefined
  readonly contentType: string
}

export interface StreamAccess {
  readonly broker: Broker
  readonly catalog: StreamCatalog
  /** The stream a request path names (a fork's Stream-Forked-From), or null when it is not under the prefix. */
  readonly refOfPath: (path: string) => StreamRef | null
  /** The other nodes of a cluster (stream-cluster.ts); absent: a single node. */
  readonly peers?: PeerCalls
  /** How long a produce waits for a reachable leader of a new partition. */
  readonly deadlineMs: number
}

function topicExists(broker: Broker, ref: StreamRef): boolean {
  try {
    return ref.partition < broker.describeTopic(ref.topic).partitions.length
  } catch (e) {
    if (e instanceof SamsaError && e.errorName === 'UNKNOWN_TOPIC_OR_PARTITION') return false
    throw e
  }
}

/** The stream, or null when it does not exist or has expired (an expired stream's topic is deleted here). */
export async function lookup(s: StreamAccess, ref: StreamRef): Promise<StreamView | null> {
  const entry = s.catalog.get(ref.topic)
  if (entry) {
    const expires = expiresAtMs(entry)
    if (entry.softDeleted) return null
    if (expires !== null && s.broker.clock.nowMs() >= expires) {
      await endStream(s.broker, s.catalog, entry)
      return null
    }
    if (!topicExists(s.broker, ref)) {
      // Deleted over WebSocket (or the admin API): the stream went with it.
      await s.catalog.remove(ref.topic)
      return null
    }
    return { ref, entry, contentType: entry.config.contentType }
  }
  return topicExists(s.broker, ref) ? { ref, entry: undefined, contentType: DEFAULT_CONTENT_TYPE } : null
}

export interface Chunk {
  /** Each record's value, in offset order, from the requested offset on. */
  readonly values: Uint8Array[]
  /** The offset after the last value (the requested offset when there is none). */
  readonly next: number
  readonly highWatermark: number
}

const EMPTY = new Uint8Array(0)

/**
 * Reads from `offset` (waiting up to waitMs for a record when there is none) through Broker.fetch. `onGone`
 * registers what ends the wait early (the request aborted, the stream closed or deleted); then the answer is empty.
 */
export async function readChunk(broker: Broker, ref: StreamRef, offset: number, maxBytes: number, waitMs: number, onGone?: (cancel: () => void) => () => void): Promise<Chunk> {
  let records: Uint8Array
  let highWatermark: number
  try {
    const r = await broker.fetch({ topic: ref.topic, partition: ref.partition, offset, maxBytes, maxWaitMs: waitMs, minBytes: waitMs > 0 ? 1 : 0 }, onGone)
    records = r.records
    highWatermark = r.highWatermark
  } catch (e) {
    if (e instanceof SamsaError && e.errorName === 'NETWORK_EXCEPTION') {
      return { values: [], next: offset, highWatermark: broker.partition(ref.topic, ref.partition).highWatermark }
    }
    throw e
  }
  return { ...valuesFrom(records, offset), highWatermark }
}

/** The values of the records in `records` (fetched batches) from `offset` on, and the offset after the last. */
export function valuesFrom(records: Uint8Array, offset: number): { values: Uint8Array[]; next: number } {
  const values: Uint8Array[] = []
  let next = offset
  for (const { at } of scanBatches(records)) {
    for (const r of decodeRecords(records, at).records) {
      if (r.offset < offset) continue
      values.push(r.value ?? EMPTY)
      next = r.offset + 1
    }
  }
  return { values, next }
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
