/**
 * @module Parsing of the Durable Streams request headers that carry numbers, times and content types. Every
 * function answers a value or a problem sentence (the caller answers 400 with it); none throws.
 */

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string }

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value })
const bad = <T>(problem: string): Parsed<T> => ({ ok: false, problem })

/** A non-negative decimal integer without sign, exponent or leading zeros ("0" itself is fine). */
const CANONICAL_INT = /^(0|[1-9][0-9]*)$/

export function parseCanonicalInt(name: string, raw: string, max: number): Parsed<number> {
  if (!CANONICAL_INT.test(raw)) return bad(`${name} must be a non-negative integer without sign or leading zeros, got ${JSON.stringify(raw)}`)
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n > max) return bad(`${name} must be at most ${max}, got ${raw}`)
  return ok(n)
}

/** Stream-TTL in seconds. */
export function parseTtlSeconds(raw: string): Parsed<number> {
  return parseCanonicalInt('Stream-TTL', raw, Number.MAX_SAFE_INTEGER / 1000)
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i

/** Stream-Expires-At: an RFC 3339 time with a zone; answers ms since the epoch. */
export function parseExpiresAt(raw: string): Parsed<number> {
  const ms = RFC3339.test(raw) ? Date.parse(raw) : NaN
  return Number.isFinite(ms) ? ok(ms) : bad(`Stream-Expires-At must be an RFC 3339 time with a zone, such as 2030-01-01T00:00:00Z, got ${JSON.stringify(raw)}`)
}

/** The media type of a Content-Type value, lower-cased, without parameters (`Text/Plain; charset=utf-8` → `text/plain`). */
export function mediaType(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase()
}

export function isJsonType(contentType: string): boolean {
  return mediaType(contentType) === 'application/json'
}

/** Text types travel in SSE data lines as they are; every other type is base64-encoded there. */
export function isTextType(contentType: string): boolean {
  const t = mediaType(contentType)
  return t.startsWith('text/') || t === 'application/json' || t.endsWith('+json') || t === 'application/x-ndjson'
}

export interface ProducerHeaders {
  readonly id: string
  readonly epoch: number
  readonly seq: number
}

/** Samsa batches carry an int16 epoch and an int32 sequence. */
export const MAX_PRODUCER_EPOCH = 0x7fff
export const MAX_PRODUCER_SEQ = 0x7fff_ffff

/** null when none of the three headers is present; a problem when only some are, or one is malformed. */
export function parseProducerHeaders(get: (name: string) => string | undefined): Parsed<ProducerHeaders | null> {
  const id = get('producer-id')
  const epoch = get('producer-epoch')
  const seq = get('producer-seq')
  if (id === undefined && epoch === undefined && seq === undefined) return ok(null)
  if (id === undefined || epoch === undefined || seq === undefined) return bad('Producer-Id, Producer-Epoch and Producer-Seq must be sent together')
  if (id.trim() === '') return bad('Producer-Id must not be empty')
  const e = parseCanonicalInt('Producer-Epoch', epoch, MAX_PRODUCER_EPOCH)
  if (!e.ok) return bad(e.problem)
  const s = parseCanonicalInt('Producer-Seq', seq, MAX_PRODUCER_SEQ)
  if (!s.ok) return bad(s.problem)
  return ok({ id, epoch: e.value, seq: s.value })
}
