/**
 * @module StreamCatalog: what the Durable Streams protocol keeps about a stream beyond its records (content type,
 * TTL or expiry time, fork point, closure, deletion while forks live, and the Samsa producer id given to each
 * Producer-Id), keyed by topic. Records, offsets and producer epochs and sequences live in the topic's log, never
 * here.
 *
 * Invariants: every change is one CatalogEvent, applied by `apply` alone (so replaying the persisted events
 * rebuilds the same catalog), and a mutator resolves only once its event is persisted (catalog-log.ts); a closed
 * stream never reopens; each (stream, Producer-Id) gets its own Samsa producer id, allocated by the broker, so it
 * is never another producer's; `forks` equals the entries whose fork point names this stream.
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

export interface StreamEntry {
  readonly topic: string
  readonly config: StreamConfig
  /** Wall-clock ms of its creation: tells a stream from an earlier one of the same name (in ETags). */
  readonly createdAtMs: number
  /** Wall-clock ms of the last read or write (a sliding TTL counts from it); in memory: a restart starts it again. */
  lastAccessMs: number
  closed: boolean
  /** The producer tuple that closed it, so a resent close is answered as a duplicate. */
  closedBy: ProducerHeaders | null
  /** The last Stream-Seq accepted; in memory. */
  lastStreamSeq: string | null
  /** Producer-Id → the Samsa producer id it appends as. */
  readonly producers: Map<string, number>
  /** Live forks made from this stream; while there are any, a delete only marks it deleted (410) and keeps its entry. */
  forks: number
  /** Deleted while forks of it lived: answered 410 Gone until the last fork goes. */
  softDeleted: boolean
  /** Called once when the stream closes or goes (waiting live reads end). */
  readonly onEnd: Set<() => void>
  /** HTTP appends being written; a close waits for them, so nothing it did not see lands after its final append. */
  readonly writes: { inFlight: number; closing: boolean; readonly drained: Set<() => void> }
}

export type CatalogEvent =
  | { readonly op: 'create'; readonly topic: string; readonly config: StreamConfig; readonly createdAtMs: number }
  | { readonly op: 'close'; readonly topic: string; readonly by: ProducerHeaders | null }
  | { readonly op: 'producer'; readonly topic: string; readonly id: string; readonly samsaId: number }
  | { readonly op: 'soft-delete'; readonly topic: string }
  | { readonly op: 'remove'; readonly topic: string }

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
  /** Creations under way (topic → their end), so a concurrent PUT of the same name waits and compares configs. */
  readonly creating = new Map<string, Promise<unknown>>()

  /** `persist` stores an event durably (catalog-log.ts); `nowMs` stamps creations and starts replayed TTLs. */
  constructor(
    private readonly persist: (e: CatalogEvent) => Promise<void>,
    private readonly nowMs: () => number,
  ) {}

  get(topic: string): StreamEntry | undefined {
    return this.#entries.get(topic)
  }

  /** The one place the catalog changes; also what a replay calls. */
  apply(ev: CatalogEvent): void {
    const e = this.#entries.get(ev.topic)
    switch (ev.op) {
      case 'create': {
        // The same creation read back (a node reads its own events too): changes nothing.
        if (e && e.createdAtMs === ev.createdAtMs) return
        if (e) this.apply({ op: 'remove', topic: ev.topic })
        const entry: StreamEntry = {
          topic: ev.topic, config: ev.config, createdAtMs: ev.createdAtMs, lastAccessMs: Math.max(ev.createdAtMs, this.nowMs()), closed: false, closedBy: null,
          lastStreamSeq: null, producers: new Map(), forks: 0, softDeleted: false, onEnd: new Set(), writes: { inFlight: 0, closing: false, drained: new Set() },
        }
        this.#entries.set(ev.topic, entry)
        const source = ev.config.fork ? this.#entries.get(ev.config.fork.from) : undefined
        if (source) source.forks++
        return
      }
      case 'close':
        if (!e || e.closed) return
        e.closed = true
        e.closedBy = ev.by
        endWaiters(e)
        return
      case 'producer':
        e?.producers.set(ev.id, ev.samsaId)
        return
      case 'soft-delete':
        if (!e) return
        e.softDeleted = true
        endWaiters(e)
        return
      case 'remove': {
        if (!e) return
        this.#entries.delete(ev.topic)
        endWaiters(e)
        const source = e.config.fork ? this.#entries.get(e.config.fork.from) : undefined
        if (source) source.forks--
        return
      }
    }
  }

  async #change(ev: CatalogEvent): Promise<void> {
    this.apply(ev)
    await this.persist(ev)
  }

  async add(topic: string, config: StreamConfig): Promise<StreamEntry> {
    await this.#change({ op: 'create', topic, config, createdAtMs: this.nowMs() })
    return this.#entries.get(topic)!
  }

  close(e: StreamEntry, by: ProducerHeaders | null): Promise<void> {
    return e.closed ? Promise.resolve() : this.#change({ op: 'close', topic: e.topic, by })
  }

  addProducer(e: StreamEntry, id: string, samsaId: number): Promise<void> {
    return this.#change({ op: 'producer', topic: e.topic, id, samsaId })
  }

  softDelete(e: StreamEntry): Promise<void> {
    return this.#change({ op: 'soft-delete', topic: e.topic })
  }

  remove(topic: string): Promise<void> {
    return this.#entries.has(topic) ? this.#change({ op: 'remove', topic }) : Promise.resolve()
  }
}

function endWaiters(e: StreamEntry): void {
  const waiters = [...e.onEnd]
  e.onEnd.clear()
  for (const w of waiters) w()
}
