/**
 * @module The public Producer: normalizes records, checks sizes locally, picks partitions, feeds the accumulator,
 * and routes closed batches to one PartitionSender per partition. Idempotent by default: (producerId, epoch,
 * per-partition sequence) on every batch.
 *
 * Durable: the identity (producer id, epoch, next sequence per partition) lives in the ProducerIdentityStore under an
 * identity slot `${id}#${n}` held with a Web Lock (see storage/identity-lock.ts). initProducerId is called only when
 * the slot has no identity yet; after a reload the stored identity is reused (a new initProducerId would bump the
 * epoch and fence the outbox). Every batch is written to the outbox (with the advanced next sequence, atomically)
 * before it is sent and removed when acknowledged or failed for good; a new page life resends the outbox, in
 * (partition, baseSequence) order with the same bytes, before any new batch, and the broker dedupes.
 *
 * A slot that has never had an identity cannot batch yet (a batch carries producer id, epoch and sequence), and no
 * producer can batch before this page life knows the broker's limits (maxBatchBytes, maxRecordBytes from hello):
 * until it has both, every send() first writes its records to the pending store (PendingRecordStore), one record per
 * row in send order. Once they exist the records are admitted like any send, in order (a previous page life's
 * first); the outbox write of each batch removes the pending rows of the records it carries, in the same transaction.
 * Once connected (identity and limits known), sends skip the pending store.
 */
import { Acks, BATCH_HEADER_BYTES, ErrorMessages, SamsaError, initProducerId, recordEncodedSize, type HelloResponse, type RecordInput } from '@samsa/shared'
import { AbortError, abortable } from '../client-errors.js'
import { backoffDelayMs } from '../connection/backoff.js'
import { clientClosedError } from '../connection/connection.js'
import { acquireIdentitySlot, type IdentitySlot } from '../storage/identity-lock.js'
import type { OutboxEntry, PendingRecord, ProducerIdentity as StoredIdentity } from '../storage/stores.js'
import { PartitionSender, type PersistableBatch, type ProducerIdentity } from './partition-sender.js'
import { Partitioner } from './partitioner.js'
import { RecordAccumulator, type ClosedBatch, type RecordWaiter } from './record-accumulator.js'
import type { PendingCount, ProducerDeps, ProducerOptions, ProducerRecord, RecordMetadata } from './producer-options.js'
import { RecordSlot, SendGroup, toRecordInput } from './send-group.js'
import { checkFlushOptions, checkListener, checkSendArguments } from '../validation/producer-arguments.js'

export type { Bytes, FlushOptions, PendingCount, ProducerDeps, ProducerOptions, ProducerRecord, RecordMetadata, SendOptions } from './producer-options.js'
import type { FlushOptions, SendOptions } from './producer-options.js'

const partitionKey = (topic: string, partition: number) => `${topic}/${partition}`
/** The client (or producer) closed: not a failure of the records, which stay stored for the next page life. */
const isClientClosed = (e: unknown) => e instanceof SamsaError && e.errorName === 'NETWORK_EXCEPTION' && !e.retriable
/** Errors of a connection that is down or slow: a lookup for pending records waits them out. */
const isConnectionTrouble = (e: SamsaError) => e.retriable && (e.errorName === 'NETWORK_EXCEPTION' || e.errorName === 'REQUEST_TIMED_OUT')

/** What one send() admits: the caller's records, or records stored in the pending store (timestamps fixed at send()). */
type AdmitSource = { readonly records: readonly ProducerRecord[]; readonly pending?: undefined } | { readonly records?: undefined; readonly pending: readonly PendingRecord[] }

const droppedError = (signal: AbortSignal) => new AbortError('send aborted before its records were batched: they were dropped, none was sent', signal.reason, true)

/** A send()'s abort state, read and written synchronously where its records are appended to a batch. */
interface AbortControl {
  readonly signal: AbortSignal
  /** Aborted before its records were batched: #admit drops them. */
  aborted: boolean
  /** Its records are in a batch (they will be delivered whatever the signal says). */
  admitted: boolean
}

/** A send() waiting for its pending-store write. */
interface PendingWrite {
  readonly topic: string
  readonly records: readonly { readonly input: RecordInput; readonly partition: number | null }[]
  resolve(rows: PendingRecord[] | null): void
  reject(error: unknown): void
}

export class Producer {
  /** Resolves when the identity is loaded (or assigned) and the recovered outbox is queued; rejects if that fails. */
  readonly ready: Promise<void>
  /** The local part of init (slot, stored identity, pending records of a previous page life); needs no broker. */
  readonly #local: Promise<void>
  readonly #opts: ProducerOptions
  readonly #deps: ProducerDeps
  readonly #name: string
  readonly #acks: number
  readonly #idempotent: boolean
  readonly #partitioner = new Partitioner()
  readonly #accumulator: RecordAccumulator
  /** One sender per "partition/topic"; created on first use. */
  readonly #senders = new Map<string, PartitionSender>()
  /** Sends are admitted one at a time, so records enter the accumulator in call order. */
  #admission: Promise<unknown> = Promise.resolve()
  #slot: IdentitySlot | null = null
  #identity: ProducerIdentity | null = null
  /** The slot's identity as stored when the slot was taken (null: none yet). */
  #stored: StoredIdentity | null = null
  /** The slot has a usable stored identity: sends need not go through the pending store. */
  #hasStoredIdentity = false
  /** Pending records of a previous page life, admitted before any send of this one. */
  #recoveredPending: PendingRecord[] = []
  #nextPendingSeq = 0
  /** send() calls made before the identity and the broker's limits exist, waiting for their pending-store write (one transaction per round). */
  #pendingWrites: PendingWrite[] = []
  #pendingWriting = false
  /** Next sequence per "topic/partition" as stored with the identity. */
  #storedSequences: Record<string, number> = {}
  /** Outbox writes run one after another, so the stored identity always matches the stored batches. */
  #storageChain: Promise<void> = Promise.resolve()
  /** Every send() not yet settled; flush() waits for them. */
  readonly #unsettled = new Set<Promise<unknown>>()
  #unbatchedRecords = 0
  #batches = 0
  #batchedRecords = 0
  readonly #pendingListeners = new Set<(pending: PendingCount) => void>()
  readonly #recoveredListeners = new Set<(metas: RecordMetadata[]) => void>()
  #fenced: SamsaError | null = null
  #hello: HelloResponse | null = null
  #closed = false
  #released = false

  constructor(opts: ProducerOptions, deps: ProducerDeps) {
    this.#opts = opts
    this.#deps = deps
    this.#name = opts.id ?? 'default'
    this.#acks = opts.acks === 'none' ? Acks.NONE : opts.acks === 'leader' ? Acks.LEADER : Acks.ALL
    this.#idempotent = (opts.idempotent ?? true) && this.#acks !== Acks.NONE
    this.#accumulator = new RecordAccumulator({
      lingerMs: opts.lingerMs ?? 0,
      clock: deps.clock,
      onReady: (b) => this.#batchClosed(b),
      // No sender yet: an idle one will be created for the batch.
      canSend: (topic, partition) => this.#senders.get(`${partition}/${topic}`)?.canSend ?? true,
    })
    this.#local = this.#idempotent ? this.#initLocal() : Promise.resolve()
    this.#local.catch(() => {}) // reported through ready
    this.ready = this.#idempotent ? this.#local.then(() => this.#initIdentity()) : Promise.resolve()
    // Pending records of a previous page life go first (they wait for the identity like every send).
    if (this.#idempotent) this.#admission = this.#local.then(() => this.#admitRecoveredPending()).catch(() => {})
    this.ready.catch((error: unknown) => deps.logger.warn({ producer: this.#name, error: String(error) }, 'producer identity unavailable'))
  }

  /** The identity slot this producer holds (`${id}#n`), once `ready`; null before or when not idempotent. */
  get identitySlot(): string | null {
    return this.#slot?.name ?? null
  }

  /**
   * Resolves with one {topic, partition, offset} per record, in input order, once every record is acknowledged.
   * Bad arguments reject with a TypeError and change nothing. `options.signal` aborts the send: the promise rejects at
   * once with an AbortError; if the records were not yet in a batch they are dropped (`recordsDropped: true`, pending()
   * no longer counts them, none is sent), else they are already on their way and will still be delivered
   * (`recordsDropped: false`; a batch cannot be unsent) and pending() counts them until acknowledged.
   */
  send(topic: string, records: readonly ProducerRecord[], options?: SendOptions): Promise<RecordMetadata[]> {
    let signal: AbortSignal | undefined
    try {
      signal = checkSendArguments(topic, records, options).signal
    } catch (error) {
      return Promise.reject(error)
    }
    if (this.#closed || this.#released) return Promise.reject(clientClosedError('the producer is closed'))
    if (this.#fenced !== null) return Promise.reject(this.#fenced)
    if (signal?.aborted) return Promise.reject(droppedError(signal))
    const control: AbortControl | null = signal === undefined ? null : { signal, aborted: false, admitted: false }
    this.#unbatchedRecords += records.length
    this.#emitPending()
    let uncounted = false
    const uncount = () => {
      if (uncounted) return
      uncounted = true
      this.#unbatchedRecords -= records.length
      this.#emitPending()
    }
    // No identity yet, or no broker limits in this page life yet (no completed hello): the records cannot be batched
    // now, so they are written to the pending store first (durable before they are batched).
    const stored = this.#idempotent && ((this.#identity === null && !this.#hasStoredIdentity) || this.#limits() === null) ? this.#storePending(topic, records) : null
    stored?.catch(() => {}) // reported through admitted
    const admitted = this.#admission.then(async () => {
      const rows = await stored
      return this.#admit(topic, rows == null ? { records } : { pending: rows }, control)
    })
    admitted.catch(uncount)
    this.#admission = admitted.catch(() => {})
    // The send's own outcome, whatever its signal does: flush() waits for it, and a failure drops its pending-store rows.
    const outcome = admitted.then((group) => group.promise)
    this.#unsettled.add(outcome)
    const forget = () => void this.#unsettled.delete(outcome)
    outcome.then(forget, forget)
    if (stored !== null) outcome.catch((error: unknown) => this.#dropPending(stored, error))
    if (control === null) return outcome
    return abortable(outcome, control.signal, () => {
      if (control.admitted) return new AbortError('send aborted after its records were batched: they will still be delivered (a sent batch cannot be unsent)', control.signal.reason, false)
      control.aborted = true
      uncount()
      const error = droppedError(control.signal)
      // Records already in the pending store go now, not when the admission queue reaches this send (maybe never in this page life).
      if (stored !== null) this.#dropPending(stored, error)
      return error
    })
  }

  /** Batches and records not yet acknowledged: the outbox (recovered batches included) plus records not yet batched. */
  pending(): PendingCount {
    return { batches: this.#batches, records: this.#batchedRecords + this.#unbatchedRecords }
  }

  /** Calls the listener on every change of `pending()` (e.g. to show "sending…"); returns the unsubscribe function. */
  onPending(listener: (pending: PendingCount) => void): () => void {
    checkListener('onPending(listener)', listener)
    this.#pendingListeners.add(listener)
    return () => void this.#pendingListeners.delete(listener)
  }

  /** Reports the offsets of each batch recovered from a previous page life once the broker acknowledges it. */
  onRecovered(listener: (metas: RecordMetadata[]) => void): () => void {
    checkListener('onRecovered(listener)', listener)
    this.#recoveredListeners.add(listener)
    return () => void this.#recoveredListeners.delete(listener)
  }

  /**
   * Sends every open batch now and resolves when everything sent so far is settled and the outbox is empty (needs a
   * connection). `options.signal` stops the waiting only: the flush promise rejects with an AbortError, and the
   * records keep being sent.
   */
  flush(options?: FlushOptions): Promise<void> {
    let signal: AbortSignal | undefined
    try {
      signal = checkFlushOptions(options).signal
    } catch (error) {
      return Promise.reject(error)
    }
    if (signal === undefined) return this.#flush()
    const aborted = () => new AbortError('flush aborted; the records keep being sent', signal.reason)
    return signal.aborted ? Promise.reject(aborted()) : abortable(this.#flush(), signal, aborted)
  }

  async #flush(): Promise<void> {
    await this.ready.catch(() => {})
    await this.#admission
    this.#accumulator.closeAll()
    await Promise.allSettled([...this.#unsettled])
    if (this.#batches > 0) {
      await new Promise<void>((resolve) => {
        const off = this.onPending((p) => {
          if (p.batches > 0) return
          off()
          resolve()
        })
      })
    }
    await this.#storageChain
  }

  /** Flushes, then releases the identity slot. */
  async close(): Promise<void> {
    await this.#flush()
    this.#closed = true
    this.release()
  }

  /** Releases the identity slot without flushing (the client is closing; what is unacknowledged stays in the outbox). */
  release(): void {
    this.#released = true
    this.#slot?.release()
  }

  /** Takes the identity slot and reads what is stored locally; needs no broker. */
  async #initLocal(): Promise<void> {
    const { storage, locks, logger } = this.#deps
    const slot = await acquireIdentitySlot(locks, this.#name)
    if (this.#released) {
      slot.release()
      throw clientClosedError('the producer is closed')
    }
    this.#slot = slot
    const [stored, pending] = await Promise.all([storage.producers.get(slot.name), storage.pending.list(slot.name)])
    this.#stored = stored
    this.#hasStoredIdentity = stored !== null && stored.producerId >= 0
    this.#recoveredPending = pending
    this.#nextPendingSeq = pending.length > 0 ? pending.at(-1)!.seq + 1 : 0
    if (pending.length > 0) {
      logger.info({ slot: slot.name, records: pending.length }, 'sending the records a previous page life stored before it had an identity')
      this.#unbatchedRecords += pending.length
      this.#emitPending()
    }
  }

  /** Resumes the stored identity or asks the broker for one, then queues the outbox of a previous page life. */
  async #initIdentity(): Promise<void> {
    const { storage, logger } = this.#deps
    const slot = this.#slot!
    let stored = this.#stored
    if (stored === null || stored.producerId < 0) {
      const res = await this.#initProducerId()
      stored = { name: slot.name, producerId: res.producerId, producerEpoch: res.producerEpoch, nextSequences: {} }
      await storage.producers.put(stored)
      logger.info({ slot: slot.name, producerId: res.producerId, producerEpoch: res.producerEpoch }, 'producer id assigned')
    } else {
      logger.info({ slot: slot.name, producerId: stored.producerId, producerEpoch: stored.producerEpoch }, 'producer identity resumed')
    }
    this.#identity = { producerId: stored.producerId, producerEpoch: stored.producerEpoch }
    this.#storedSequences = { ...stored.nextSequences }
    const entries = await storage.outbox.list(slot.name)
    const groups = new Map<string, OutboxEntry[]>()
    for (const e of entries) {
      const key = partitionKey(e.topic, e.partition)
      groups.set(key, [...(groups.get(key) ?? []), e])
    }
    for (const group of groups.values()) {
      group.sort((a, b) => a.baseSequence - b.baseSequence)
      this.#batches += group.length
      this.#batchedRecords += group.reduce((n, e) => n + e.recordCount, 0)
      this.#senderFor(group[0]!.topic, group[0]!.partition).restore(group, (e) => this.#recoveredWaiters(e))
    }
    if (entries.length > 0) {
      logger.info({ slot: slot.name, batches: entries.length }, 'resending the outbox of a previous page life')
      this.#emitPending()
    }
  }

  #initProducerId(): Promise<{ producerId: number; producerEpoch: number }> {
    return this.#retrying(() => this.#deps.conn.request(initProducerId, { producerId: -1, producerEpoch: -1 }), () => true)
  }

  /** Calls fn until it succeeds, with backoff while it fails with a retriable error that `retry` accepts. */
  async #retrying<T>(fn: () => Promise<T>, retry: (error: SamsaError, attempt: number) => boolean): Promise<T> {
    const { clock, random } = this.#deps
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn()
      } catch (error) {
        if (!(error instanceof SamsaError) || !error.retriable || !retry(error, attempt) || this.#released) throw error
        await new Promise<void>((resolve) => clock.setTimeout(() => resolve(), backoffDelayMs(attempt, { baseMs: 100, capMs: 5_000 }, random)))
      }
    }
  }

  /** Queues the records of a send() for the pending store; resolves with their rows once stored (null: the slot has a stored identity and the broker's limits are known after all). */
  #storePending(topic: string, records: readonly ProducerRecord[]): Promise<PendingRecord[] | null> {
    const now = this.#deps.clock.now()
    let converted: PendingWrite['records']
    try {
      converted = records.map((r) => ({ input: toRecordInput(r, now), partition: r.partition ?? null }))
    } catch (error) {
      return Promise.reject(error)
    }
    return new Promise<PendingRecord[] | null>((resolve, reject) => {
      this.#pendingWrites.push({ topic, records: converted, resolve, reject })
      if (!this.#pendingWriting) void this.#writePending()
    })
  }

  /** Writes the queued sends to the pending store, all queued so far in one transaction, in send order. */
  async #writePending(): Promise<void> {
    this.#pendingWriting = true
    try {
      await this.#local
    } catch (error) {
      this.#pendingWriting = false
      for (const w of this.#pendingWrites.splice(0)) w.reject(error)
      return
    }
    const { storage, clock } = this.#deps
    const slot = this.#slot!.name
    while (this.#pendingWrites.length > 0) {
      const round = this.#pendingWrites.splice(0)
      if (this.#hasStoredIdentity && this.#limits() !== null) {
        for (const w of round) w.resolve(null)
        continue
      }
      const createdAtMs = clock.now()
      const rows = round.map((w) => {
        const sendSeq = this.#nextPendingSeq
        return w.records.map(({ input, partition }): PendingRecord => ({
          producer: slot,
          seq: this.#nextPendingSeq++,
          sendSeq,
          topic: w.topic,
          partition,
          key: input.key,
          value: input.value,
          headers: input.headers,
          timestamp: input.timestamp,
          createdAtMs,
        }))
      })
      try {
        await storage.pending.add(rows.flat())
        round.forEach((w, i) => w.resolve(rows[i]!))
      } catch (error) {
        const failure = new SamsaError('UNKNOWN_SERVER_ERROR', `could not store the records before sending them: ${String(error)}`)
        for (const w of round) w.reject(failure)
      }
    }
    this.#pendingWriting = false
  }

  /** A send whose records are in the pending store failed for good: they go (a closed client keeps them for the next page life). */
  #dropPending(stored: Promise<PendingRecord[] | null>, error: unknown): void {
    if (isClientClosed(error)) return
    stored
      .catch(() => null) // never stored: nothing to remove
      .then((rows) => {
        if (rows === null || rows.length === 0) return
        const slot = this.#slot!.name
        return this.#enqueueStorage(() => this.#deps.storage.pending.remove(slot, rows.map((r) => r.seq)))
      })
      .catch((e: unknown) => this.#deps.logger.warn({ error: String(e) }, 'could not remove failed records from the pending store'))
  }

  /** Admits the pending records of a previous page life, one former send() at a time, in order; onRecovered reports them once acknowledged. */
  async #admitRecoveredPending(): Promise<void> {
    const rows = this.#recoveredPending
    this.#recoveredPending = []
    const sends: PendingRecord[][] = []
    for (const r of rows) {
      const last = sends.at(-1)
      if (last !== undefined && last[0]!.sendSeq === r.sendSeq) last.push(r)
      else sends.push([r])
    }
    for (const records of sends) {
      const failed = (error: unknown) => {
        this.#deps.logger.warn({ topic: records[0]!.topic, records: records.length, error: String(error) }, 'recovered pending records were not delivered')
        this.#dropPending(Promise.resolve(records), error)
      }
      let group: SendGroup
      try {
        group = await this.#admit(records[0]!.topic, { pending: records })
      } catch (error) {
        this.#unbatchedRecords -= records.length
        this.#emitPending()
        failed(error)
        continue
      }
      const settled = group.promise.then((metas) => this.#emitRecovered(metas), failed)
      this.#unsettled.add(settled)
      void settled.then(() => this.#unsettled.delete(settled))
    }
  }

  /** The broker's limits from this page life's last hello; null until its first hello completes. */
  #limits(): HelloResponse | null {
    return (this.#hello = this.#deps.conn.helloResponse ?? this.#hello)
  }

  /** Validates every record, then appends them all; resolves with their SendGroup (one promise per send, not per record). */
  async #admit(topic: string, source: AdmitSource, control: AbortControl | null = null): Promise<SendGroup> {
    const { conn, metadata, clock } = this.#deps
    const { pending } = source
    if (this.#idempotent) await this.ready
    if (this.#fenced !== null) throw this.#fenced
    // The limits of the last hello: while offline, records still get batched and written to the outbox.
    const hello = (this.#hello = conn.helloResponse ?? this.#hello ?? (await conn.ready()))
    const maxBatchBytes = Math.min(this.#opts.maxBatchBytes ?? hello.maxBatchBytes, hello.maxBatchBytes)
    // Records already stored in the pending store wait out a connection that drops again, rather than fail.
    const maxRetries = this.#opts.maxRetries ?? 10
    const partitionCount =
      pending === undefined
        ? await metadata.partitionCount(topic)
        : await this.#retrying(() => metadata.partitionCount(topic), (e, attempt) => isConnectionTrouble(e) || attempt < maxRetries)
    const now = clock.now()
    const n = pending?.length ?? source.records!.length
    const inputs = new Array<RecordInput>(n)
    const partitions = new Array<number>(n)
    for (let i = 0; i < n; i++) {
      const stored = pending?.[i]
      const r = stored === undefined ? source.records![i]! : undefined
      const input = stored === undefined ? toRecordInput(r!, now) : { key: stored.key, value: stored.value, headers: stored.headers, timestamp: stored.timestamp }
      const size = recordEncodedSize(input, 0, input.timestamp)
      if (size > hello.maxRecordBytes || BATCH_HEADER_BYTES + size > maxBatchBytes) {
        throw new SamsaError('MESSAGE_TOO_LARGE', `record ${i} is ${size} bytes; the limits are maxRecordBytes ${hello.maxRecordBytes} and maxBatchBytes ${maxBatchBytes}`, {
          recordBytes: size,
          maxRecordBytes: hello.maxRecordBytes,
          maxBatchBytes,
        })
      }
      const partition = (stored === undefined ? r!.partition : (stored.partition ?? undefined)) ?? this.#partitioner.partition(topic, input.key, partitionCount)
      if (!Number.isInteger(partition) || partition < 0 || partition >= partitionCount) {
        throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', ErrorMessages.unknownPartition(topic, partitionCount, partition))
      }
      inputs[i] = input
      partitions[i] = partition
    }
    // Synchronous from here to the end: a send is batched whole or dropped whole, and its abort handler sees which.
    if (control?.aborted) throw droppedError(control.signal)
    if (control !== null) control.admitted = true
    const group = new SendGroup(topic, n)
    for (let i = 0; i < n; i++) this.#accumulator.append(topic, partitions[i]!, inputs[i]!, new RecordSlot(group, i, partitions[i]!, pending?.[i]!.seq), maxBatchBytes)
    return group
  }

  #batchClosed(batch: ClosedBatch): void {
    this.#unbatchedRecords -= batch.records.length
    this.#batches++
    this.#batchedRecords += batch.records.length
    this.#senderFor(batch.topic, batch.partition).enqueue(batch)
    this.#emitPending()
  }

  #batchDone(recordCount: number): void {
    this.#batches--
    this.#batchedRecords -= recordCount
    this.#emitPending()
  }

  #emitPending(): void {
    const pending = this.pending()
    for (const listener of [...this.#pendingListeners]) {
      try {
        listener(pending)
      } catch (error) {
        this.#deps.logger.error({ error: String(error) }, 'onPending listener threw')
      }
    }
  }

  /** Waiters of a recovered batch: nobody awaits them; once all resolve, onRecovered gets the batch's offsets. */
  #recoveredWaiters(e: OutboxEntry): RecordWaiter[] {
    const metas: RecordMetadata[] = new Array<RecordMetadata>(e.recordCount)
    let left = e.recordCount
    let failed = false
    return Array.from({ length: e.recordCount }, (_, i) => ({
      resolve: (offset: number) => {
        metas[i] = { topic: e.topic, partition: e.partition, offset }
        if (--left > 0) return
        this.#emitRecovered(metas)
      },
      reject: (error: Error) => {
        if (failed) return
        failed = true
        this.#deps.logger.warn({ topic: e.topic, partition: e.partition, baseSequence: e.baseSequence, error: String(error) }, 'a recovered batch was not delivered')
      },
    }))
  }

  #emitRecovered(metas: RecordMetadata[]): void {
    for (const listener of [...this.#recoveredListeners]) {
      try {
        listener(metas)
      } catch (error) {
        this.#deps.logger.error({ error: String(error) }, 'onRecovered listener threw')
      }
    }
  }

  /** Serializes outbox work; a failed step does not block the next. */
  #enqueueStorage<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#storageChain.then(step)
    this.#storageChain = run.then(
      () => {},
      () => {},
    )
    return run
  }

  #persist(batch: PersistableBatch): Promise<void> {
    const slot = this.#slot!.name
    const { producerId, producerEpoch } = this.#identity!
    const { topic, partition } = batch
    const key = partitionKey(topic, partition)
    return this.#enqueueStorage(async () => {
      const { storage, clock } = this.#deps
      for (const seq of batch.staleSequences) await storage.outbox.remove(slot, topic, partition, seq)
      const nextSequences = { ...this.#storedSequences, [key]: Math.max(this.#storedSequences[key] ?? 0, batch.baseSequence + batch.recordCount) }
      const entry: OutboxEntry = { producer: slot, topic, partition, baseSequence: batch.baseSequence, recordCount: batch.recordCount, batch: batch.bytes, createdAtMs: clock.now() }
      await storage.outbox.add(entry, { name: slot, producerId, producerEpoch, nextSequences }, batch.pendingSeqs)
      this.#storedSequences = nextSequences
    })
  }

  #unpersist(topic: string, partition: number, baseSequences: readonly number[], resetNextSequence: number | undefined): void {
    const slot = this.#slot!.name
    const { producerId, producerEpoch } = this.#identity!
    const key = partitionKey(topic, partition)
    this.#enqueueStorage(async () => {
      const { storage } = this.#deps
      for (const seq of baseSequences) await storage.outbox.remove(slot, topic, partition, seq)
      if (resetNextSequence === undefined) return
      this.#storedSequences = { ...this.#storedSequences, [key]: resetNextSequence }
      await storage.producers.put({ name: slot, producerId, producerEpoch, nextSequences: this.#storedSequences } satisfies StoredIdentity)
    }).catch((error: unknown) => this.#deps.logger.warn({ topic, partition, error: String(error) }, 'could not update the outbox'))
  }

  #onFenced(error: SamsaError): void {
    if (this.#fenced !== null) return
    this.#fenced = error
    this.#deps.logger.error({ slot: this.#slot?.name, error: error.message }, 'producer fenced')
    const slot = this.#slot!.name
    // This identity can never write again: forget it, so the next page life asks for a new producer id.
    this.#enqueueStorage(() => this.#deps.storage.producers.put({ name: slot, producerId: -1, producerEpoch: -1, nextSequences: {} })).catch(() => {})
  }

  #senderFor(topic: string, partition: number): PartitionSender {
    const key = `${partition}/${topic}`
    let sender = this.#senders.get(key)
    if (sender === undefined) {
      const { clock, random, logger, metadata } = this.#deps
      const durable = this.#idempotent && this.#identity !== null
      sender = new PartitionSender(topic, partition, {
        route: (t, p) => metadata.connectionFor(t, p),
        leader: (t, p) => metadata.leader(t, p),
        onLeaderMoved: (t, p, epoch, onMoved) => metadata.onLeaderMoved(t, p, epoch, onMoved),
        unknownTopicRetryMs: () => (metadata.propagates ? metadata.unknownTopicRetryMs : undefined),
        clock,
        random,
        logger: logger.child({ topic, partition }),
        acks: this.#acks,
        timeoutMs: this.#opts.timeoutMs ?? 30_000,
        maxInFlight: this.#opts.maxInFlight ?? 5,
        maxRetries: this.#opts.maxRetries ?? 10,
        retryBackoff: { baseMs: 50, capMs: 2_000 },
        identity: durable ? this.#identity! : { producerId: -1, producerEpoch: -1 },
        initialSequence: durable ? (this.#storedSequences[partitionKey(topic, partition)] ?? 0) : 0,
        onStaleMetadata: (t, p, sentTo) => metadata.invalidate(t, p !== undefined && sentTo !== undefined ? { partition: p, leaderEpoch: sentTo.leaderEpoch } : undefined),
        ...(this.#deps.crc32c && { crc32c: this.#deps.crc32c }),
        ...(durable && {
          persist: (b: PersistableBatch) => this.#persist(b),
          unpersist: (seqs: readonly number[], reset?: number) => this.#unpersist(topic, partition, seqs, reset),
          onFenced: (error: SamsaError) => this.#onFenced(error),
        }),
        onBatchDone: (n) => this.#batchDone(n),
        onCapacity: () => this.#accumulator.sendReady(topic, partition),
      })
      this.#senders.set(key, sender)
    }
    return sender
  }
}
