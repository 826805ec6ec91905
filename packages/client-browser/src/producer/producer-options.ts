/** @module The producer's public types: records, metadata, options, pending counts, dependencies. */
import type { Crc32cFn } from '@samsa/shared'
import type { Connection } from '../connection/connection.js'
import type { MetadataCache } from '../metadata/metadata-cache.js'
import type { Clock, Logger, Random } from '../ports.js'
import type { LockManagerLike } from '../storage/identity-lock.js'
import type { ClientStorage } from '../storage/stores.js'

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
  /**
   * Durable identity name, default 'default'. The producer takes the lowest free identity slot `${id}#0`, `${id}#1`, …
   * (one per live tab), reuses that slot's stored producer id, epoch and sequences, and resends its outbox.
   */
  readonly id?: string
  /** 'all' (default): every in-sync replica has it; 'leader': the leader has it; 'none': no answer, not idempotent. */
  readonly acks?: 'all' | 'leader' | 'none'
  /** Default true; forced off with acks 'none'. Not idempotent = no identity, no outbox. */
  readonly idempotent?: boolean
  /** The earliest a batch may be sent after it opened, ms; it waits longer (and keeps filling) while the partition has maxInFlight batches outstanding. Default 0: the batch goes once the current task (and its microtasks) is done, so records sent together still share it. */
  readonly lingerMs?: number
  /** Default and ceiling: the broker's maxBatchBytes from hello. */
  readonly maxBatchBytes?: number
  /** Batches outstanding per partition. Default 5. */
  readonly maxInFlight?: number
  /** Broker-side timeout of a produce, ms. Default 30 000. */
  readonly timeoutMs?: number
  /** Attempts per batch for retriable broker errors (a dropped connection, a timeout or a storage error — the batch may be in the log — is retried without limit). Default 10. */
  readonly maxRetries?: number
}

export interface SendOptions {
  /**
   * Aborts the send: it rejects at once with an AbortError. Records not yet in a batch are dropped
   * (`error.recordsDropped === true`); records already batched are on their way and are still delivered (`false`).
   */
  readonly signal?: AbortSignal
}

export interface FlushOptions {
  /** Stops waiting: flush() rejects with an AbortError; the records keep being sent. */
  readonly signal?: AbortSignal
}

/** What a producer has not yet had acknowledged. */
export interface PendingCount {
  /** Closed batches waiting for their acknowledgement (in the outbox when idempotent), recovered ones included. */
  readonly batches: number
  /** Records in those batches plus records not yet batched. */
  readonly records: number
}

export interface ProducerDeps {
  readonly conn: Connection
  readonly metadata: MetadataCache
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
  readonly storage: ClientStorage
  readonly locks: LockManagerLike
  /** CRC-32C for encoding batches; default the pure-JS one. */
  readonly crc32c?: Crc32cFn
}
