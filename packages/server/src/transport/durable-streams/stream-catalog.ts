/**
 * @module StreamCatalog: what the Durable Streams protocol keeps about a stream beyond its records (content type,
 * TTL or expiry time, closure, the last Stream-Seq, and the Samsa producer id given to each Producer-Id), keyed by
 * topic. Records, offsets and producer sequences live in the topic's log, never here.
 *
 * Invariants: a stream is in the catalog only while its topic exists; an expired stream is answered as missing
 * (the caller deletes its topic); a closed stream never reopens; each (stream, Producer-Id) gets its own Samsa
 * producer id, allocated by the broker, so it can never be another producer's. Held in memory: it is rebuilt
 * empty on restart (docs/durable-streams.md, "What is not kept across a restart").
 */
import type { ProducerHeaders } from './stream-headers.js'

export interface StreamConfig {
  readonly contentType: string
  readonly ttlSeconds: number | null
  readonly expiresAtMs: number | null
  /** A fork's source and where it was forked (compared by an idempotent re-create); null for a plain stream. */
  readonly fork: ForkPoint | null
}

export interface ForkPoint {
  readonly from: string
  readonly offset: number
  /** Bytes (or, in JSON mode, values) of the record at `offset` the fork took; 0: none. */
  readonly subOffset: number
}

export interface StreamProducer {
  readonly samsaId: number
  /** Highest epoch and, in it, sequence the broker accepted (for the Producer-Seq header of a duplicate's answer). */
  epoch: number
  lastSeq: number
}

export interface StreamEntry {
  readonly topic: string
  readonly config: StreamConfig
  /** Wall-clock ms of its creation: tells a stream from an earlier one of the same name (in ETags). */
  readonly createdAtMs: number
  /** Wall-clock ms of the last read or write (a sliding TTL counts from it). */
  lastAccessMs: number
  closed: boolean
  /** The producer tuple that closed it, so a resent close is answered as a duplicate. */
  closedBy: ProducerHeaders | null
  lastStreamSeq: string | null
  readonly producers: Map<string, StreamProducer>
  /** Live forks made from this stream; while there are any, a delete only marks it deleted (410) and keeps its entry. */
  forks: number
  /** Deleted while forks of it lived: answered 410 Gone until the last fork goes. */
  softDeleted: boolean
  /** Called once when the stream closes or goes (waiting live reads end). */
  readonly onEnd: Set<() => void>
}

export function sameConfig(a: StreamConfig, b: StreamConfig, sameType: (x: string, y: string) => boolean): boolean {
  const sameFork = a.fork === null || b.fork === null ? a.fork === b.fork : a.fork.from === b.fork.from && a.fork.offset === b.fork.offset && a.fork.subOffset === b.fork.subOffset
  return sameType(a.contentType, b.contentType) && a.ttlSeconds === b.ttlSeconds && a.expiresAtMs === b.expiresAtMs && sameFork
}

/** When the stream expires (wall-clock ms), or null when it does not. */
export function expiresAtMs(e: StreamEntry): number | null {
  if (e.config.expiresAtMs !== null) return e.config.expiresAtMs
  if (e.config.ttlSeconds !== null) return e.lastAccessMs + e.config.ttlSeconds * 1000
  return null
}

export class StreamCatalog {
  readonly #entries = new Map<string, StreamEntry>()

  get(topic: string): StreamEntry | undefined {
    return this.#entries.get(topic)
  }

  add(topic: string, config: StreamConfig, nowMs: number): StreamEntry {
    const entry: StreamEntry = { topic, config, createdAtMs: nowMs, lastAccessMs: nowMs, closed: false, closedBy: null, lastStreamSeq: null, producers: new Map(), forks: 0, softDeleted: false, onEnd: new Set() }
    this.#entries.set(topic, entry)
    return entry
  }

  /** Marks the entry deleted while forks of it live, and ends its waiting reads. */
  softDelete(e: StreamEntry): void {
    e.softDeleted = true
    endWaiters(e)
  }

  /** Removes the entry and ends its waiting reads. */
  remove(topic: string): void {
    const e = this.#entries.get(topic)
    if (!e) return
    this.#entries.delete(topic)
    endWaiters(e)
  }

  close(e: StreamEntry, by: ProducerHeaders | null): void {
    if (e.closed) return
    e.closed = true
    e.closedBy = by
    endWaiters(e)
  }
}

function endWaiters(e: StreamEntry): void {
  const waiters = [...e.onEnd]
  e.onEnd.clear()
  for (const w of waiters) w()
}
