/**
 * @module What a PartitionLog's appends and reads answer. Invariant: offsets and the high watermark are the
 * partition's as of the operation (a read's are taken before it reads, so its records never reach past them).
 */

export interface AppendResult {
  baseOffset: number
  lastOffset: number
  /** The broker's clock when the batch was appended (for a duplicate: when the resend was answered). */
  logAppendTimeMs: number
  logStartOffset: number
  duplicate: boolean
}

export interface ReadResult {
  records: Uint8Array
  highWatermark: number
  /** highWatermarkPosition when the read started: bytes that become readable later are the growth from here. */
  highWatermarkPosition: number
  logStartOffset: number
}
