/** @module Reads over a partition's segments: whole batches from an offset up to the high watermark, and timestamp lookup. Never loads more than asked. */
import { batchLastOffset, decodeRecords, scanBatches } from '@samsa/shared'
import { walkBatches } from './batch-walker.js'
import type { Segment } from './segment.js'

/** Index of the segment holding offset: the last one with baseOffset ≤ offset, skipping segments that end at or before it. */
export function segmentIndexFor(segments: readonly Segment[], offset: number): number {
  let lo = 0
  let hi = segments.length - 1
  let found = 0
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if (segments[mid]!.baseOffset <= offset) {
      found = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  while (found < segments.length - 1 && segments[found]!.nextOffset <= offset) found++
  return found
}

/**
 * Whole batches starting with the one that holds offset, all below highWatermark, within one segment: the read
 * stops at the segment end (the next read continues in the next segment). Stops before maxBytes, except that
 * the first batch is returned whole even when larger. The caller checks offset against the log range first.
 */
export async function readBatches(segments: readonly Segment[], offset: number, maxBytes: number, highWatermark: number): Promise<Uint8Array> {
  if (offset >= highWatermark) return new Uint8Array(0)
  const segment = segments[segmentIndexFor(segments, offset)]
  if (!segment) return new Uint8Array(0)
  const first = await segment.locate(offset)
  if (!first) return new Uint8Array(0)
  const available = segment.sizeBytes - first.position
  const length = Math.max(first.totalBytes, Math.min(Math.max(0, maxBytes), available))
  const bytes = await segment.file.read(first.position, length)
  let end = 0
  for (const b of scanBatches(bytes)) {
    if (batchLastOffset(b.header) >= highWatermark) break
    if (end > 0 && b.at + b.totalBytes > maxBytes) break
    end = b.at + b.totalBytes
  }
  return bytes.subarray(0, end)
}

/** The first record at or after logStartOffset, below highWatermark, whose timestamp ≥ timestampMs. */
export async function findOffsetForTimestamp(
  segments: readonly Segment[],
  logStartOffset: number,
  highWatermark: number,
  timestampMs: number,
): Promise<{ offset: number; timestamp: number } | null> {
  for (let i = segmentIndexFor(segments, logStartOffset); i < segments.length; i++) {
    const segment = segments[i]!
    if (segment.baseOffset >= highWatermark) return null
    if (segment.maxTimestamp === null || segment.maxTimestamp < timestampMs) continue
    for await (const item of walkBatches(segment.file, 0, { chunkBytes: 64 * 1024 })) {
      if (item.kind === 'damage' || batchLastOffset(item.header) >= highWatermark) return null
      if (item.header.maxTimestamp < timestampMs) continue
      const whole = await segment.file.read(item.position, item.totalBytes)
      for (const r of decodeRecords(whole).records) {
        if (r.timestamp >= timestampMs) return { offset: r.offset, timestamp: r.timestamp }
      }
    }
  }
  return null
}
