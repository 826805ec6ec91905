/**
 * @module Collects records into one open batch per partition, like Kafka's RecordAccumulator. A batch is closed when
 * the next record would not fit in maxBatchBytes, or once lingerMs has passed since it opened AND its partition's
 * sender can send it now (`canSend`: a free in-flight slot). Until then the batch keeps accepting records, so a
 * partition that has maxInFlight batches outstanding gathers what arrives meanwhile into one batch instead of many
 * small ones; the sender calls `sendReady` when a slot frees up. Closed batches go to `onReady`, in order.
 */
import { BATCH_HEADER_BYTES, recordEncodedSize, type RecordInput } from '@samsa/shared'
import type { Clock, TimerHandle } from '../ports.js'

export interface RecordWaiter {
  /** Set when the record is stored in the pending store (sent before the producer had an identity): its seq there. */
  readonly pendingSeq?: number | undefined
  resolve(offset: number): void
  reject(error: Error): void
}

export interface ClosedBatch {
  readonly topic: string
  readonly partition: number
  /** Non-empty; timestamps never fall below records[0].timestamp, so the size estimate is exact. */
  readonly records: RecordInput[]
  /** waiters[i] belongs to records[i]. */
  readonly waiters: RecordWaiter[]
  /** Encoded size (header + records) when encoded with baseTimestamp = records[0].timestamp. */
  readonly sizeBytes: number
}

interface OpenBatch extends ClosedBatch {
  readonly key: string
  sizeBytes: number
  timer: TimerHandle | null
  /** lingerMs has passed: closed as soon as the sender can send it. */
  lingered: boolean
}

export interface RecordAccumulatorOptions {
  readonly lingerMs: number
  readonly clock: Clock
  readonly onReady: (batch: ClosedBatch) => void
  /** Whether the partition's sender would send a batch closed now (default: always). If not, a lingered batch stays open until `sendReady`. */
  readonly canSend?: (topic: string, partition: number) => boolean
}

export class RecordAccumulator {
  readonly #opts: RecordAccumulatorOptions
  /** At most one open batch per "topic/partition" key. */
  readonly #open = new Map<string, OpenBatch>()
  /** The batch of the last append (may have been closed since). */
  #last: OpenBatch | null = null

  constructor(opts: RecordAccumulatorOptions) {
    this.#opts = opts
  }

  get openBatches(): number {
    return this.#open.size
  }

  /** The caller has already checked that the record fits in an empty batch of maxBatchBytes. */
  append(topic: string, partition: number, record: RecordInput, waiter: RecordWaiter, maxBatchBytes: number): void {
    // Consecutive records usually go to the same partition: skip the key string and the map lookup.
    const last = this.#last
    let batch = last !== null && last.partition === partition && last.topic === topic && this.#open.get(last.key) === last ? last : undefined
    const key = batch?.key ?? `${partition}/${topic}`
    batch ??= this.#open.get(key)
    if (batch !== undefined) {
      const size = recordEncodedSize(record, batch.records.length, batch.records[0]!.timestamp)
      if (record.timestamp < batch.records[0]!.timestamp || batch.sizeBytes + size > maxBatchBytes) {
        this.#close(key, batch)
        batch = undefined
      } else {
        batch.records.push(record)
        batch.waiters.push(waiter)
        batch.sizeBytes += size
        this.#last = batch
        return
      }
    }
    const opened: OpenBatch = { key, topic, partition, records: [record], waiters: [waiter], sizeBytes: BATCH_HEADER_BYTES + recordEncodedSize(record, 0, record.timestamp), timer: null, lingered: false }
    this.#open.set(key, opened)
    this.#last = opened
    const { clock, lingerMs } = this.#opts
    const expire = () => {
      opened.timer = null
      if (this.#open.get(key) !== opened) return
      opened.lingered = true
      if (this.#opts.canSend?.(topic, partition) ?? true) this.#close(key, opened)
    }
    // lingerMs 0: close once the current task (and its microtasks) is done, so records sent together still share a
    // batch, without the ≥ 1 ms a setTimeout(…, 0) costs.
    if (lingerMs <= 0 && clock.setImmediate !== undefined) clock.setImmediate(expire)
    else opened.timer = clock.setTimeout(expire, lingerMs)
  }

  /** The partition's sender can send now: closes its open batch if lingerMs has passed for it. */
  sendReady(topic: string, partition: number): void {
    const key = `${partition}/${topic}`
    const batch = this.#open.get(key)
    if (batch?.lingered === true) this.#close(key, batch)
  }

  /** Closes every open batch now (flush). */
  closeAll(): void {
    for (const [key, batch] of [...this.#open]) if (this.#open.get(key) === batch) this.#close(key, batch)
  }

  #close(key: string, batch: OpenBatch): void {
    this.#open.delete(key)
    if (batch.timer !== null) this.#opts.clock.clearTimeout(batch.timer)
    const { topic, partition, records, waiters, sizeBytes } = batch
    this.#opts.onReady({ topic, partition, records, waiters, sizeBytes })
  }
}
