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
  /**
   * The encoded RecordBatch v2 (a view: the end of its produce frame). Nobody changes these bytes once the entry is
   * added, so a store may keep them as given (memory) or clone them (IndexedDB); `list` hands out copies.
   */
  readonly batch: Uint8Array
  /** Clock ms when the batch was first written to the outbox. */
  readonly createdAtMs: number
}

export interface OutboxStore {
  /**
   * Adds a batch before it is sent; with the identity's new next sequence in the same atomic write. `removePending`:
   * seqs of the producer's (`entry.producer`) pending records that this batch now carries, removed in that same write.
   */
  add(entry: OutboxEntry, identity: ProducerIdentity, removePending?: readonly number[]): Promise<void>
  /** Removes an acknowledged batch. */
  remove(producer: string, topic: string, partition: number, baseSequence: number): Promise<void>
  /** Every batch of a producer, ordered by (topic, partition, baseSequence). */
  list(producer: string): Promise<OutboxEntry[]>
}

/**
 * One record sent by a producer that cannot batch yet: it has never had an identity (no producer id yet, e.g. a page
 * opened offline; a batch carries producer id, epoch and sequence), or its page life has not completed its first
 * connection (the broker's batch limits are unknown). It waits here, durably, until both exist; then it joins a
 * sequenced batch, and the outbox write of that batch removes it (same write).
 */
export interface PendingRecord {
  /** Durable producer identity name (slot), as OutboxEntry.producer. */
  readonly producer: string
  /** Order among the producer's pending records (send order); unique while the record is stored. */
  readonly seq: number
  /** The seq of the first record of the same send() call: the records of one send share it. */
  readonly sendSeq: number
  readonly topic: string
  /** The partition asked for, or null: the partitioner picks one once the topic's metadata is known. */
  readonly partition: number | null
  readonly key: Uint8Array | null
  readonly value: Uint8Array | null
  readonly headers: readonly { readonly key: string; readonly value: Uint8Array | null }[]
  /** The record's timestamp (ms since the epoch), fixed when send() was called. */
  readonly timestamp: number
  /** Clock ms when the record was stored. */
  readonly createdAtMs: number
}

export interface PendingRecordStore {
  /** Stores records (e.g. those of one or more send() calls) in one atomic write. */
  add(records: readonly PendingRecord[]): Promise<void>
  /** Every pending record of a producer, ordered by seq. */
  list(producer: string): Promise<PendingRecord[]>
  /** Removes records (their send failed for good). Unknown seqs are ignored. */
  remove(producer: string, seqs: readonly number[]): Promise<void>
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
  /** Records of producers that have no identity or no broker limits yet (see PendingRecord). */
  readonly pending: PendingRecordStore
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
