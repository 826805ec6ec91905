/**
 * @module Durable Streams reads: HEAD, catch-up GET and long-poll GET, each a Broker.fetch (stream-access.ts).
 *
 * Invariants: an answer never holds a record at or above the high watermark; a range that ends below the high
 * watermark is immutable (its bytes never change) and is served with a long-lived Cache-Control and an ETag naming
 * the stream's incarnation and the range; an answer that reaches the tail is not cacheable (no-store); a waiting
 * long poll holds no records and counts against the server's cap on waiting reads.
 */
import type { Broker } from '../../broker/broker.js'
import { concatBytes, lookup, readChunk, type Chunk, type StreamAccess, type StreamRef, type StreamView } from './stream-access.js'
import { expiresAtMs } from './stream-catalog.js'
import { isJsonType } from './stream-headers.js'
import { formatOffset, parseOffset } from './stream-offsets.js'
import { answer, type Answer, type Headers } from './stream-writes.js'

export interface ReadLimits {
  readonly maxReadBytes: number
  readonly longPollTimeoutMs: number
}

/** The waiting reads (long polls and SSE connections) of a server, with their cap (gauges: adapters/node/stream-metrics.ts). */
export class WaitingReads {
  #count = 0
  #refused = 0
  constructor(readonly max: number) {}
  get count(): number {
    return this.#count
  }
  /** Reads refused (503) because `max` were waiting. */
  get refused(): number {
    return this.#refused
  }
  /** A release function, or null when the cap is reached. */
  enter(): (() => void) | null {
    if (this.#count >= this.max) {
      this.#refused++
      return null
    }
    this.#count++
    let released = false
    return () => {
      if (released) return
      released = true
      this.#count--
    }
  }
}

export interface ReadRequest {
  readonly query: (name: string) => string[]
  readonly header: (name: string) => string | undefined
  /** Aborts when the client goes away. */
  readonly signal: AbortSignal
}

const problem = (status: number, message: string, headers: Headers = {}) => answer(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }, message)

export function metaHeaders(s: StreamAccess, view: StreamView): Headers {
  const h: Headers = { 'content-type': view.contentType, 'stream-next-offset': formatOffset(tail(s.broker, view.ref)) }
  const e = view.entry
  if (e?.closed) h['stream-closed'] = 'true'
  if (e?.config.ttlSeconds != null) h['stream-ttl'] = String(e.config.ttlSeconds)
  const at = e ? expiresAtMs(e) : null
  if (at !== null) h['stream-expires-at'] = new Date(at).toISOString()
  return h
}

function tail(broker: Broker, ref: StreamRef): number {
  return broker.partition(ref.topic, ref.partition).highWatermark
}

export async function headStream(s: StreamAccess, ref: StreamRef): Promise<Answer> {
  const view = await lookup(s, ref)
  if (!view) return problem(404, 'no such stream', { 'cache-control': 'no-store' })
  return answer(200, { ...metaHeaders(s, view), 'cache-control': 'no-store' })
}

/** The start offset a read asks for (-1 when it names none), or a problem. */
export function startOffset(s: StreamAccess, view: StreamView, req: ReadRequest): number | string {
  const values = req.query('offset')
  if (values.length > 1) return 'give one offset'
  const raw = values[0] ?? '-1'
  const parsed = parseOffset(raw)
  if (!parsed) return `offset ${JSON.stringify(raw)} is not an offset this server issued, -1 or now`
  const log = s.broker.partition(view.ref.topic, view.ref.partition)
  if (parsed.kind === 'start') return log.logStartOffset
  if (parsed.kind === 'now') return log.highWatermark
  return parsed.offset
}

/** The response body of some records: bytes concatenated, or a JSON array of the stored values. */
export function bodyOf(view: StreamView, values: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  if (!isJsonType(view.contentType)) return concatBytes(values)
  const parts: Uint8Array[] = [OPEN]
  values.forEach((v, i) => {
    if (i > 0) parts.push(COMMA)
    parts.push(v)
  })
  parts.push(CLOSE)
  return concatBytes(parts)
}
const OPEN = new TextEncoder().encode('[')
const COMMA = new TextEncoder().encode(',')
const CLOSE = new TextEncoder().encode(']')

/** A cursor for CDN request collapsing: the 20 s interval now, moved past the client's when it already has that one. */
export function nextCursor(nowMs: number, clientCursor: string | undefined): string {
  const interval = Math.floor(nowMs / 20_000)
  const theirs = clientCursor !== undefined && /^[0-9]{1,15}$/.test(clientCursor) ? Number(clientCursor) : -1
  // Jitter from the clock (no randomness in a pure core): clients that collide move apart.
  return String(theirs >= interval ? theirs + 1 + (nowMs % 3) : interval)
}

/** Registers `cancel` to run when the request aborts or the stream closes or goes; returns the unregister function. */
export function endsWith(view: StreamView, signal: AbortSignal) {
  return (cancel: () => void) => {
    signal.addEventListener('abort', cancel)
    view.entry?.onEnd.add(cancel)
    return () => {
      signal.removeEventListener('abort', cancel)
      view.entry?.onEnd.delete(cancel)
    }
  }
}

export interface ReadAnswer extends Answer {
  readonly bytes?: Uint8Array<ArrayBuffer>
}

export async function readStream(s: StreamAccess, ref: StreamRef, req: ReadRequest, limits: ReadLimits, waiting: WaitingReads): Promise<ReadAnswer> {
  const view = await lookup(s, ref)
  const live = req.query('live')[0]
  if (!view) return problem(404, 'no such stream')
  if (live !== undefined && live !== 'long-poll' && live !== 'sse') return problem(400, `live must be long-poll or sse, got ${JSON.stringify(live)}`)
  if (live !== undefined && req.query('offset').length === 0) return problem(400, `live=${live} needs an offset`)
  const start = startOffset(s, view, req)
  if (typeof start === 'string') return problem(400, start)
  const log = s.broker.partition(ref.topic, ref.partition)
  if (start < log.logStartOffset) return problem(410, `offset ${formatOffset(start)} is below the start of the stream (${formatOffset(log.logStartOffset)}): retention removed it`)
  if (start > log.highWatermark) return problem(400, `offset ${formatOffset(start)} is beyond the end of the stream`)
  if (view.entry) view.entry.lastAccessMs = s.broker.clock.nowMs()
  let chunk: Chunk = await readChunk(s.broker, ref, start, limits.maxReadBytes, 0)
  if (live === 'long-poll' && chunk.values.length === 0 && !view.entry?.closed) {
    const release = waiting.enter()
    if (!release) return problem(503, 'too many waiting reads; retry later', { 'retry-after': '1' })
    try {
      chunk = await readChunk(s.broker, ref, start, limits.maxReadBytes, limits.longPollTimeoutMs, endsWith(view, req.signal))
    } finally {
      release()
    }
  }
  const upToDate = chunk.next >= chunk.highWatermark
  const closed = upToDate && view.entry?.closed === true
  const headers: Headers = { 'content-type': view.contentType, 'stream-next-offset': formatOffset(chunk.next) }
  if (upToDate) headers['stream-up-to-date'] = 'true'
  if (closed) headers['stream-closed'] = 'true'
  if (live === 'long-poll') {
    if (!closed) headers['stream-cursor'] = nextCursor(s.broker.clock.nowMs(), req.query('cursor')[0])
    headers['cache-control'] = 'no-store'
    if (chunk.values.length === 0) return answer(204, headers)
  } else {
    const incarnation = view.entry?.createdAtMs ?? 0
    const etag = `"${incarnation.toString(36)}-${start.toString(36)}-${chunk.next.toString(36)}${closed ? '-c' : ''}"`
    headers['etag'] = etag
    headers['cache-control'] = upToDate ? 'no-store' : 'public, max-age=31536000, immutable'
    if (req.header('if-none-match') === etag) return answer(304, headers)
  }
  return { ...answer(200, headers), bytes: bodyOf(view, chunk.values) }
}
