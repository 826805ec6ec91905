/**
 * @module Kafka's RecordBatch v2: the one byte layout used by producers, log segments, replication and consumers.
 *
 * Batch header (61 bytes, big-endian):
 *   0  baseOffset            int64   assigned by the leader (patched in place)
 *   8  batchLength           int32   bytes after this field (total − 12)
 *  12  partitionLeaderEpoch  int32   assigned by the leader (patched in place)
 *  16  magic                 int8    = 2
 *  17  crc                   uint32  CRC-32C of bytes [21, end)
 *  21  attributes            int16   bits 0-2 compression (only 0 = none), bit 3 timestamp type, bit 4 transactional, bit 5 control
 *  23  lastOffsetDelta       int32
 *  27  baseTimestamp         int64   ms
 *  35  maxTimestamp          int64   ms
 *  43  producerId            int64   −1 = not idempotent
 *  51  producerEpoch         int16
 *  53  baseSequence          int32
 *  57  recordCount           int32
 *  61  records…
 * Record: length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
 *         keyLength varint (−1 = null), key, valueLength varint (−1 = null), value,
 *         headerCount varint, [keyLength varint, key utf8, valueLength varint (−1 = null), value]…
 * baseOffset and partitionLeaderEpoch sit outside the CRC, so the leader can patch them without re-encoding.
 */
import { ProtocolError } from '../errors.js'
import { crc32c } from '../bytes/crc32c.js'
import { readInt64, writeInt64 } from '../bytes/int64.js'
import { isWellFormedUtf8, utf8ByteLength } from '../bytes/utf8.js'
import { readVarint, readVarintValue, varintEnd, varintSize, writeVarint } from '../bytes/varint.js'

export const BATCH_HEADER_BYTES = 61
/** Bytes before batchLength's coverage starts (baseOffset + batchLength). */
export const BATCH_LOG_OVERHEAD = 12
export const MAGIC = 2
/** The CRC covers the batch from the attributes field to its end. */
export const CRC_START = 21
export const NO_PRODUCER_ID = -1
export const NO_PRODUCER_EPOCH = -1
export const NO_SEQUENCE = -1

export interface RecordHeader {
  readonly key: string
  readonly value: Uint8Array | null
}

export interface RecordInput {
  readonly key: Uint8Array | null
  readonly value: Uint8Array | null
  readonly headers: readonly RecordHeader[]
  /** ms since the epoch. */
  readonly timestamp: number
}

export interface BatchHeader {
  readonly baseOffset: number
  readonly batchLength: number
  readonly partitionLeaderEpoch: number
  readonly magic: number
  readonly crc: number
  readonly attributes: number
  readonly lastOffsetDelta: number
  readonly baseTimestamp: number
  readonly maxTimestamp: number
  readonly producerId: number
  readonly producerEpoch: number
  readonly baseSequence: number
  readonly recordCount: number
}

export interface DecodedRecord {
  readonly offset: number
  readonly timestamp: number
  readonly key: Uint8Array | null
  readonly value: Uint8Array | null
  readonly headers: RecordHeader[]
}

export interface BatchInput {
  readonly baseOffset?: number
  readonly partitionLeaderEpoch?: number
  readonly producerId?: number
  readonly producerEpoch?: number
  readonly baseSequence?: number
  readonly records: readonly RecordInput[]
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Total bytes of a batch = batchLength + 12. */
export function batchTotalBytes(header: Pick<BatchHeader, 'batchLength'>): number {
  return header.batchLength + BATCH_LOG_OVERHEAD
}

/** Last offset of a batch whose header is known. */
export function batchLastOffset(header: Pick<BatchHeader, 'baseOffset' | 'lastOffsetDelta'>): number {
  return header.baseOffset + header.lastOffsetDelta
}

/**
 * Bytes of a record after its length varint. Allocates nothing: header keys are measured, not encoded (utf8ByteLength
 * matches TextEncoder byte for byte). Throws RangeError for a timestamp delta that is not a safe integer.
 */
function recordBodySize(r: RecordInput, offsetDelta: number, baseTimestamp: number): number {
  const key = r.key
  const value = r.value
  const headers = r.headers
  let body = 1 + varintSize(r.timestamp - baseTimestamp) + varintSize(offsetDelta)
  body += key === null ? 1 : varintSize(key.length) + key.length
  body += value === null ? 1 : varintSize(value.length) + value.length
  body += varintSize(headers.length)
  for (let j = 0; j < headers.length; j++) {
    const h = headers[j]!
    const keyBytes = utf8ByteLength(h.key)
    body += varintSize(keyBytes) + keyBytes
    body += h.value === null ? 1 : varintSize(h.value.length) + h.value.length
  }
  return body
}

/** Size in bytes a single record adds to a batch (used by producers to respect maxRecordBytes and batch limits). */
export function recordEncodedSize(r: RecordInput, offsetDelta: number, baseTimestamp: number): number {
  const size = recordBodySize(r, offsetDelta, baseTimestamp)
  return varintSize(size) + size
}

/** `crc32c`: a native CRC-32C (same result) where the runtime has one; default the pure-JS one. */
export function encodeRecordBatch(input: BatchInput, crc: Crc32cFn = crc32c): Uint8Array {
  return encodeRecordBatchAfter(0, input, crc)
}

/**
 * Encodes the batch after `headroom` free bytes, in one new buffer that it returns whole: the batch is its subarray
 * from `headroom`. A produce frame's head goes in that room (produce.ts, `encodeBatchInFrame`), so the batch is never
 * copied into its frame. The room is zeroed.
 */
export function encodeRecordBatchAfter(headroom: number, input: BatchInput, crc: Crc32cFn = crc32c): Uint8Array {
  const records = input.records
  const n = records.length
  if (n === 0) throw new RangeError('a batch needs at least one record')
  let baseTimestamp = Infinity
  let maxTimestamp = -Infinity
  for (let i = 0; i < n; i++) {
    const t = records[i]!.timestamp
    if (t < baseTimestamp) baseTimestamp = t
    if (t > maxTimestamp) maxTimestamp = t
  }
  let total = BATCH_HEADER_BYTES
  for (let i = 0; i < n; i++) {
    const size = recordBodySize(records[i]!, i, baseTimestamp)
    total += varintSize(size) + size
  }
  const out = new Uint8Array(headroom + total)
  const bytes = headroom === 0 ? out : out.subarray(headroom)
  const view = new DataView(out.buffer, headroom, total)
  writeInt64(view, 0, input.baseOffset ?? 0)
  view.setInt32(8, total - BATCH_LOG_OVERHEAD)
  view.setInt32(12, int32(input.partitionLeaderEpoch ?? -1, 'partitionLeaderEpoch'))
  view.setInt8(16, MAGIC)
  view.setInt16(21, 0)
  view.setInt32(23, n - 1)
  writeInt64(view, 27, baseTimestamp)
  writeInt64(view, 35, maxTimestamp)
  writeInt64(view, 43, input.producerId ?? NO_PRODUCER_ID)
  view.setInt16(51, int16(input.producerEpoch ?? NO_PRODUCER_EPOCH, 'producerEpoch'))
  view.setInt32(53, int32(input.baseSequence ?? NO_SEQUENCE, 'baseSequence'))
  view.setInt32(57, n)
  let at = BATCH_HEADER_BYTES
  for (let i = 0; i < n; i++) {
    const r = records[i]!
    at = writeVarint(bytes, at, recordBodySize(r, i, baseTimestamp))
    bytes[at++] = 0
    at = writeVarint(bytes, at, r.timestamp - baseTimestamp)
    at = writeVarint(bytes, at, i)
    at = writeBlob(bytes, at, r.key)
    at = writeBlob(bytes, at, r.value)
    const headers = r.headers
    at = writeVarint(bytes, at, headers.length)
    for (let j = 0; j < headers.length; j++) {
      const h = headers[j]!
      const keyBytes = utf8ByteLength(h.key)
      at = writeVarint(bytes, at, keyBytes)
      if (keyBytes > 0) encoder.encodeInto(h.key, bytes.subarray(at, at + keyBytes))
      at += keyBytes
      at = writeBlob(bytes, at, h.value)
    }
  }
  view.setUint32(17, crc(bytes, CRC_START, total))
  return out
}

/** DataView setters wrap silently; a field out of range is the caller's bug and must not reach the log as another number. */
function int32(v: number, field: string): number {
  if (!Number.isInteger(v) || v < -0x8000_0000 || v > 0x7fff_ffff) throw new RangeError(`${field} ${v} is not an int32`)
  return v
}
function int16(v: number, field: string): number {
  if (!Number.isInteger(v) || v < -0x8000 || v > 0x7fff) throw new RangeError(`${field} ${v} is not an int16`)
  return v
}

function writeBlob(bytes: Uint8Array, at: number, blob: Uint8Array | null): number {
  if (blob === null) return writeVarint(bytes, at, -1)
  const len = blob.length
  at = writeVarint(bytes, at, len)
  if (len > 64) bytes.set(blob, at)
  else for (let k = 0; k < len; k++) bytes[at + k] = blob[k]!
  return at + len
}

/** Reads the fixed header at bytes[at]; checks only that 61 bytes are there. */
export function readBatchHeader(bytes: Uint8Array, at = 0): BatchHeader {
  if (bytes.length - at < BATCH_HEADER_BYTES) throw new ProtocolError(`truncated batch header: ${bytes.length - at} of ${BATCH_HEADER_BYTES} bytes`)
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, BATCH_HEADER_BYTES)
  return {
    baseOffset: readInt64(view, 0),
    batchLength: view.getInt32(8),
    partitionLeaderEpoch: view.getInt32(12),
    magic: view.getInt8(16),
    crc: view.getUint32(17),
    attributes: view.getInt16(21),
    lastOffsetDelta: view.getInt32(23),
    baseTimestamp: readInt64(view, 27),
    maxTimestamp: readInt64(view, 35),
    producerId: readInt64(view, 43),
    producerEpoch: view.getInt16(51),
    baseSequence: view.getInt32(53),
    recordCount: view.getInt32(57),
  }
}

/** Assigns offsets and leader epoch in place (outside the CRC). */
export function patchBatch(bytes: Uint8Array, at: number, baseOffset: number, partitionLeaderEpoch: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, BATCH_HEADER_BYTES)
  writeInt64(view, 0, baseOffset)
  view.setInt32(12, int32(partitionLeaderEpoch, 'partitionLeaderEpoch'))
}

/** CRC-32C of bytes[start, end); lets a runtime plug in a native implementation (the default is pure JS). */
export type Crc32cFn = (bytes: Uint8Array, start: number, end: number) => number

export interface BatchLimits {
  /** Largest record (its encoded size including the length varint). */
  readonly maxRecordBytes?: number
  /** Default: the pure-JS crc32c. */
  readonly crc32c?: Crc32cFn
  /**
   * Accept a batch the log cleaner rewrote (compacted-batch.ts): 0 ≤ recordCount ≤ lastOffsetDelta + 1 and offset
   * deltas strictly increasing within [0, lastOffsetDelta]. For stored batches (recovery, followers, consumers);
   * never for a produce, whose batch must be dense (deltas 0..n−1).
   */
  readonly compacted?: boolean
}

/** Thrown when a structurally valid batch holds a record over the limit. */
export class RecordTooLargeError extends Error {
  constructor(readonly recordBytes: number, readonly maxRecordBytes: number) {
    super(`a record of ${recordBytes} bytes exceeds maxRecordBytes ${maxRecordBytes}`)
    this.name = 'RecordTooLargeError'
  }
}

/**
 * Fully checks the batch at bytes[at, end): header, length, magic, CRC, and every record's framing
 * (lengths, varints, counts, offset deltas 0..n−1, or increasing with gaps under `compacted`). Allocates nothing per
 * record. Returns the header.
 */
export function verifyBatch(bytes: Uint8Array, at = 0, end = bytes.length, limits: BatchLimits = {}): BatchHeader {
  end = Math.min(end, bytes.length)
  const h = readBatchHeader(bytes, at)
  if (h.magic !== MAGIC) throw new ProtocolError(`batch magic is ${h.magic}, expected ${MAGIC}`)
  const total = h.batchLength + BATCH_LOG_OVERHEAD
  if (h.batchLength < BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD) throw new ProtocolError(`batchLength ${h.batchLength} is below the header size`)
  if (total > end - at) throw new ProtocolError(`batch of ${total} bytes runs past the ${end - at} bytes available`)
  const batchEnd = at + total
  if ((limits.crc32c ?? crc32c)(bytes, at + CRC_START, batchEnd) !== h.crc) throw new ProtocolError('batch CRC-32C mismatch')
  if ((h.attributes & 0x07) !== 0) throw new ProtocolError(`compression codec ${h.attributes & 0x07} is not supported`)
  const dense = h.recordCount >= 1 && h.lastOffsetDelta === h.recordCount - 1
  const sparse = limits.compacted === true && h.recordCount >= 0 && h.lastOffsetDelta >= 0 && h.recordCount <= h.lastOffsetDelta + 1
  if (!dense && !sparse) throw new ProtocolError(`recordCount ${h.recordCount} and lastOffsetDelta ${h.lastOffsetDelta} disagree`)
  let previousDelta = -1
  let p = at + BATCH_HEADER_BYTES
  for (let i = 0; i < h.recordCount; i++) {
    const start = p
    const len = readVarintValue(bytes, p, batchEnd)
    p = varintEnd()
    if (len < 1 || len > batchEnd - p) throw new ProtocolError(`record ${i} length ${len} does not fit in the batch`)
    const recordEnd = p + len
    if (limits.maxRecordBytes !== undefined && recordEnd - start > limits.maxRecordBytes) throw new RecordTooLargeError(recordEnd - start, limits.maxRecordBytes)
    p += 1 // attributes
    let v = readVarintValue(bytes, p, recordEnd) // timestampDelta
    p = varintEnd()
    if (!Number.isSafeInteger(h.baseTimestamp + v)) throw new ProtocolError(`record ${i} timestamp is beyond 2^53 − 1`)
    v = readVarintValue(bytes, p, recordEnd) // offsetDelta
    p = varintEnd()
    if (dense ? v !== i : v <= previousDelta || v > h.lastOffsetDelta) throw new ProtocolError(`record ${i} has offsetDelta ${v}`)
    previousDelta = v
    p = skipBlob(bytes, p, recordEnd, true)
    p = skipBlob(bytes, p, recordEnd, true)
    const headers = readVarintValue(bytes, p, recordEnd)
    p = varintEnd()
    if (headers < 0 || headers > recordEnd - p) throw new ProtocolError(`record ${i} header count ${headers}`)
    for (let j = 0; j < headers; j++) {
      const keyStart = p
      p = skipBlob(bytes, p, recordEnd, false)
      if (!isWellFormedUtf8(bytes, readVarint(bytes, keyStart, p)[1], p)) throw new ProtocolError(`record ${i} header ${j} key is not valid UTF-8`)
      p = skipBlob(bytes, p, recordEnd, true)
    }
    if (p !== recordEnd) throw new ProtocolError(`record ${i} has ${recordEnd - p} unexpected bytes`)
  }
  if (p !== batchEnd) throw new ProtocolError(`batch has ${batchEnd - p} bytes after its last record`)
  return h
}

function skipBlob(bytes: Uint8Array, p: number, end: number, nullable: boolean): number {
  const len = readVarintValue(bytes, p, end)
  p = varintEnd()
  if (len === -1 && nullable) return p
  if (len < 0 || len > end - p) throw new ProtocolError(`field length ${len} does not fit in the record`)
  return p + len
}

/** Decodes every record of the (already verified or trusted) batch at bytes[at]. Views point into bytes. */
export function decodeRecords(bytes: Uint8Array, at = 0): { header: BatchHeader; records: DecodedRecord[] } {
  const header = readBatchHeader(bytes, at)
  const end = at + header.batchLength + BATCH_LOG_OVERHEAD
  if (end > bytes.length) throw new ProtocolError('batch runs past the end of its buffer')
  const records: DecodedRecord[] = []
  let p = at + BATCH_HEADER_BYTES
  for (let i = 0; i < header.recordCount; i++) {
    let len: number
    ;[len, p] = readVarint(bytes, p, end)
    if (len < 1 || len > end - p) throw new ProtocolError(`record ${i} length ${len} does not fit in the batch`)
    const recordEnd = p + len
    p += 1
    let tsDelta: number
    let offsetDelta: number
    ;[tsDelta, p] = readVarint(bytes, p, recordEnd)
    ;[offsetDelta, p] = readVarint(bytes, p, recordEnd)
    let key: Uint8Array | null
    let value: Uint8Array | null
    ;[key, p] = readBlob(bytes, p, recordEnd)
    ;[value, p] = readBlob(bytes, p, recordEnd)
    let count: number
    ;[count, p] = readVarint(bytes, p, recordEnd)
    if (count < 0 || count > recordEnd - p) throw new ProtocolError(`record ${i} header count ${count}`)
    const headers: RecordHeader[] = []
    for (let j = 0; j < count; j++) {
      let k: Uint8Array | null
      let v: Uint8Array | null
      ;[k, p] = readBlob(bytes, p, recordEnd)
      if (k === null) throw new ProtocolError('header key is null')
      ;[v, p] = readBlob(bytes, p, recordEnd)
      let keyText: string
      try {
        keyText = decoder.decode(k)
      } catch {
        throw new ProtocolError('header key is not valid UTF-8')
      }
      headers.push({ key: keyText, value: v })
    }
    if (p !== recordEnd) throw new ProtocolError(`record ${i} has ${recordEnd - p} unexpected bytes`)
    const timestamp = header.baseTimestamp + tsDelta
    if (!Number.isSafeInteger(timestamp)) throw new ProtocolError(`record ${i} timestamp is beyond 2^53 − 1`)
    const offset = header.baseOffset + offsetDelta
    if (!Number.isSafeInteger(offset)) throw new ProtocolError(`record ${i} offset is beyond 2^53 − 1`)
    records.push({ offset, timestamp, key, value, headers })
  }
  return { header, records }
}

function readBlob(bytes: Uint8Array, p: number, end: number): [Uint8Array | null, number] {
  let len: number
  ;[len, p] = readVarint(bytes, p, end)
  if (len === -1) return [null, p]
  if (len < 0 || len > end - p) throw new ProtocolError(`field length ${len} does not fit in the record`)
  return [bytes.subarray(p, p + len), p + len]
}

/**
 * Walks consecutive batches in bytes (a log segment or a fetch response) and yields each one's position and header.
 * Stops at the first incomplete batch; callers that need CRC checks call verifyBatch.
 */
export function* scanBatches(bytes: Uint8Array): Generator<{ at: number; header: BatchHeader; totalBytes: number }> {
  let at = 0
  while (bytes.length - at >= BATCH_HEADER_BYTES) {
    const header = readBatchHeader(bytes, at)
    const totalBytes = header.batchLength + BATCH_LOG_OVERHEAD
    if (header.batchLength < BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD || at + totalBytes > bytes.length) return
    yield { at, header, totalBytes }
    at += totalBytes
  }
}
