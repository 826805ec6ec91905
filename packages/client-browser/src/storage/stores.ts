/**
 * @module The SDK's storage ports: where a client keeps what must survive a reload. Each port has a memory and an
 * IndexedDB implementation that pass one contract suite. A position is the offset of the next record to deliver
 * plus the leader epoch of the last record delivered.
 */

/** Committed consumer positions per (consumer id, topic, partition). */
export interface StoredPosition {
  /** The next offset to deliver (last delivered + 1). */
  readonly offset: number
  /** Leader epoch of the last delivered record; −1 when unknown. */
  readonly leaderEpoch: number
}

export interface OffsetStore {
  get(consumerId: string, topic: string, partition: number): Promise<StoredPosition | null>
  /** Stores the position; never moves it backwards unless `force`. */
  put(consumerId: string, topic: string, partition: number, position: StoredPosition, opts?: { force?: boolean }): Promise<void>
  /** All stored positions of a consumer on a topic, by partition. */
  list(consumerId: string, topic: string): Promise<Map<number, StoredPosition>>
  delete(consumerId: string, topic: string): Promise<void>
}

/** One unacknowledged batch, exactly as sent (same bytes, same producer id, epoch and sequence on every resend). */
export interface OutboxEntry {
  /** Durable producer identity name (see ProducerIdentityStore). */
  readonly producer: string
  readonly topic: string
  readonly partition: number
  readonly baseSequence: number
  readonly recordCount: number
  /** The encoded RecordBatch v2. */
  readonly batch: Uint8Array
  /** Clock ms when the batch was first written to the outbox. */
  readonly createdAtMs: number
}

export interface OutboxStore {
  /** Adds a batch before it is sent; with the identity's new next sequence in the same atomic write. */
  add(entry: OutboxEntry, identity: ProducerIdentity): Promise<void>
  /** Removes an acknowledged batch. */
  remove(producer: string, topic: string, partition: number, baseSequence: number): Promise<void>
  /** Every batch of a producer, ordered by (topic, partition, baseSequence). */
  list(producer: string): Promise<OutboxEntry[]>
}

/** The durable identity of an idempotent producer: reused after a reload so the broker deduplicates resends. */
export interface ProducerIdentity {
  readonly name: string
  readonly producerId: number
  readonly producerEpoch: number
  /** Next sequence to assign, per "topic/partition". */
  readonly nextSequences: Readonly<Record<string, number>>
}

export interface ProducerIdentityStore {
  get(name: string): Promise<ProducerIdentity | null>
  put(identity: ProducerIdentity): Promise<void>
}

/** Everything a client persists. `createClient({ storage })`; default: IndexedDB in browsers, memory elsewhere. */
export interface ClientStorage {
  readonly offsets: OffsetStore
  readonly outbox: OutboxStore
  readonly producers: ProducerIdentityStore
  /**
   * Runs fn in ONE atomic transaction over the application's object stores and the offset store (exactly-once
   * processing). Only IndexedDB storage has it; in memory storage it is undefined. If fn throws or rejects, nothing
   * commits. Inside fn, await only requests of this transaction (IndexedDB auto-commits an idle transaction).
   */
  readonly atomic?: <T>(appStores: readonly string[], fn: (tx: AtomicTransaction) => Promise<T>) => Promise<T>
  close(): Promise<void>
}

/** The transaction handed to `sub.process`: the app's stores plus position commits, committed or aborted together. */
export interface AtomicTransaction {
  /** The underlying IDBTransaction (IndexedDB storage), for the app's own object stores. */
  readonly idb: IDBTransaction
  objectStore(name: string): IDBObjectStore
  /** Stages a position commit inside this transaction. */
  putPosition(consumerId: string, topic: string, partition: number, position: StoredPosition): void
}
