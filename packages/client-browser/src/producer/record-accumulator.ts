/**
 * @module Collects records into one open batch per partition and closes it when the next record would not fit in
 * maxBatchBytes or when lingerMs has passed since the batch opened. Closed batches go to `onReady`, in order.
 */
import { BATCH_HEADER_BYTES, recordEncodedSize, type RecordInput } from '@samsa/shared'
import type { Clock, TimerHandle } from '../ports.js'

export interface RecordWaiter {
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
}

export interface RecordAccumulatorOptions {
  readonly lingerMs: number
  readonly clock: Clock
  readonly onReady: (batch: ClosedBatch) => void
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
    const opened: OpenBatch = { key, topic, partition, records: [record], waiters: [waiter], sizeBytes: BATCH_HEADER_BYTES + recordEncodedSize(record, 0, record.timestamp), timer: null }
    this.#open.set(key, opened)
    this.#last = opened
    const { clock, lingerMs } = this.#opts
    const expire = () => {
      opened.timer = null
      if (this.#open.get(key) === opened) this.#close(key, opened)
    }
    // lingerMs 0: close once the current task (and its microtasks) is done, so records sent together still share a
    // batch, without the ≥ 1 ms a setTimeout(…, 0) costs.
    if (lingerMs <= 0 && clock.setImmediate !== undefined) clock.setImmediate(expire)
    else opened.timer = clock.setTimeout(expire, lingerMs)
  }

  /** Closes every open batch now (flush). */
  closeAll(): void {
    for (const [key, batch] of [...this.#open]) this.#close(key, batch)
  }

  #close(key: string, batch: OpenBatch): void {
    this.#open.delete(key)
    if (batch.timer !== null) this.#opts.clock.clearTimeout(batch.timer)
    const { topic, partition, records, waiters, sizeBytes } = batch
    this.#opts.onReady({ topic, partition, records, waiters, sizeBytes })
  }
}
