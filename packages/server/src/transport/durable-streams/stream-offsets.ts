/**
 * @module Durable Streams offsets ⇄ Samsa offsets. A stream offset is the Samsa offset of the next record to read,
 * written as 16 decimal digits, so offsets of one stream sort as strings in the order of the log.
 * Invariants: formatOffset(parseOffset(s)) === s for every accepted s; `-1` (the start) and `now` (the tail) are
 * the only sentinels; anything else is refused (400), never guessed.
 */

export const OFFSET_DIGITS = 16

export type ParsedOffset = { readonly kind: 'start' } | { readonly kind: 'now' } | { readonly kind: 'at'; readonly offset: number }

export function formatOffset(offset: number): string {
  return String(offset).padStart(OFFSET_DIGITS, '0')
}

const OFFSET_PATTERN = /^[0-9]{16}$/

/** null: not an offset this server issues (the caller answers 400). */
export function parseOffset(s: string): ParsedOffset | null {
  if (s === '-1') return { kind: 'start' }
  if (s === 'now') return { kind: 'now' }
  if (!OFFSET_PATTERN.test(s)) return null
  const n = Number(s)
  return Number.isSafeInteger(n) ? { kind: 'at', offset: n } : null
}
