/** @module walkBatches: reads a segment file batch by batch in bounded chunks, reporting the first structural damage instead of throwing. */
import { BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD, MAGIC, readBatchHeader, type BatchHeader } from '@samsa/shared'
import type { StoredFile } from './log-storage.js'

export interface WalkedBatch {
  readonly kind: 'batch'
  readonly position: number
  readonly header: BatchHeader
  readonly totalBytes: number
  /** With wholeBatches: buffer holding the batch at [at, at + totalBytes). Otherwise it may hold only the header. */
  readonly buffer: Uint8Array
  readonly at: number
}

export interface WalkDamage {
  readonly kind: 'damage'
  readonly position: number
  readonly reason: string
}

export interface WalkOptions {
  /** Byte position to stop at (default: the file size when the walk starts). */
  readonly end?: number
  /** Read at most this much at a time, except that a single batch is read whole when wholeBatches is set. */
  readonly chunkBytes?: number
  /** Load every batch's bytes (needed for verifyBatch); otherwise only headers are guaranteed. */
  readonly wholeBatches?: boolean
}

/**
 * Yields each batch from position start onward. Ends after the last complete batch, or with one 'damage'
 * item at the first incomplete header, bad length or bad magic (CRC checks are left to the caller).
 */
export async function* walkBatches(file: StoredFile, start: number, opts: WalkOptions = {}): AsyncGenerator<WalkedBatch | WalkDamage> {
  const end = opts.end ?? file.size()
  const chunkBytes = Math.max(opts.chunkBytes ?? 64 * 1024, BATCH_HEADER_BYTES)
  let buffer: Uint8Array = new Uint8Array(0)
  let bufferStart = start
  let position = start
  while (position < end) {
    const remaining = end - position
    if (remaining < BATCH_HEADER_BYTES) {
      yield { kind: 'damage', position, reason: `incomplete batch header: ${remaining} of ${BATCH_HEADER_BYTES} bytes` }
      return
    }
    if (position + BATCH_HEADER_BYTES > bufferStart + buffer.length) {
      buffer = await file.read(position, Math.min(chunkBytes, remaining))
      bufferStart = position
      if (buffer.length < BATCH_HEADER_BYTES) {
        yield { kind: 'damage', position, reason: `short read: ${buffer.length} bytes at a batch header` }
        return
      }
    }
    let header: BatchHeader
    try {
      header = readBatchHeader(buffer, position - bufferStart)
    } catch (e) {
      yield { kind: 'damage', position, reason: (e as Error).message }
      return
    }
    if (header.batchLength < BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD) {
      yield { kind: 'damage', position, reason: `bad batch length ${header.batchLength}` }
      return
    }
    if (header.magic !== MAGIC) {
      yield { kind: 'damage', position, reason: `bad magic ${header.magic}` }
      return
    }
    const totalBytes = header.batchLength + BATCH_LOG_OVERHEAD
    if (totalBytes > remaining) {
      yield { kind: 'damage', position, reason: `incomplete batch: ${remaining} of ${totalBytes} bytes` }
      return
    }
    if (opts.wholeBatches && position + totalBytes > bufferStart + buffer.length) {
      buffer = await file.read(position, Math.max(totalBytes, Math.min(chunkBytes, remaining)))
      bufferStart = position
      if (buffer.length < totalBytes) {
        yield { kind: 'damage', position, reason: `short read: ${buffer.length} of ${totalBytes} bytes` }
        return
      }
    }
    yield { kind: 'batch', position, header, totalBytes, buffer, at: position - bufferStart }
    position += totalBytes
  }
}
