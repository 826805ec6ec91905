/**
 * @module Re-encoding a batch the log cleaner keeps only some records of. The result is a RecordBatch v2 with the
 * original header's offset range (baseOffset, lastOffsetDelta), partition leader epoch, attributes, base and max
 * timestamps and producer id/epoch/base sequence; each surviving record keeps its offset (as its original offsetDelta),
 * timestamp, key, value and headers. recordCount is the survivors' count (0 allowed: the batch then only keeps its
 * offset range and producer sequence). The CRC is recomputed. verifyBatch accepts it with `compacted: true`.
 */
import { crc32c } from '../bytes/crc32c.js'
import { writeInt64 } from '../bytes/int64.js'
import { utf8ByteLength } from '../bytes/utf8.js'
import { varintSize, writeVarint } from '../bytes/varint.js'
import { BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD, CRC_START, MAGIC, type BatchHeader, type Crc32cFn, type DecodedRecord } from './record-batch.js'

const encoder = new TextEncoder()

function blobSize(blob: Uint8Array | null): number {
  return blob === null ? 1 : varintSize(blob.length) + blob.length
}

function bodySize(r: DecodedRecord, header: BatchHeader): number {
  let body = 1 + varintSize(r.timestamp - header.baseTimestamp) + varintSize(r.offset - header.baseOffset) + blobSize(r.key) + blobSize(r.value) + varintSize(r.headers.length)
  for (const h of r.headers) {
    const keyBytes = utf8ByteLength(h.key)
    body += varintSize(keyBytes) + keyBytes + blobSize(h.value)
  }
  return body
}

function writeBlob(bytes: Uint8Array, at: number, blob: Uint8Array | null): number {
  if (blob === null) return writeVarint(bytes, at, -1)
  at = writeVarint(bytes, at, blob.length)
  bytes.set(blob, at)
  return at + blob.length
}

/** The batch `header` holding only `records` (a subsequence of its own records, in offset order). */
export function encodeCompactedBatch(header: BatchHeader, records: readonly DecodedRecord[], crc: Crc32cFn = crc32c): Uint8Array {
  const last = header.baseOffset + header.lastOffsetDelta
  let total = BATCH_HEADER_BYTES
  let previous = header.baseOffset - 1
  for (const r of records) {
    if (r.offset <= previous || r.offset > last) throw new RangeError(`record offset ${r.offset} is not in order within the batch [${header.baseOffset}, ${last}]`)
    previous = r.offset
    const size = bodySize(r, header)
    total += varintSize(size) + size
  }
  const bytes = new Uint8Array(total)
  const view = new DataView(bytes.buffer)
  writeInt64(view, 0, header.baseOffset)
  view.setInt32(8, total - BATCH_LOG_OVERHEAD)
  view.setInt32(12, header.partitionLeaderEpoch)
  view.setInt8(16, MAGIC)
  view.setInt16(21, header.attributes)
  view.setInt32(23, header.lastOffsetDelta)
  writeInt64(view, 27, header.baseTimestamp)
  writeInt64(view, 35, header.maxTimestamp)
  writeInt64(view, 43, header.producerId)
  view.setInt16(51, header.producerEpoch)
  view.setInt32(53, header.baseSequence)
  view.setInt32(57, records.length)
  let at = BATCH_HEADER_BYTES
  for (const r of records) {
    at = writeVarint(bytes, at, bodySize(r, header))
    bytes[at++] = 0
    at = writeVarint(bytes, at, r.timestamp - header.baseTimestamp)
    at = writeVarint(bytes, at, r.offset - header.baseOffset)
    at = writeBlob(bytes, at, r.key)
    at = writeBlob(bytes, at, r.value)
    at = writeVarint(bytes, at, r.headers.length)
    for (const h of r.headers) {
      at = writeBlob(bytes, at, encoder.encode(h.key))
      at = writeBlob(bytes, at, h.value)
    }
  }
  view.setUint32(17, crc(bytes, CRC_START, total))
  return bytes
}
