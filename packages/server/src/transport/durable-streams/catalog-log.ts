/**
 * @module The stream catalog's durable copy: each CatalogEvent is one JSON record in the internal one-partition
 * topic `__durable_streams`, produced through Broker.produce (acks all) like any record; on start the events are
 * read back in offset order and replayed, so content types, TTLs, fork points, closures and Producer-Id mappings
 * survive a restart and, in a cluster, a change of leader.
 *
 * Invariants: an event is acknowledged only once the topic's high watermark covers it; a replay applies every
 * event below the high watermark, in order, before the first request is served.
 */
import { z } from 'zod'
import { encodeRecordBatch, SamsaError } from '@samsa/shared'
import type { Broker } from '../../broker/broker.js'
import { readChunk } from './stream-access.js'
import type { CatalogEvent } from './stream-catalog.js'

export const CATALOG_TOPIC = '__durable_streams'
const REF = { topic: CATALOG_TOPIC, partition: 0 }
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

async function ensureTopic(broker: Broker): Promise<void> {
  if (exists(broker)) return
  await broker.createTopic(CATALOG_TOPIC, 1).catch((e: unknown) => {
    if (!(e instanceof SamsaError && e.errorName === 'TOPIC_ALREADY_EXISTS')) throw e
  })
}

export async function persistEvent(broker: Broker, event: CatalogEvent): Promise<void> {
  await ensureTopic(broker)
  const batch = encodeRecordBatch({ records: [{ key: encoder.encode(event.topic), value: encoder.encode(JSON.stringify(event)), headers: [], timestamp: broker.clock.nowMs() }] })
  await broker.produce({ topic: CATALOG_TOPIC, partition: 0, acks: -1, timeoutMs: 0, batch })
}

function parseEvent(v: Uint8Array): CatalogEvent | null {
  try {
    const r = eventSchema.safeParse(JSON.parse(decoder.decode(v)))
    return r.success ? r.data : null
  } catch {
    return null
  }
}

/** Replays every persisted event into `apply` (a record that is not an event is logged and skipped); answers how many. */
export async function replayEvents(broker: Broker, maxReadBytes: number, apply: (e: CatalogEvent) => void): Promise<number> {
  if (!exists(broker)) return 0
  const log = broker.partition(CATALOG_TOPIC, 0)
  let at = log.logStartOffset
  let n = 0
  while (at < log.highWatermark) {
    const chunk = await readChunk(broker, REF, at, maxReadBytes, 0)
    if (chunk.values.length === 0) break
    chunk.values.forEach((v, i) => {
      const parsed = parseEvent(v)
      if (parsed) {
        apply(parsed)
        n++
      } else broker.logger.warn({ topic: CATALOG_TOPIC, offset: at + i }, 'skipped a record of the stream catalog that is not a catalog event')
    })
    at = chunk.next
  }
  return n
}
