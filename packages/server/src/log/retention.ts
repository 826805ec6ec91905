/** @module Retention policy: which whole, non-active segments a partition may delete by age and by size (pure). */

export interface RetentionSegment {
  readonly baseOffset: number
  readonly sizeBytes: number
  /** Largest record timestamp in the segment (ms), or null for an empty segment. */
  readonly maxTimestamp: number | null
}

export interface RetentionPolicy {
  readonly retentionMs: number | null
  readonly retentionBytes: number | null
}

/**
 * How many leading segments (oldest first) to delete. Only a prefix is ever deleted, so logStartOffset
 * moves forward contiguously, and the last (active) segment is never included.
 * - time: a segment goes when nowMs − maxTimestamp > retentionMs (an empty segment never ages out);
 * - size: the oldest segments go while the partition stays at or above retentionBytes without them.
 */
export function segmentsToDelete(segments: readonly RetentionSegment[], nowMs: number, policy: RetentionPolicy): number {
  const deletable = Math.max(0, segments.length - 1)
  let byTime = 0
  if (policy.retentionMs !== null) {
    while (byTime < deletable) {
      const ts = segments[byTime]!.maxTimestamp
      if (ts === null || nowMs - ts <= policy.retentionMs) break
      byTime++
    }
  }
  let bySize = 0
  if (policy.retentionBytes !== null) {
    let excess = segments.reduce((n, s) => n + s.sizeBytes, 0) - policy.retentionBytes
    while (bySize < deletable && excess - segments[bySize]!.sizeBytes >= 0) {
      excess -= segments[bySize]!.sizeBytes
      bySize++
    }
  }
  return Math.max(byTime, bySize)
}
