/**
 * @module Forks (PUT with Stream-Forked-From): a new stream that starts with its source's records below the fork
 * offset (and, with Stream-Fork-Sub-Offset, the first bytes or JSON values of the record at it), then goes its own
 * way. Samsa copies that prefix into the fork's own one-partition topic at the same offsets, through
 * Broker.produce, so a fork is an ordinary topic to every reader, WebSocket ones included. In a cluster the source
 * is read on its leader and the fork written on its own, wherever each is (stream-cluster.ts).
 *
 * Invariants: a fork's record at offset n equals its source's record at n for every n below the fork offset; its
 * copy carries no producer id, so no producer state crosses the fork; a source whose start retention removed
 * cannot be forked (the offsets would no longer line up).
 */
import { encodeRecordBatch, SamsaError } from '@samsa/shared'
import { lookup, valuesFrom, type StreamAccess, type StreamRef } from './stream-access.js'
import { fetchOnLeader, produceOnLeader } from './stream-cluster.js'
import type { StreamConfig, StreamEntry } from './stream-catalog.js'
import { isJsonType, mediaType, parseCanonicalInt } from './stream-headers.js'
import { parseOffset } from './stream-offsets.js'

export interface ForkPlan {
  readonly config: StreamConfig
  readonly source: StreamEntry
  /** Copies the inherited records into the fork's (new, empty) topic. */
  copy(target: StreamRef): Promise<void>
}

export type Refusal = { readonly status: number; readonly message: string }

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const COPY_BATCH_BYTES = 256 * 1024

/** The JSON values a stored record holds (one POST's values, joined by commas). */
function jsonValuesOf(record: Uint8Array): string[] {
  const values: unknown = JSON.parse(`[${decoder.decode(record)}]`)
  return Array.isArray(values) ? values.map((v) => JSON.stringify(v)) : []
}

/** The first `sub` bytes (or JSON values) of a record; null when it holds fewer. */
function prefixOf(record: Uint8Array, sub: number, json: boolean): Uint8Array | null {
  if (!json) return sub <= record.length ? record.slice(0, sub) : null
  const values = jsonValuesOf(record)
  return sub <= values.length ? encoder.encode(values.slice(0, sub).join(',')) : null
}

/** Appends `values` to the fork on its leader, wherever it is (in a cluster, maybe not this node). */
async function produceValues(s: StreamAccess, target: StreamRef, values: readonly Uint8Array[]): Promise<void> {
  if (values.length === 0) return
  const now = s.broker.clock.nowMs()
  const batch = encodeRecordBatch({ records: values.map((value) => ({ key: null, value, headers: [], timestamp: now })) })
  await produceOnLeader(s.broker, s.peers, { topic: target.topic, partition: target.partition, acks: -1, timeoutMs: 0, batch }, s.deadlineMs)
}

/** The source's records from `offset` (up to maxBytes, at least one), read on its leader, wherever it is. */
async function readSource(s: StreamAccess, ref: StreamRef, offset: number, maxBytes: number) {
  const r = await fetchOnLeader(s.broker, s.peers, { topic: ref.topic, partition: ref.partition, offset, maxBytes, maxWaitMs: 0, minBytes: 0 }, s.deadlineMs)
  return { ...valuesFrom(r.records, offset), highWatermark: r.highWatermark, logStartOffset: r.logStartOffset }
}

const RETENTION_REMOVED: Refusal = { status: 409, message: 'retention removed the start of the source stream: it cannot be forked' }

export interface ForkRequest {
  readonly header: (name: string) => string | undefined
  readonly contentType: string | null
  readonly ttlSeconds: number | null
  readonly expiresAtMs: number | null
  readonly maxReadBytes: number
}

export async function planFork(s: StreamAccess, req: ForkRequest): Promise<ForkPlan | Refusal> {
  const fromPath = req.header('stream-forked-from')!
  const fromRef = s.refOfPath(fromPath)
  if (!fromRef || fromRef.partition !== 0) return { status: 400, message: `Stream-Forked-From must name a stream of this server, got ${JSON.stringify(fromPath)}` }
  if (s.catalog.get(fromRef.topic)?.softDeleted) return { status: 409, message: 'the source stream was deleted' }
  const view = await lookup(s, fromRef)
  if (!view) return { status: 404, message: 'no such source stream' }
  const source = view.entry
  if (!source) return { status: 409, message: 'only a stream created over HTTP can be forked' }
  const contentType = req.contentType ?? source.config.contentType
  if (mediaType(contentType) !== mediaType(source.config.contentType)) return { status: 409, message: `the source's content type is ${source.config.contentType}` }
  let probe: Awaited<ReturnType<typeof readSource>>
  try {
    probe = await readSource(s, fromRef, 0, 1)
  } catch (e) {
    if (e instanceof SamsaError && e.errorName === 'OFFSET_OUT_OF_RANGE') return RETENTION_REMOVED
    throw e
  }
  const tail = probe.highWatermark
  if (probe.logStartOffset > 0) return RETENTION_REMOVED
  const rawOffset = req.header('stream-fork-offset')
  const parsed = rawOffset === undefined ? { kind: 'now' as const } : parseOffset(rawOffset)
  if (!parsed) return { status: 400, message: `Stream-Fork-Offset ${JSON.stringify(rawOffset)} is not an offset of this server` }
  const offset = parsed.kind === 'start' ? 0 : parsed.kind === 'now' ? tail : parsed.offset
  if (offset > tail) return { status: 400, message: 'Stream-Fork-Offset is beyond the end of the source stream' }
  const rawSub = req.header('stream-fork-sub-offset')
  let sub = 0
  let partial: Uint8Array | null = null
  if (rawSub !== undefined) {
    const p = parseCanonicalInt('Stream-Fork-Sub-Offset', rawSub, Number.MAX_SAFE_INTEGER)
    if (!p.ok) return { status: 400, message: p.problem }
    sub = p.value
    if (tail === 0) return { status: 400, message: 'Stream-Fork-Sub-Offset needs a source stream with records' }
    if (sub > 0 && rawOffset === undefined) return { status: 400, message: 'Stream-Fork-Sub-Offset needs Stream-Fork-Offset' }
    if (sub > 0) {
      if (offset >= tail) return { status: 400, message: 'there is no record at Stream-Fork-Offset to take a sub-offset of' }
      const record = (await readSource(s, fromRef, offset, req.maxReadBytes)).values[0]!
      partial = prefixOf(record, sub, isJsonType(contentType))
      if (!partial) return { status: 400, message: `Stream-Fork-Sub-Offset ${sub} is beyond the record at Stream-Fork-Offset` }
    }
  }
  const inherit = req.ttlSeconds === null && req.expiresAtMs === null
  const config: StreamConfig = {
    contentType,
    ttlSeconds: inherit ? source.config.ttlSeconds : req.ttlSeconds,
    expiresAtMs: inherit ? source.config.expiresAtMs : req.expiresAtMs,
    fork: { from: fromRef.topic, offset, subOffset: sub },
  }
  const copy = async (target: StreamRef) => {
    let at = 0
    while (at < offset) {
      const chunk = await readSource(s, fromRef, at, req.maxReadBytes)
      const values = chunk.values.slice(0, offset - at)
      if (values.length === 0) throw new Error(`the source stream ${fromRef.topic} returned no record at ${at} below its fork offset ${offset}`)
      let group: Uint8Array[] = []
      let bytes = 0
      for (const v of values) {
        if (bytes + v.length > COPY_BATCH_BYTES && group.length > 0) {
          await produceValues(s, target, group)
          group = []
          bytes = 0
        }
        group.push(v)
        bytes += v.length
      }
      await produceValues(s, target, group)
      at += values.length
    }
    if (partial) await produceValues(s, target, [partial])
  }
  return { config, source, copy }
}
