/**
 * @module The recovery point of a partition (Kafka's recovery-point checkpoint and producer-state snapshot in one
 * file, `recovery-point`, so the two can never disagree): the offset up to which the log was verified and fsynced,
 * for each segment the bytes that hold it (and what recovery would otherwise learn by scanning them: the offset
 * after them, their largest timestamp, the CRC of the segment's `.index` written with them), and the producer-state
 * table as it stood at that offset. Recovery trusts those bytes without a CRC scan and replays only what follows.
 *
 * Invariants: written only for bytes that are durable; written temp → fsync → rename (writeFileAtomic), so it is whole
 * or absent; removed (durably) before the log is cut below it; a file that does not decode (length, CRC, shape) is
 * ignored, and recovery then verifies the whole log as without one.
 *
 * Format: CRC-32C (u32, big-endian) of the rest, then UTF-8 JSON `{ v: 1, offset, segments: [[baseOffset, bytes,
 * nextOffset, maxTimestamp|null, indexCrc|null]…], producers: [[producerId, epoch, lastAppendMs, [[firstSeq, lastSeq,
 * baseOffset, lastOffset, crc]…]]…] }`.
 */
import { crc32c as jsCrc32c, type Crc32cFn } from '@samsa/shared'
import type { ProducerBatch, ProducerEntry } from './producer-state.js'

export const RECOVERY_POINT_FILE = 'recovery-point'

/** One segment's verified prefix. */
export interface SegmentMark {
  readonly baseOffset: number
  /** Bytes from the start of the segment that were verified (whole batches). */
  readonly bytes: number
  /** The offset after the last batch in those bytes. */
  readonly nextOffset: number
  readonly maxTimestamp: number | null
  /** CRC-32C of the segment's `.index` file as written for exactly those bytes; null when none was. */
  readonly indexCrc: number | null
}

export interface RecoveryPoint {
  /** The log end when it was written: every offset below it is in `segments`. */
  readonly offset: number
  /** Oldest first, contiguous in offsets; the last one ends at `offset`. */
  readonly segments: readonly SegmentMark[]
  readonly producers: readonly (readonly [number, ProducerEntry])[]
}

const enc = new TextEncoder()
const dec = new TextDecoder()

export function encodeRecoveryPoint(point: RecoveryPoint, crc32c: Crc32cFn = jsCrc32c): Uint8Array {
  const json = JSON.stringify({
    v: 1,
    offset: point.offset,
    segments: point.segments.map((s) => [s.baseOffset, s.bytes, s.nextOffset, s.maxTimestamp, s.indexCrc]),
    producers: point.producers.map(([id, e]) => [id, e.epoch, e.lastAppendMs, e.batches.map((b) => [b.firstSeq, b.lastSeq, b.baseOffset, b.lastOffset, b.crc])]),
  })
  const body = enc.encode(json)
  const out = new Uint8Array(4 + body.length)
  out.set(body, 4)
  new DataView(out.buffer).setUint32(0, crc32c(out, 4, out.length))
  return out
}

/** The recovery point, or null when the bytes are not a whole, valid one. */
export function decodeRecoveryPoint(bytes: Uint8Array, crc32c: Crc32cFn = jsCrc32c): RecoveryPoint | null {
  if (bytes.length < 4) return null
  if (new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) !== crc32c(bytes, 4, bytes.length)) return null
  let raw: unknown
  try {
    raw = JSON.parse(dec.decode(bytes.subarray(4)))
  } catch {
    return null
  }
  if (!isRecord(raw) || raw.v !== 1 || !isCount(raw.offset) || !Array.isArray(raw.segments) || !Array.isArray(raw.producers)) return null
  const segments: SegmentMark[] = []
  for (const s of raw.segments) {
    if (!Array.isArray(s) || s.length !== 5) return null
    const [baseOffset, bytesIn, nextOffset, maxTimestamp, indexCrc]: unknown[] = s
    if (!isCount(baseOffset) || !isCount(bytesIn) || !isCount(nextOffset) || nextOffset < baseOffset) return null
    if (maxTimestamp !== null && !Number.isSafeInteger(maxTimestamp)) return null
    if (indexCrc !== null && !isCount(indexCrc)) return null
    const prev = segments.at(-1)
    if (prev && prev.nextOffset !== baseOffset) return null
    segments.push({ baseOffset, bytes: bytesIn, nextOffset, maxTimestamp: typeof maxTimestamp === 'number' ? maxTimestamp : null, indexCrc: typeof indexCrc === 'number' ? indexCrc : null })
  }
  if (segments.length > 0 && segments.at(-1)!.nextOffset !== raw.offset) return null
  const producers: [number, ProducerEntry][] = []
  for (const p of raw.producers) {
    if (!Array.isArray(p) || p.length !== 4) return null
    const [id, epoch, lastAppendMs, batchesIn]: unknown[] = p
    if (!isCount(id) || !isCount(epoch) || typeof lastAppendMs !== 'number' || !Number.isSafeInteger(lastAppendMs) || !Array.isArray(batchesIn)) return null
    const batches: ProducerBatch[] = []
    for (const b of batchesIn) {
      if (!Array.isArray(b) || b.length !== 5) return null
      const [firstSeq, lastSeq, baseOffset, lastOffset, crc]: unknown[] = b
      if (!isCount(firstSeq) || !isCount(lastSeq) || !isCount(baseOffset) || !isCount(lastOffset) || !isCount(crc)) return null
      batches.push({ firstSeq, lastSeq, baseOffset, lastOffset, crc })
    }
    producers.push([id, { epoch, lastAppendMs, batches }])
  }
  return { offset: raw.offset, segments, producers }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}
