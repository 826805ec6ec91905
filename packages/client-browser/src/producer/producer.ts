/**
 * @module The public Producer: normalizes records, checks sizes locally, picks partitions, feeds the accumulator,
 * and routes closed batches to one PartitionSender per partition. Idempotent by default: one initProducerId,
 * then (producerId, epoch, per-partition sequence) on every batch.
 */
import { Acks, BATCH_HEADER_BYTES, SamsaError, initProducerId, recordEncodedSize, type RecordHeader, type RecordInput } from '@samsa/shared'
import { clientClosedError, type Connection } from '../connection/connection.js'
import type { MetadataCache } from '../metadata/metadata-cache.js'
import type { Clock, Logger, Random } from '../ports.js'
import type { LockManagerLike } from '../storage/identity-lock.js'
import type { ClientStorage } from '../storage/stores.js'
import { PartitionSender, type ProducerIdentity } from './partition-sender.js'
import { Partitioner } from './partitioner.js'
import { RecordAccumulator, type ClosedBatch } from './record-accumulator.js'

export type Bytes = string | Uint8Array

export interface ProducerRecord {
  readonly key?: Bytes | null
  readonly value: Bytes | null
  readonly headers?: Readonly<Record<string, Bytes | null>>
  /** Overrides the partitioner. */
  readonly partition?: number
  /** ms since the epoch; defaults to the clock's now. */
  readonly timestamp?: number
}

export interface RecordMetadata {
  readonly topic: string
  readonly partition: number
  /** −1 with acks 'none' (the broker does not answer). */
  readonly offset: number
}

export interface ProducerOptions {
  /** 'all' (default): every in-sync replica has it; 'leader': the leader has it; 'none': no answer, not idempotent. */
  readonly acks?: 'all' | 'leader' | 'none'
  /** Default true; forced off with acks 'none'. */
  readonly idempotent?: boolean
  /** How long a batch waits for more records, ms. Default 5. */
  readonly lingerMs?: number
  /** Default and ceiling: the broker's maxBatchBytes from hello. */
  readonly maxBatchBytes?: number
  /** Batches outstanding per partition. Default 5. */
  readonly maxInFlight?: number
  /** Broker-side timeout of a produce, ms. Default 30 000. */
  readonly timeoutMs?: number
  /** Attempts per batch for retriable broker errors (a dropped connection is retried without limit). Default 10. */
  readonly maxRetries?: number
}

export interface ProducerDeps {
  readonly conn: Connection
  readonly metadata: MetadataCache
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
  readonly storage: ClientStorage
  readonly locks: LockManagerLike
}

const encoder = new TextEncoder()
const toBytes = (b: Bytes | null | undefined): Uint8Array | null => (b == null ? null : typeof b === 'string' ? encoder.encode(b) : b)

export class Producer {
  readonly #opts: ProducerOptions
  readonly #deps: ProducerDeps
  readonly #acks: number
  readonly #idempotent: boolean
  readonly #partitioner = new Partitioner()
  readonly #accumulator: RecordAccumulator
  /** One sender per "partition/topic"; created on first use. */
  readonly #senders = new Map<string, PartitionSender>()
  /** Sends are admitted one at a time, so records enter the accumulator in call order. */
  #admission: Promise<unknown> = Promise.resolve()
  #identity: Promise<ProducerIdentity> | null = null
  #resolvedIdentity: ProducerIdentity | null = null
  /** Every send() not yet settled; flush() waits for them. */
  readonly #unsettled = new Set<Promise<unknown>>()
  #closed = false

  constructor(opts: ProducerOptions, deps: ProducerDeps) {
    this.#opts = opts
    this.#deps = deps
    this.#acks = opts.acks === 'none' ? Acks.NONE : opts.acks === 'leader' ? Acks.LEADER : Acks.ALL
    this.#idempotent = (opts.idempotent ?? true) && this.#acks !== Acks.NONE
    this.#accumulator = new RecordAccumulator({ lingerMs: opts.lingerMs ?? 5, clock: deps.clock, onReady: (b) => this.#senderFor(b).enqueue(b) })
  }

  /** Resolves with one {topic, partition, offset} per record, in input order, once every record is acknowledged. */
  send(topic: string, records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    if (this.#closed) return Promise.reject(clientClosedError('the producer is closed'))
    const admitted = this.#admission.then(() => this.#admit(topic, records))
    this.#admission = admitted.catch(() => {})
    const result = admitted.then((offsets) => Promise.all(offsets))
    this.#unsettled.add(result)
    const forget = () => void this.#unsettled.delete(result)
    result.then(forget, forget)
    return result
  }

  /** Sends every open batch now and resolves when everything sent so far is settled. */
  async flush(): Promise<void> {
    await this.#admission
    this.#accumulator.closeAll()
    await Promise.allSettled([...this.#unsettled])
  }

  async close(): Promise<void> {
    await this.flush()
    this.#closed = true
  }

  /** Releases the identity slot lock (the client is closing). */
  release(): void {}

  async #admit(topic: string, records: readonly ProducerRecord[]): Promise<Promise<RecordMetadata>[]> {
    const { conn, metadata, clock } = this.#deps
    const hello = conn.helloResponse ?? (await conn.ready())
    const maxBatchBytes = Math.min(this.#opts.maxBatchBytes ?? hello.maxBatchBytes, hello.maxBatchBytes)
    const partitionCount = await metadata.partitionCount(topic)
    if (this.#idempotent) await this.#ensureIdentity()
    const now = clock.now()
    const inputs = records.map((r, i) => {
      const input = toRecordInput(r, now)
      const size = recordEncodedSize(input, 0, input.timestamp)
      if (size > hello.maxRecordBytes || BATCH_HEADER_BYTES + size > maxBatchBytes) {
        throw new SamsaError('MESSAGE_TOO_LARGE', `record ${i} is ${size} bytes; the limits are maxRecordBytes ${hello.maxRecordBytes} and maxBatchBytes ${maxBatchBytes}`, {
          recordBytes: size,
          maxRecordBytes: hello.maxRecordBytes,
          maxBatchBytes,
        })
      }
      const partition = r.partition ?? this.#partitioner.partition(topic, input.key, partitionCount)
      if (!Number.isInteger(partition) || partition < 0 || partition >= partitionCount) {
        throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', `${topic} has ${partitionCount} partitions; there is no partition ${partition}`)
      }
      return { input, partition }
    })
    return inputs.map(({ input, partition }) =>
      new Promise<RecordMetadata>((resolve, reject) => {
        const waiter = { resolve: (offset: number) => resolve({ topic, partition, offset }), reject }
        this.#accumulator.append(topic, partition, input, waiter, maxBatchBytes)
      }),
    )
  }

  async #ensureIdentity(): Promise<void> {
    this.#identity ??= this.#deps.conn.request(initProducerId, { producerId: -1, producerEpoch: -1 }).then(
      (res) => {
        this.#deps.logger.info({ producerId: res.producerId, producerEpoch: res.producerEpoch }, 'producer id assigned')
        return (this.#resolvedIdentity = res)
      },
      (error: unknown) => {
        this.#identity = null
        throw error
      },
    )
    await this.#identity
  }

  #senderFor(batch: ClosedBatch): PartitionSender {
    const key = `${batch.partition}/${batch.topic}`
    let sender = this.#senders.get(key)
    if (sender === undefined) {
      const { conn, clock, random, logger, metadata } = this.#deps
      sender = new PartitionSender(batch.topic, batch.partition, {
        conn,
        clock,
        random,
        logger: logger.child({ topic: batch.topic, partition: batch.partition }),
        acks: this.#acks,
        timeoutMs: this.#opts.timeoutMs ?? 30_000,
        maxInFlight: this.#opts.maxInFlight ?? 5,
        maxRetries: this.#opts.maxRetries ?? 10,
        retryBackoff: { baseMs: 50, capMs: 2_000 },
        identity: this.#idempotent && this.#resolvedIdentity ? this.#resolvedIdentity : { producerId: -1, producerEpoch: -1 },
        onStaleMetadata: (topic) => metadata.invalidate(topic),
      })
      this.#senders.set(key, sender)
    }
    return sender
  }
}

function toRecordInput(r: ProducerRecord, now: number): RecordInput {
  const headers: RecordHeader[] = Object.entries(r.headers ?? {}).map(([key, value]) => ({ key, value: toBytes(value) }))
  return { key: toBytes(r.key), value: toBytes(r.value), headers, timestamp: r.timestamp ?? now }
}
