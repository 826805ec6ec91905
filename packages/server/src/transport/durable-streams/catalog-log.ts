/**
 * @module The stream catalog's durable copy: each CatalogEvent is one JSON record in the internal one-partition
 * topic `__durable_streams`, produced (acks all) on that partition's leader, wherever it is, like any record. Every
 * node follows the topic: before a stream request is served, `sync` applies, in offset order, every event below
 * the catalog leader's high watermark not applied yet, so content types, TTLs, fork points, closures and
 * Producer-Id mappings survive a restart and are the same on every node of a cluster (a request sees every event
 * acknowledged before it began).
 *
 * Invariants: an event is acknowledged only once the topic's high watermark covers it; a sync in a cluster reads up
 * to the catalog leader's log end as of its start (a new leader's high watermark may lag behind what was
 * acknowledged: the sync waits for it, up to deadlineMs); events are applied once
 * each: an event this node persisted was applied when it was made, and its offset is skipped when `sync` reads it
 * back; syncs run one at a time, and a request waits for one that began after it.
 */
import { z } from 'zod'
import { decodeRecords, encodeRecordBatch, scanBatches, SamsaError } from '@samsa/shared'
import type { Broker } from '../../broker/broker.js'
import type { CatalogEvent } from './stream-catalog.js'
import { fetchOnLeader, logEndOnLeader, produceOnLeader, type PeerCalls } from './stream-cluster.js'

/** How long one read of a catalog that is behind waits for its leader's high watermark to move. */
const CATCH_UP_WAIT_MS = 200

export const CATALOG_TOPIC = '__durable_streams'
const encoder = new TextEncoder()
const decoder = new TextDecoder()

const producerSchema = z.object({ id: z.string(), epoch: z.number(), seq: z.number() })
const configSchema = z.object({
  contentType: z.string(),
  ttlSeconds: z.number().nullable(),
  expiresAtMs: z.number().nullable(),
  fork: z.object({ from: z.string(), offset: z.number(), subOffset: z.number() }).nullable(),
})
const eventSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('create'), topic: z.string(), config: configSchema, createdAtMs: z.number() }),
  z.object({ op: z.literal('close'), topic: z.string(), by: producerSchema.nullable() }),
  z.object({ op: z.literal('producer'), topic: z.string(), id: z.string(), samsaId: z.number() }),
  z.object({ op: z.literal('soft-delete'), topic: z.string() }),
  z.object({ op: z.literal('remove'), topic: z.string() }),
])

function exists(broker: Broker): boolean {
  return broker.listTopics().some((t) => t.name === CATALOG_TOPIC)
}

function parseEvent(v: Uint8Array): CatalogEvent | null {
  try {
    const r = eventSchema.safeParse(JSON.parse(decoder.decode(v)))
    return r.success ? r.data : null
  } catch {
    return null
  }
}

export interface CatalogLogOptions {
  readonly maxReadBytes: number
  /** How long a persist or sync may wait for the catalog partition to have a reachable leader. */
  readonly deadlineMs: number
  /** Other nodes (a cluster); absent: a single node, every call local. */
  readonly peers?: PeerCalls
}

export class CatalogLog {
  /** The next catalog offset `sync` reads. */
  #next = 0
  /** Offsets of events this node persisted and applied already, not yet read back. */
  readonly #own = new Set<number>()
  #running: Promise<void> | null = null
  /** A sync has completed (a single node then never needs another). */
  #caughtUp = false
  #queued: Promise<void> | null = null

  constructor(
    private readonly broker: Broker,
    private readonly apply: (e: CatalogEvent) => void,
    private readonly opts: CatalogLogOptions,
  ) {}

  async persist(event: CatalogEvent): Promise<void> {
    await this.#ensureTopic()
    const batch = encodeRecordBatch({ records: [{ key: encoder.encode(event.topic), value: encoder.encode(JSON.stringify(event)), headers: [], timestamp: this.broker.clock.nowMs() }] })
    const r = await produceOnLeader(this.broker, this.opts.peers, { topic: CATALOG_TOPIC, partition: 0, acks: -1, timeoutMs: 0, batch }, this.opts.deadlineMs)
    if (r.baseOffset >= this.#next) this.#own.add(r.baseOffset)
  }

  /**
   * Resolves once every event acknowledged before the call is applied. A single node (no peers) writes every event
   * itself and applies it when made: after its first complete sync (the events of earlier runs) there is nothing
   * to fetch, so it costs nothing per request.
   */
  sync(): Promise<void> {
    if (!this.opts.peers && this.#caughtUp) return Promise.resolve()
    if (!this.#running) return this.#start()
    // One that began before this call may have missed an event: the next one (shared by every caller meanwhile).
    return (this.#queued ??= this.#running.catch(() => undefined).then(() => {
      this.#queued = null
      return this.#start()
    }))
  }

  /**
   * Follows the catalog until the broker shuts down (a cluster node): waits (long poll, `waitMs`) on the catalog's
   * leader for an event above the last applied, then syncs; so a node that becomes a stream's leader knows its
   * closure without waiting for an HTTP request. A failed wait is retried after `waitMs / 10`.
   */
  async follow(waitMs: number): Promise<void> {
    const { broker } = this
    while (!broker.shuttingDown) {
      try {
        if (exists(broker)) {
          const req = { topic: CATALOG_TOPIC, partition: 0, offset: this.#next, maxBytes: 1, maxWaitMs: waitMs, minBytes: 1 }
          await fetchOnLeader(broker, this.opts.peers, req, this.opts.deadlineMs)
          await this.sync()
          continue
        }
      } catch {
        // No reachable leader yet (an election, a start): tried again below.
      }
      await new Promise<void>((r) => void broker.clock.setTimeout(r, Math.max(10, waitMs / 10)))
    }
  }

  #start(): Promise<void> {
    const run = this.#catchUp().then(() => {
      this.#caughtUp = true
    }).finally(() => {
      if (this.#running === run) this.#running = null
    })
    this.#running = run
    return run
  }

  async #ensureTopic(): Promise<void> {
    if (exists(this.broker)) return
    await this.broker.createTopic(CATALOG_TOPIC, 1).catch((e: unknown) => {
      if (!(e instanceof SamsaError && e.errorName === 'TOPIC_ALREADY_EXISTS')) throw e
    })
  }

  async #catchUp(): Promise<void> {
    if (!exists(this.broker)) return
    const { broker, opts } = this
    // Everything acknowledged before now is below the leader's log end; a leader just elected may still have an
    // older high watermark, so the reads below wait for it to pass that end (in a cluster; a single node's log end
    // is its high watermark once appends are acknowledged).
    const target = opts.peers ? await logEndOnLeader(broker, opts.peers, CATALOG_TOPIC, 0, opts.deadlineMs) : 0
    const until = broker.clock.monotonicMs() + opts.deadlineMs
    for (;;) {
      const behind = this.#next < target
      const r = await fetchOnLeader(broker, opts.peers, { topic: CATALOG_TOPIC, partition: 0, offset: this.#next, maxBytes: opts.maxReadBytes, maxWaitMs: behind ? CATCH_UP_WAIT_MS : 0, minBytes: behind ? 1 : 0 }, opts.deadlineMs)
      if (this.#next < r.logStartOffset) this.#next = r.logStartOffset
      let read = false
      for (const { at } of scanBatches(r.records)) {
        for (const rec of decodeRecords(r.records, at).records) {
          if (rec.offset < this.#next) continue
          read = true
          this.#next = rec.offset + 1
          if (this.#own.delete(rec.offset)) continue
          const parsed = rec.value ? parseEvent(rec.value) : null
          if (parsed) this.apply(parsed)
          else broker.logger.warn({ topic: CATALOG_TOPIC, offset: rec.offset }, 'skipped a record of the stream catalog that is not a catalog event')
        }
      }
      if (this.#next >= target && (!read || this.#next >= r.highWatermark)) return
      if (broker.clock.monotonicMs() >= until) throw new SamsaError('REQUEST_TIMED_OUT', `the stream catalog's leader did not commit up to offset ${target} within ${opts.deadlineMs} ms`)
    }
  }
}
