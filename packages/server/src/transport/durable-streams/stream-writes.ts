/**
 * @module Durable Streams writes: create (PUT), append and close (POST), delete (DELETE), translated onto
 * Broker.createTopic, Broker.produce and Broker.deleteTopic.
 *
 * Invariants: one POST is one Samsa record in one batch (a JSON POST's values are joined by commas into it), so a
 * Producer-Seq is the batch's Samsa sequence and Producer-Epoch its Samsa epoch; the broker's producer-state rule
 * decides duplicates, gaps and stale epochs exactly as for a WebSocket producer, and this file only turns its
 * answer into the protocol's status codes. Each Producer-Id of a stream is given its own Samsa producer id by
 * Broker.initProducerId, so no HTTP producer shares an id with a WebSocket producer or with another Producer-Id.
 */
import { encodeRecordBatch, SamsaError, type ProduceResponse } from '@samsa/shared'
import type { Broker } from '../../broker/broker.js'
import { DEFAULT_CONTENT_TYPE, lookup, type StreamAccess, type StreamRef, type StreamView } from './stream-access.js'
import { sameConfig, type StreamConfig, type StreamEntry } from './stream-catalog.js'
import { isJsonType, mediaType, parseExpiresAt, parseProducerHeaders, parseTtlSeconds, type ProducerHeaders } from './stream-headers.js'
import { planFork, type ForkPlan } from './stream-forks.js'
import { endStream } from './stream-lifecycle.js'
import { formatOffset } from './stream-offsets.js'
import { fetchOnLeader, produceOnLeader } from './stream-cluster.js'

export type Headers = Record<string, string>

export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly body?: string
}

export const answer = (status: number, headers: Headers = {}, body?: string): Answer => ({ status, headers, ...(body !== undefined ? { body } : {}) })
const problem = (status: number, message: string, headers: Headers = {}) => answer(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }, message)

export interface WriteRequest {
  readonly header: (name: string) => string | undefined
  readonly body: Uint8Array
  /** The URL of the stream, for Location. */
  readonly url: string
  /** Bytes of records one read carries at most (a fork's copy reads its source in such chunks). */
  readonly maxReadBytes: number
}

const sameType = (a: string, b: string) => mediaType(a) === mediaType(b)
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

function tailOffset(broker: Broker, ref: StreamRef): number {
  return broker.partition(ref.topic, ref.partition).highWatermark
}

function streamHeaders(broker: Broker, view: StreamView, tail = tailOffset(broker, view.ref)): Headers {
  const h: Headers = { 'content-type': view.contentType, 'stream-next-offset': formatOffset(tail) }
  if (view.entry?.closed) h['stream-closed'] = 'true'
  return h
}

/** The values of a JSON body: an array's elements, or the one value; a problem for bad JSON or an empty array. */
function jsonValues(body: Uint8Array, allowEmpty: boolean): string[] | string {
  let parsed: unknown
  try {
    parsed = JSON.parse(decoder.decode(body))
  } catch {
    return 'the body is not valid JSON'
  }
  if (!Array.isArray(parsed)) return [JSON.stringify(parsed)]
  if (parsed.length === 0 && !allowEmpty) return 'an empty JSON array appends nothing'
  return parsed.map((v) => JSON.stringify(v))
}

/** The record value a body becomes, or a problem (400). */
function recordValue(view: Pick<StreamView, 'contentType'>, body: Uint8Array, allowEmptyJson: boolean): Uint8Array | null | string {
  if (!isJsonType(view.contentType)) return body
  const values = jsonValues(body, allowEmptyJson)
  if (typeof values === 'string') return values
  return values.length === 0 ? null : encoder.encode(values.join(','))
}

interface RequestedConfig {
  readonly contentType: string | null
  readonly ttlSeconds: number | null
  readonly expiresAtMs: number | null
}

function parseConfig(req: WriteRequest): RequestedConfig | string {
  const ttl = req.header('stream-ttl')
  const expires = req.header('stream-expires-at')
  if (ttl !== undefined && expires !== undefined) return 'send Stream-TTL or Stream-Expires-At, not both'
  const t = ttl === undefined ? null : parseTtlSeconds(ttl)
  if (t && !t.ok) return t.problem
  const x = expires === undefined ? null : parseExpiresAt(expires)
  if (x && !x.ok) return x.problem
  return { contentType: req.header('content-type') ?? null, ttlSeconds: t ? t.value : null, expiresAtMs: x ? x.value : null }
}

export async function createStream(s: StreamAccess, ref: StreamRef, req: WriteRequest): Promise<Answer> {
  if (ref.partition !== 0) return problem(400, 'a stream is created by its topic name alone (it gets one partition)')
  const requested = parseConfig(req)
  if (typeof requested === 'string') return problem(400, requested)
  let config: StreamConfig
  let fork: ForkPlan | null = null
  if (req.header('stream-forked-from') !== undefined) {
    const plan = await planFork(s, { ...requested, header: req.header, maxReadBytes: req.maxReadBytes })
    if (!('config' in plan)) return problem(plan.status, plan.message)
    fork = plan
    config = plan.config
  } else {
    if (req.header('stream-fork-offset') !== undefined || req.header('stream-fork-sub-offset') !== undefined) {
      return problem(400, 'Stream-Fork-Offset and Stream-Fork-Sub-Offset need Stream-Forked-From')
    }
    config = { ...requested, contentType: requested.contentType ?? DEFAULT_CONTENT_TYPE, fork: null }
  }
  const closing = req.header('stream-closed')?.toLowerCase() === 'true'
  const value = req.body.length > 0 ? recordValue(config, req.body, true) : null
  if (typeof value === 'string') return problem(400, value)
  for (let pending = s.catalog.creating.get(ref.topic); pending; pending = s.catalog.creating.get(ref.topic)) await pending.catch(() => undefined)
  const existing = await lookup(s, ref)
  if (existing) return existingAnswer(s, existing, config)
  const creation = createNew(s, ref, config, fork, value, closing)
  s.catalog.creating.set(ref.topic, creation)
  try {
    const created = await creation
    // In a cluster a new topic's leader may be another node: its tail is asked of that leader.
    const tail = async () => (await fetchOnLeader(s.broker, s.peers, { topic: ref.topic, partition: ref.partition, offset: 0, maxBytes: 1, maxWaitMs: 0, minBytes: 0 }, s.deadlineMs)).highWatermark
    return created ? answer(201, { ...streamHeaders(s.broker, created, await tail()), location: req.url }) : existingAnswer(s, (await lookup(s, ref))!, config)
  } finally {
    s.catalog.creating.delete(ref.topic)
  }
}

/** Creates the topic and its catalog entry, copies a fork's prefix, appends the initial body; null when the topic already existed. */
async function createNew(s: StreamAccess, ref: StreamRef, config: StreamConfig, fork: ForkPlan | null, value: Uint8Array | null, closing: boolean): Promise<StreamView | null> {
  try {
    await s.broker.createTopic(ref.topic, 1)
  } catch (e) {
    if (e instanceof SamsaError && e.errorName === 'TOPIC_ALREADY_EXISTS' && (await lookup(s, ref))) return null
    throw e
  }
  const entry = await s.catalog.add(ref.topic, config)
  if (fork) {
    try {
      await fork.copy(ref)
    } catch (e) {
      await endStream(s.broker, s.catalog, entry)
      throw e
    }
  }
  if (value) await produce(s, ref, value, null)
  if (closing) await s.catalog.close(entry, null)
  return { ref, entry, contentType: config.contentType }
}

function existingAnswer(s: StreamAccess, view: StreamView, config: StreamConfig): Answer {
  const have: StreamConfig = view.entry?.config ?? { contentType: DEFAULT_CONTENT_TYPE, ttlSeconds: null, expiresAtMs: null, fork: null }
  if (!sameConfig(have, config, sameType)) return problem(409, 'the stream exists with another content type, TTL or expiry', streamHeaders(s.broker, view))
  return answer(200, streamHeaders(s.broker, view))
}

export async function deleteStream(s: StreamAccess, ref: StreamRef): Promise<Answer> {
  const view = await lookup(s, ref)
  if (!view) return problem(404, 'no such stream')
  if (ref.partition !== 0) return problem(400, 'a stream is deleted by its topic name alone')
  if (view.entry) await endStream(s.broker, s.catalog, view.entry)
  else await s.broker.deleteTopic(ref.topic)
  return answer(204)
}

/** One record, produced on the partition's leader (in a cluster, a just-created topic's leader may be another node). */
async function produce(s: StreamAccess, ref: StreamRef, value: Uint8Array, producer: { samsaId: number; epoch: number; seq: number } | null): Promise<ProduceResponse> {
  const { broker } = s
  const batch = encodeRecordBatch({
    records: [{ key: null, value, headers: [], timestamp: broker.clock.nowMs() }],
    ...(producer ? { producerId: producer.samsaId, producerEpoch: producer.epoch, baseSequence: producer.seq } : {}),
  })
  return produceOnLeader(broker, s.peers, { topic: ref.topic, partition: ref.partition, acks: -1, timeoutMs: 0, batch }, s.deadlineMs)
}

const sameProducer = (a: ProducerHeaders | null, b: ProducerHeaders | null) => a !== null && b !== null && a.id === b.id && a.epoch === b.epoch && a.seq === b.seq

export async function appendToStream(s: StreamAccess, ref: StreamRef, req: WriteRequest): Promise<Answer> {
  const view = await lookup(s, ref)
  if (!view) return problem(404, 'no such stream')
  const entry = view.entry
  const closing = req.header('stream-closed')?.toLowerCase() === 'true'
  const parsedProducer = parseProducerHeaders(req.header)
  if (!parsedProducer.ok) return problem(400, parsedProducer.problem)
  const producer = parsedProducer.value
  const known = producer && entry ? producerState(s.broker, view, entry.producers.get(producer.id)) : null
  // The broker refuses a stale epoch on append; a closed stream refuses before appending, so it is answered here the same way.
  if (producer && known && producer.epoch < known.epoch) return problem(403, `Producer-Epoch ${producer.epoch} is older than the current epoch ${known.epoch}`, { 'producer-epoch': String(known.epoch) })
  if (entry?.closed || entry?.writes.closing) {
    // A resent close: the same producer tuple, or a plain close-only request.
    const resent = closing && (producer ? sameProducer(entry.closedBy, producer) : req.body.length === 0)
    if (resent) return answer(204, { ...streamHeaders(s.broker, view), ...producerAnswer(producer) })
    return problem(409, 'the stream is closed', streamHeaders(s.broker, view))
  }
  if (req.body.length === 0) {
    if (!closing) return problem(400, 'an append needs a body (or Stream-Closed: true to close the stream)')
    if (!entry) return problem(409, 'a topic created over WebSocket cannot be closed')
    entry.lastAccessMs = s.broker.clock.nowMs()
    await closeAfter(s, entry, producer, async () => undefined)
    return answer(204, { ...streamHeaders(s.broker, view), ...producerAnswer(producer) })
  }
  const type = req.header('content-type')
  if (type === undefined) return problem(400, 'an append needs a Content-Type')
  if (!sameType(type, view.contentType)) return problem(409, `the stream's content type is ${view.contentType}`, streamHeaders(s.broker, view))
  const value = recordValue(view, req.body, false)
  if (typeof value === 'string' || value === null) return problem(400, value ?? 'nothing to append')
  const seq = req.header('stream-seq')
  // A producer's resend is answered by the broker as a duplicate before Stream-Seq matters (it was checked the first time).
  const resend = producer && known && producer.epoch === known.epoch && producer.seq <= known.lastSequence
  if (seq !== undefined && !resend && entry?.lastStreamSeq != null && seq <= entry.lastStreamSeq) {
    return problem(409, `Stream-Seq ${seq} is not above the last one, ${entry.lastStreamSeq}`, streamHeaders(s.broker, view))
  }
  if (closing && !entry) return problem(409, 'a topic created over WebSocket cannot be closed')
  // Stream-Seq is taken before the append, so two appends racing with the same one cannot both pass; given back if refused.
  const previousSeq = entry?.lastStreamSeq ?? null
  if (seq !== undefined && !resend && entry) entry.lastStreamSeq = seq
  const append = () => (producer ? produceAs(s, view, producer, value) : produce(s, ref, value, null).then((response) => ({ kind: 'appended' as const, response })))
  let written: Written
  try {
    written = closing && entry ? await closeAfter(s, entry, producer, append, (w) => w.kind !== 'refused') : await counted(entry, append)
  } catch (e) {
    if (seq !== undefined && entry?.lastStreamSeq === seq) entry.lastStreamSeq = previousSeq
    throw e
  }
  if (written.kind !== 'appended' && seq !== undefined && entry?.lastStreamSeq === seq && !resend) entry.lastStreamSeq = previousSeq
  if (written.kind === 'refused') return written.answer
  if (entry) entry.lastAccessMs = s.broker.clock.nowMs()
  const headers: Headers = { ...streamHeaders(s.broker, view), 'stream-next-offset': formatOffset(written.response.baseOffset + 1) }
  if (written.kind === 'duplicate') return answer(204, { ...headers, ...producerAnswer(producer, written.lastSeq) })
  return answer(producer ? 200 : 204, { ...headers, ...producerAnswer(producer) })
}

/** Runs an append counted among the stream's writes in flight (a close waits for them). */
async function counted<T>(entry: StreamEntry | undefined, write: () => Promise<T>): Promise<T> {
  if (!entry) return write()
  entry.writes.inFlight++
  try {
    return await write()
  } finally {
    if (--entry.writes.inFlight === 0) {
      for (const d of [...entry.writes.drained]) d()
      entry.writes.drained.clear()
    }
  }
}

/**
 * Closes the stream after a final write: from now on appends are refused as to a closed stream; the appends
 * already in flight finish first, then the final write, then the close is recorded (when `closes` says the final
 * write did its part). If the final write fails the stream stays open.
 */
async function closeAfter<T>(s: StreamAccess, entry: StreamEntry, by: ProducerHeaders | null, finalWrite: () => Promise<T>, closes: (r: T) => boolean = () => true): Promise<T> {
  entry.writes.closing = true
  try {
    if (entry.writes.inFlight > 0) await new Promise<void>((resolve) => entry.writes.drained.add(resolve))
    const r = await finalWrite()
    if (closes(r)) await s.catalog.close(entry, by)
    return r
  } finally {
    entry.writes.closing = false
  }
}

function producerAnswer(p: ProducerHeaders | null, seq = p?.seq): Headers {
  return p ? { 'producer-epoch': String(p.epoch), 'producer-seq': String(seq) } : {}
}

type Written =
  | { readonly kind: 'appended'; readonly response: ProduceResponse }
  | { readonly kind: 'duplicate'; readonly response: { readonly baseOffset: number }; readonly lastSeq: number }
  | { readonly kind: 'refused'; readonly answer: Answer }

/** The broker's state of a stream's Samsa producer (null before its first batch). */
function producerState(broker: Broker, view: StreamView, samsaId: number | undefined) {
  return samsaId === undefined ? null : broker.partition(view.ref.topic, view.ref.partition).producerState(samsaId)
}

/** Appends as the stream's Samsa producer for this Producer-Id and turns the broker's producer-state answer into the protocol's. */
async function produceAs(s: StreamAccess, view: StreamView, p: ProducerHeaders, value: Uint8Array): Promise<Written> {
  const entry = view.entry
  if (!entry) return { kind: 'refused', answer: problem(409, 'producer headers need a stream created over HTTP') }
  let samsaId = entry.producers.get(p.id)
  if (samsaId === undefined) {
    const { producerId } = await s.broker.initProducerId(-1, -1)
    samsaId = entry.producers.get(p.id) ?? producerId
    if (!entry.producers.has(p.id)) await s.catalog.addProducer(entry, p.id, samsaId)
  }
  const state = producerState(s.broker, view, samsaId)
  // The protocol starts every producer (and every epoch) at Producer-Seq 0; Kafka's rule accepts any first sequence.
  if (state === null && p.seq !== 0) return { kind: 'refused', answer: problem(409, `Producer-Seq ${p.seq} leaves a gap: expected 0`, { 'producer-expected-seq': '0', 'producer-received-seq': String(p.seq) }) }
  try {
    const response = await produce(s, view.ref, value, { samsaId, epoch: p.epoch, seq: p.seq })
    if (response.duplicate) return { kind: 'duplicate', response, lastSeq: producerState(s.broker, view, samsaId)?.lastSequence ?? p.seq }
    return { kind: 'appended', response }
  } catch (e) {
    return { kind: 'refused', answer: producerRefusal(e, p, state, s.broker, view) }
  }
}

function producerRefusal(e: unknown, p: ProducerHeaders, state: { readonly epoch: number; readonly lastSequence: number } | null, broker: Broker, view: StreamView): Answer {
  if (!(e instanceof SamsaError)) throw e
  const details = e.details ?? {}
  if (e.errorName === 'INVALID_PRODUCER_EPOCH') return problem(403, e.message, { 'producer-epoch': String(details['currentEpoch'] ?? state?.epoch ?? '') })
  const lastSeq = state?.lastSequence ?? -1
  if (e.errorName === 'DUPLICATE_SEQUENCE_CONFLICT') {
    // The protocol deduplicates by (Producer-Id, Producer-Epoch, Producer-Seq) alone: a resend with other bytes is the same append.
    return answer(204, { ...streamHeaders(broker, view), ...producerAnswer(p, lastSeq) })
  }
  if (e.errorName === 'OUT_OF_ORDER_SEQUENCE_NUMBER') {
    if (state && p.epoch > state.epoch) return problem(400, `a new Producer-Epoch (${p.epoch}) starts at Producer-Seq 0`)
    const expected = Number(details['expectedSequence'])
    if (p.seq < expected) return answer(204, { ...streamHeaders(broker, view), ...producerAnswer(p, expected - 1) })
    return problem(409, e.message, { 'producer-expected-seq': String(expected), 'producer-received-seq': String(p.seq) })
  }
  throw e
}
