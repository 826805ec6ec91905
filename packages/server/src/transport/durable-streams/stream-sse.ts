/**
 * @module Durable Streams SSE reads (`live=sse`): a data event per chunk of records followed by a control event
 * with the next offset, then waits (Broker.fetch, woken by the high watermark) for more.
 *
 * Invariants: a data line never carries a raw CR or LF of a payload (each payload line is its own `data:` line;
 * non-text types are base64), so a record cannot forge an event; each control event carries `id: <next offset>`,
 * so a reconnecting EventSource resumes from Last-Event-ID without a gap or a duplicate; one connection holds at
 * most one chunk (maxReadBytes) at a time and counts against the cap on waiting reads; the stream ends after the
 * control event that reports the stream closed.
 */
import { concatBytes, lookup, readChunk, type StreamAccess, type StreamRef } from './stream-access.js'
import { isJsonType, isTextType } from './stream-headers.js'
import { formatOffset, parseOffset } from './stream-offsets.js'
import { bodyOf, endsWith, nextCursor, startOffset, type ReadLimits, type ReadRequest, type WaitingReads } from './stream-reads.js'
import { answer, type Answer } from './stream-writes.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function dataLines(text: string): string {
  // A parser drops one space after `data:`: a line that starts with one gets an extra one.
  return text.split(/\r\n|\r|\n/).map((line) => `data:${line.startsWith(' ') ? ' ' : ''}${line}\n`).join('')
}

function base64(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}

/** An SSE Response, or a plain answer (404, 400, 503) when the read cannot start. */
export async function sseStream(s: StreamAccess, ref: StreamRef, req: ReadRequest, limits: ReadLimits, waiting: WaitingReads): Promise<Response | Answer> {
  const view = await lookup(s, ref)
  const plain = (status: number, message: string) => answer(status, { 'content-type': 'text/plain; charset=utf-8' }, message)
  if (!view) return plain(404, 'no such stream')
  if (req.query('offset').length === 0 && req.header('last-event-id') === undefined) return plain(400, 'live=sse needs an offset')
  const resume = req.header('last-event-id')
  const resumed = resume !== undefined ? parseOffset(resume) : null
  const start = resumed?.kind === 'at' ? resumed.offset : startOffset(s, view, req)
  if (typeof start === 'string') return plain(400, start)
  let offset = start
  const log = s.broker.partition(ref.topic, ref.partition)
  if (offset < log.logStartOffset) return plain(410, 'the offset is below the start of the stream: retention removed it')
  if (offset > log.highWatermark) return plain(400, 'the offset is beyond the end of the stream')
  const release = waiting.enter()
  if (!release) return answer(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' }, 'too many waiting reads; retry later')
  if (view.entry) view.entry.lastAccessMs = s.broker.clock.nowMs()
  const text = isTextType(view.contentType)
  const json = isJsonType(view.contentType)
  const abort = new AbortController()
  req.signal.addEventListener('abort', () => abort.abort())
  let cursor = req.query('cursor')[0]
  let first = true
  const body = new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      try {
        const chunk = await readChunk(s.broker, ref, offset, limits.maxReadBytes, first ? 0 : limits.longPollTimeoutMs, endsWith(view, abort.signal))
        if (abort.signal.aborted) return
        first = false
        let out = ''
        if (chunk.values.length > 0) {
          const payload = json ? bodyOf(view, chunk.values) : concatBytes(chunk.values)
          out += `event: data\n${dataLines(text ? decoder.decode(payload) : base64(payload))}\n`
        }
        offset = chunk.next
        const upToDate = chunk.next >= chunk.highWatermark
        const closed = upToDate && view.entry?.closed === true
        const control: Record<string, unknown> = { streamNextOffset: formatOffset(chunk.next) }
        if (closed) control['streamClosed'] = true
        else {
          cursor = nextCursor(s.broker.clock.nowMs(), cursor)
          control['streamCursor'] = cursor
        }
        if (upToDate) control['upToDate'] = true
        out += `event: control\n${dataLines(JSON.stringify(control))}id: ${formatOffset(chunk.next)}\n\n`
        controller.enqueue(encoder.encode(out))
        if (closed || (view.entry !== undefined && s.catalog.get(ref.topic) !== view.entry)) {
          release()
          controller.close()
        }
      } catch (e) {
        release()
        controller.error(e)
      }
    },
    cancel: () => {
      abort.abort()
      release()
    },
  }, { highWaterMark: 0 })
  const headers: Record<string, string> = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' }
  if (!text) headers['stream-sse-data-encoding'] = 'base64'
  return new Response(body, { status: 200, headers })
}
