/**
 * @module The producer's durable state in its identity slot: the outbox of batches not yet acknowledged, and the
 * identity row (producer id, epoch, next sequence per partition) written with them.
 *
 * Invariants:
 * - every write goes through one queue (`enqueue`), one after another, so the stored identity always matches the
 *   stored batches; a failed write does not block the next (pending-store removals queue here too, because an outbox
 *   write removes the pending rows its batch carries in the same transaction);
 * - a batch is in the outbox, atomically with the identity's advanced next sequence, before its first request; it
 *   leaves when acknowledged or failed for good; a partition's stored next sequence only moves down when failures
 *   re-sequenced the partition (`unpersist` with a reset);
 * - a fenced identity is forgotten (producer id −1), so the next page life asks for a new producer id;
 * - a new page life resends the outbox per partition in baseSequence order, with the same bytes, before any new
 *   batch; nobody awaits those records: `recoveredWaiters` reports their offsets once all are acknowledged;
 * - a batch is stored as the view the producer sends (the end of its produce frame, `encodeBatchInFrame`), never
 *   copied here: its bytes never change once encoded (a request writes only the frame's head). A store that clones
 *   (IndexedDB) keeps the frame's head room with it, a few dozen bytes.
 */
import type { Clock, Logger } from '../ports.js'
import type { ClientStorage, OutboxEntry, ProducerIdentity as StoredIdentity } from '../storage/stores.js'
import type { ProducerIdentity } from './producer-identity.js'
import type { RecordMetadata } from './producer-options.js'
import type { RecordWaiter } from './record-accumulator.js'

/** A batch as the outbox sees it. */
export interface PersistableBatch {
  readonly topic: string
  readonly partition: number
  readonly baseSequence: number
  readonly recordCount: number
  readonly bytes: Uint8Array
  /** Outbox keys of earlier writes of this batch (before re-sequencing) to delete with this write. */
  readonly staleSequences: readonly number[]
  /** Pending-store seqs of the batch's records that were sent before the producer could batch (no identity or no broker limits yet); removed with this write. */
  readonly pendingSeqs: readonly number[]
}

export interface OutboxDeps {
  readonly storage: ClientStorage
  readonly clock: Clock
  readonly logger: Logger
}

const partitionKey = (topic: string, partition: number) => `${topic}/${partition}`

export class Outbox {
  readonly #deps: OutboxDeps
  /** Writes run one after another. */
  #chain: Promise<void> = Promise.resolve()
  /** Set by `open`: the slot name and the identity its batches carry. */
  #slot: string | null = null
  #identity: ProducerIdentity | null = null
  /** Next sequence per "topic/partition" as stored with the identity. */
  #storedSequences: Record<string, number> = {}

  constructor(deps: OutboxDeps) {
    this.#deps = deps
  }

  /** Resolves once every write queued so far has settled. */
  get settled(): Promise<void> {
    return this.#chain
  }

  /** Serializes a write of the slot's durable state; a failed step does not block the next. */
  enqueue<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(step)
    this.#chain = run.then(
      () => {},
      () => {},
    )
    return run
  }

  /** Takes the slot's identity (resumed or assigned); resolves with the batches of a previous page life, per partition in baseSequence order. */
  async open(slot: string, identity: StoredIdentity): Promise<OutboxEntry[][]> {
    this.#slot = slot
    this.#identity = { producerId: identity.producerId, producerEpoch: identity.producerEpoch }
    this.#storedSequences = { ...identity.nextSequences }
    const entries = await this.#deps.storage.outbox.list(slot)
    const groups = new Map<string, OutboxEntry[]>()
    for (const e of entries) {
      const key = partitionKey(e.topic, e.partition)
      groups.set(key, [...(groups.get(key) ?? []), e])
    }
    const ordered = [...groups.values()]
    for (const group of ordered) group.sort((a, b) => a.baseSequence - b.baseSequence)
    return ordered
  }

  /** The partition's next sequence as stored (0 when it has none). */
  nextSequence(topic: string, partition: number): number {
    return this.#storedSequences[partitionKey(topic, partition)] ?? 0
  }

  /** Writes the batch with the identity's advanced next sequence (dropping its stale keys and the pending rows it carries); resolves once durable. */
  persist(batch: PersistableBatch): Promise<void> {
    const slot = this.#slot!
    const { producerId, producerEpoch } = this.#identity!
    const { topic, partition } = batch
    const key = partitionKey(topic, partition)
    return this.enqueue(async () => {
      const { storage, clock } = this.#deps
      for (const seq of batch.staleSequences) await storage.outbox.remove(slot, topic, partition, seq)
      const nextSequences = { ...this.#storedSequences, [key]: Math.max(this.#storedSequences[key] ?? 0, batch.baseSequence + batch.recordCount) }
      const entry: OutboxEntry = { producer: slot, topic, partition, baseSequence: batch.baseSequence, recordCount: batch.recordCount, batch: batch.bytes, createdAtMs: clock.now() }
      await storage.outbox.add(entry, { name: slot, producerId, producerEpoch, nextSequences }, batch.pendingSeqs)
      this.#storedSequences = nextSequences
    })
  }

  /** Removes batches acknowledged or failed for good; `resetNextSequence`: failures re-sequenced the partition. */
  unpersist(topic: string, partition: number, baseSequences: readonly number[], resetNextSequence: number | undefined): void {
    const slot = this.#slot!
    const { producerId, producerEpoch } = this.#identity!
    const key = partitionKey(topic, partition)
    this.enqueue(async () => {
      const { storage } = this.#deps
      for (const seq of baseSequences) await storage.outbox.remove(slot, topic, partition, seq)
      if (resetNextSequence === undefined) return
      this.#storedSequences = { ...this.#storedSequences, [key]: resetNextSequence }
      await storage.producers.put({ name: slot, producerId, producerEpoch, nextSequences: this.#storedSequences } satisfies StoredIdentity)
    }).catch((error: unknown) => this.#deps.logger.warn({ topic, partition, error: String(error) }, 'could not update the outbox'))
  }

  /** The identity was fenced and can never write again: forget it, so the next page life asks for a new producer id. */
  forgetIdentity(): void {
    const slot = this.#slot!
    this.enqueue(() => this.#deps.storage.producers.put({ name: slot, producerId: -1, producerEpoch: -1, nextSequences: {} })).catch(() => {})
  }
}

/** Waiters of a recovered batch: nobody awaits them; once all resolve, `onDelivered` gets the batch's offsets. */
export function recoveredWaiters(e: OutboxEntry, onDelivered: (metas: RecordMetadata[]) => void, logger: Logger): RecordWaiter[] {
  const metas: RecordMetadata[] = new Array<RecordMetadata>(e.recordCount)
  let left = e.recordCount
  let failed = false
  return Array.from({ length: e.recordCount }, (_, i) => ({
    resolve: (offset: number) => {
      metas[i] = { topic: e.topic, partition: e.partition, offset }
      if (--left > 0) return
      onDelivered(metas)
    },
    reject: (error: Error) => {
      if (failed) return
      failed = true
      logger.warn({ topic: e.topic, partition: e.partition, baseSequence: e.baseSequence, error: String(error) }, 'a recovered batch was not delivered')
    },
  }))
}
