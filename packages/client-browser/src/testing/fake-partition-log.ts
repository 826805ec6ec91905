/** @module The fake broker's storage for one partition: batches in memory, offsets assigned on append, idempotent-producer dedupe by (producerId, epoch, sequence). */
import { SamsaError, decodeRecords, patchBatch, readBatchHeader, type DecodedRecord } from '@samsa/shared'

export interface StoredBatch {
  readonly baseOffset: number
  readonly lastOffset: number
  readonly bytes: Uint8Array
}

interface ProducerState {
  epoch: number
  /** Sequence of the last record appended; −1 before the first batch. */
  lastSequence: number
  /** The last five appended batches, for answering resends as duplicates. */
  recent: { baseSequence: number; baseOffset: number }[]
}

export interface AppendResult {
  readonly baseOffset: number
  readonly duplicate: boolean
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
  readonly #producers = new Map<number, ProducerState>()

  /** Appends a verified batch (copied) at `leaderEpoch`, or answers a resend as a duplicate; throws SamsaError on a sequence problem. */
  append(batch: Uint8Array, leaderEpoch: number = this.leaderEpoch): AppendResult {
    const h = readBatchHeader(batch)
    if (h.producerId >= 0) {
      let state = this.#producers.get(h.producerId)
      if (state !== undefined && h.producerEpoch < state.epoch) {
        throw new SamsaError('INVALID_PRODUCER_EPOCH', `epoch ${h.producerEpoch} is older than ${state.epoch}`)
      }
      if (state === undefined || h.producerEpoch > state.epoch) {
        state = { epoch: h.producerEpoch, lastSequence: -1, recent: [] }
        this.#producers.set(h.producerId, state)
      }
      const dup = state.recent.find((b) => b.baseSequence === h.baseSequence)
      if (dup !== undefined) return { baseOffset: dup.baseOffset, duplicate: true }
      if (h.baseSequence !== state.lastSequence + 1) {
        throw new SamsaError('OUT_OF_ORDER_SEQUENCE_NUMBER', `expected sequence ${state.lastSequence + 1}, got ${h.baseSequence}`)
      }
      state.lastSequence = h.baseSequence + h.recordCount - 1
      state.recent.push({ baseSequence: h.baseSequence, baseOffset: this.logEndOffset })
      if (state.recent.length > 5) state.recent.shift()
    }
    const bytes = batch.slice()
    const baseOffset = this.logEndOffset
    patchBatch(bytes, 0, baseOffset, leaderEpoch)
    if ((this.epochs.at(-1)?.epoch ?? -1) < leaderEpoch) this.epochs.push({ epoch: leaderEpoch, startOffset: baseOffset })
    this.batches.push({ baseOffset, lastOffset: baseOffset + h.recordCount - 1, bytes })
    this.logEndOffset += h.recordCount
    return { baseOffset, duplicate: false }
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

  /** Drops whole batches from the one holding offset on (a lost unacknowledged tail), moving logEndOffset down; producer state is lost with it. */
  truncateAfter(offset: number): void {
    while (this.batches.length > 0 && this.batches[this.batches.length - 1]!.lastOffset >= offset) this.batches.pop()
    this.logEndOffset = this.batches.length > 0 ? this.batches[this.batches.length - 1]!.lastOffset + 1 : Math.min(this.logEndOffset, offset)
    this.logStartOffset = Math.min(this.logStartOffset, this.logEndOffset)
    while (this.epochs.length > 0 && this.epochs.at(-1)!.startOffset >= this.logEndOffset) this.epochs.pop()
    this.#producers.clear()
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
