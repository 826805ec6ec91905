/** @module Gaps: offsets a subscription will not deliver, and the pure rule that decides where it continues. */

/**
 * Offsets the subscription will not deliver, reported instead of skipped silently.
 * - 'retention': [from, to) were deleted by retention (or are skipped by reset 'latest'); delivery continues at `to`.
 * - 'truncation': the log ends below the consumer's position (the broker lost a tail, or the stored leader epoch is
 *   newer than the broker's): [from, to) are offsets the consumer already consumed from a history the broker no
 *   longer has — new records will reuse them; delivery continues at `from`.
 */
export interface Gap {
  readonly topic: string
  readonly partition: number
  readonly from: number
  readonly to: number
  readonly reason: 'retention' | 'truncation'
}

/**
 * Where a partition continues when its position `at` is outside [logStartOffset, logEndOffset], and the gap that
 * leaves; null when `at` is in range (or still symbolic: −2 earliest, −1 latest).
 * Below the log start: continue at the log start ('earliest') or end ('latest'). Above the log end: continue at
 * the log end, whose offsets new records will reuse.
 */
export function gapForOutOfRange(
  topic: string,
  partition: number,
  at: number,
  range: { readonly logStartOffset: number; readonly logEndOffset: number },
  reset: 'earliest' | 'latest',
): { readonly resume: number; readonly gap: Gap } | null {
  if (at < 0) return null
  const { logStartOffset, logEndOffset } = range
  if (at < logStartOffset) {
    const resume = reset === 'latest' ? logEndOffset : logStartOffset
    return { resume, gap: { topic, partition, from: at, to: resume, reason: 'retention' } }
  }
  if (at > logEndOffset) return { resume: logEndOffset, gap: { topic, partition, from: logEndOffset, to: at, reason: 'truncation' } }
  return null
}
