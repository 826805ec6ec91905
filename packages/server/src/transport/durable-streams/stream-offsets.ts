/**
 * @module Durable Streams offsets ⇄ Samsa offsets. A stream offset is the Samsa offset of the next record to read,
 * written as 32 decimal digits with an underscore after the 16th (`0000000000000000_0000000000000042`: the
 * reference server's shape, which the conformance suite writes literally), so offsets of one stream sort as strings
 * in the order of the log. Samsa offsets stay below 2^53, so the first half is always zeros.
 * Invariants: formatOffset(parseOffset(s)) === s for every accepted s; `-1` (the start) and `now` (the tail) are
 * the only sentinels; anything else is refused (400), never guessed.
 */

export const OFFSET_DIGITS = 16

export type ParsedOffset = { readonly kind: 'start' } | { readonly kind: 'now' } | { readonly kind: 'at'; readonly offset: number }

const HIGH = '0'.repeat(OFFSET_DIGITS)

export function formatOffset(offset: number): string {
  return `${HIGH}_${String(offset).padStart(OFFSET_DIGITS, '0')}`
}

const OFFSET_PATTERN = /^[0-9]{16}_[0-9]{16}$/

/** null: not an offset this server issues (the caller answers 400). */
export function parseOffset(s: string): ParsedOffset | null {
  if (s === '-1') return { kind: 'start' }
  if (s === 'now') return { kind: 'now' }
  if (!OFFSET_PATTERN.test(s)) return null
  // Past every offset a log can reach: a well-formed offset beyond the end (the caller answers 400 for that).
  if (s.slice(0, OFFSET_DIGITS) !== HIGH) return { kind: 'at', offset: Number.MAX_SAFE_INTEGER }
  return { kind: 'at', offset: Number(s.slice(OFFSET_DIGITS + 1)) }
}
