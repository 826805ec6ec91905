/** @module The outcome of one send() (a Promise.all without a promise per record) and the record conversion it starts from. */
import type { RecordHeader, RecordInput } from '@samsa/shared'
import type { Bytes, ProducerRecord, RecordMetadata } from './producer-options.js'
import type { RecordWaiter } from './record-accumulator.js'

const encoder = new TextEncoder()
const toBytes = (b: Bytes | null | undefined): Uint8Array | null => (b == null ? null : typeof b === 'string' ? encoder.encode(b) : b)

const NO_HEADERS: readonly RecordHeader[] = Object.freeze([])

export function toRecordInput(r: ProducerRecord, now: number): RecordInput {
  const headers: readonly RecordHeader[] = r.headers === undefined ? NO_HEADERS : Object.entries(r.headers).map(([key, value]) => ({ key, value: toBytes(value) }))
  return { key: toBytes(r.key), value: toBytes(r.value), headers, timestamp: r.timestamp ?? now }
}

/**
 * The outcome of one send(): like Promise.all over its records (resolves with every record's metadata in input
 * order once all are acknowledged; rejects with the first failure), without a promise per record.
 */
export class SendGroup {
  readonly promise: Promise<RecordMetadata[]>
  readonly topic: string
  readonly #metas: RecordMetadata[]
  #left: number
  #settled = false
  #resolve!: (metas: RecordMetadata[]) => void
  #reject!: (error: Error) => void

  constructor(topic: string, count: number) {
    this.topic = topic
    this.#metas = new Array<RecordMetadata>(count)
    this.#left = count
    this.promise = new Promise<RecordMetadata[]>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    if (count === 0) this.#resolve(this.#metas)
  }

  done(index: number, meta: RecordMetadata): void {
    if (this.#settled) return
    this.#metas[index] = meta
    if (--this.#left > 0) return
    this.#settled = true
    this.#resolve(this.#metas)
  }

  fail(error: Error): void {
    if (this.#settled) return
    this.#settled = true
    this.#reject(error)
  }
}

/** One record's waiter: reports to its send's group. */
export class RecordSlot implements RecordWaiter {
  readonly #group: SendGroup
  readonly #index: number
  readonly #partition: number
  /** The record's seq in the pending store, when it was stored there (sent before the producer had an identity or the broker's limits). */
  readonly pendingSeq: number | undefined

  constructor(group: SendGroup, index: number, partition: number, pendingSeq: number | undefined) {
    this.#group = group
    this.#index = index
    this.#partition = partition
    this.pendingSeq = pendingSeq
  }

  resolve(offset: number): void {
    this.#group.done(this.#index, { topic: this.#group.topic, partition: this.#partition, offset })
  }

  reject(error: Error): void {
    this.#group.fail(error)
  }
}
