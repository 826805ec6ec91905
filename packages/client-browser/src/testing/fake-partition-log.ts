/** @module The fake broker's storage for one partition: batches in memory, offsets assigned on append; no idempotent-producer dedupe (that rule is the broker's alone). */
import { decodeRecords, patchBatch, readBatchHeader, type DecodedRecord } from '@samsa/shared'

export interface StoredBatch {
  readonly baseOffset: number
  readonly lastOffset: number
  readonly bytes: Uint8Array
}

export interface AppendResult {
  readonly baseOffset: number
}

export class FakePartitionLog {
  /** Contiguous: batches[i + 1].baseOffset === batches[i].lastOffset + 1. */
  readonly batches: StoredBatch[] = []
  /** logStartOffset ≤ logEndOffset; highWatermark = logEndOffset (a single broker). */
  logStartOffset = 0
  logEndOffset = 0

  /** The leader epoch stamped on appended batches (FakeBroker.newLeaderEpoch moves it). */
  leaderEpoch = 0
  /** The leader-epoch cache: each epoch that has batches and the offset of its first one, oldest first. */
  readonly epochs: { epoch: number; startOffset: number }[] = []

  /**
   * Appends a batch (copied) at the log end at `leaderEpoch`. No idempotent-producer rule lives here: a resend is
   * appended again and sequences are not checked. Tests about dedupe, sequences or exactly-once run on the real
   * broker core (test/support/core-broker.ts) so that the broker's one rule (log/producer-state.ts) is what they test.
   */
  append(batch: Uint8Array, leaderEpoch: number = this.leaderEpoch): AppendResult {
    const h = readBatchHeader(batch)
    const bytes = batch.slice()
    const baseOffset = this.logEndOffset
    patchBatch(bytes, 0, baseOffset, leaderEpoch)
    if ((this.epochs.at(-1)?.epoch ?? -1) < leaderEpoch) this.epochs.push({ epoch: leaderEpoch, startOffset: baseOffset })
    this.batches.push({ baseOffset, lastOffset: baseOffset + h.recordCount - 1, bytes })
    this.logEndOffset += h.recordCount
    return { baseOffset }
  }

  /** Whole batches holding offsets ≥ offset, at least one (if any) and then as many as fit in maxBytes. */
  read(offset: number, maxBytes: number): StoredBatch[] {
    const out: StoredBatch[] = []
    let bytes = 0
    for (const b of this.batches) {
      if (b.lastOffset < offset) continue
      if (out.length > 0 && bytes + b.bytes.length > maxBytes) break
      out.push(b)
      bytes += b.bytes.length
    }
    return out
  }

  /** Drops whole batches below offset (retention), moving logStartOffset. */
  truncateBefore(offset: number): void {
    while (this.batches.length > 0 && this.batches[0]!.lastOffset < offset) this.batches.shift()
    this.logStartOffset = this.batches[0]?.baseOffset ?? this.logEndOffset
  }

  /** Drops whole batches from the one holding offset on (a lost unacknowledged tail), moving logEndOffset down. */
  truncateAfter(offset: number): void {
    while (this.batches.length > 0 && this.batches[this.batches.length - 1]!.lastOffset >= offset) this.batches.pop()
    this.logEndOffset = this.batches.length > 0 ? this.batches[this.batches.length - 1]!.lastOffset + 1 : Math.min(this.logEndOffset, offset)
    this.logStartOffset = Math.min(this.logStartOffset, this.logEndOffset)
    while (this.epochs.length > 0 && this.epochs.at(-1)!.startOffset >= this.logEndOffset) this.epochs.pop()
  }

  /** OffsetsForLeaderEpoch: the largest epoch ≤ `epoch` with batches and the offset after its last one; −1/−1 when none. */
  endOffsetFor(epoch: number): { leaderEpoch: number; endOffset: number } {
    let i = this.epochs.length - 1
    while (i >= 0 && this.epochs[i]!.epoch > epoch) i--
    if (i < 0) return { leaderEpoch: -1, endOffset: -1 }
    return { leaderEpoch: this.epochs[i]!.epoch, endOffset: this.epochs[i + 1]?.startOffset ?? this.logEndOffset }
  }

  records(): DecodedRecord[] {
    return this.batches.flatMap((b) => decodeRecords(b.bytes).records)
  }

  /** First offset whose record timestamp is ≥ timestampMs, or null. */
  offsetForTimestamp(timestampMs: number): { offset: number; timestamp: number } | null {
    for (const r of this.records()) if (r.timestamp >= timestampMs) return { offset: r.offset, timestamp: r.timestamp }
    return null
  }
}
