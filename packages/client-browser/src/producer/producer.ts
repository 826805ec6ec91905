/**
 * @module The public Producer: admits send() calls in call order, feeds their records to the accumulator, and routes
 * closed batches to one PartitionSender per partition. Idempotent by default: (producerId, epoch, per-partition
 * sequence) on every batch. It composes the seams, each with its own invariants: the identity (producer-identity.ts),
 * the records it cannot batch yet (pending-records.ts), record admission (record-admission.ts), the outbox
 * (outbox.ts), the pending count (pending-count.ts) and each partition's pipeline (partition-sender.ts).
 *
 * Invariants: sends are admitted one at a time, so records enter the accumulator in call order, a previous page
 * life's pending records first; the slot's outbox of a previous page life is queued before any new batch (`ready`);
 * a send waits in the pending store while the slot has no usable identity or this page life has no broker limits
 * yet, and skips it once both exist; once fenced, every send is refused with the fencing error.
 */
import { Acks, SamsaError, initProducerIdClientSide as initProducerId, type HelloResponse } from '@samsa/shared'
import { AbortError, abortable } from '../client-errors.js'
import { clientClosedError } from '../connection/connection.js'
import { acquireIdentitySlot, type IdentitySlot } from '../storage/identity-lock.js'
import type { ProducerIdentity as StoredIdentity } from '../storage/stores.js'
import { ListenerSet } from './listener-set.js'
import { Outbox, recoveredWaiters } from './outbox.js'
import { PartitionSenders } from './partition-senders.js'
import { Partitioner } from './partitioner.js'
import { PendingCounter } from './pending-count.js'
import { PendingRecords } from './pending-records.js'
import { isUsable, resumeOrAssignIdentity, type ProducerIdentity } from './producer-identity.js'
import { RecordAccumulator, type ClosedBatch } from './record-accumulator.js'
import { admitRecords, deliveredAnywayError, droppedError, type AbortControl, type AdmitSource } from './record-admission.js'
import type { PendingCount, ProducerDeps, ProducerOptions, ProducerRecord, RecordMetadata } from './producer-options.js'
import { retrying } from './retrying.js'
import { RecordSlot, SendGroup } from './send-group.js'
import { checkListener } from '../validation/check.js'
import { checkFlushOptions, checkSendArguments } from '../validation/producer-arguments.js'

export type { Bytes, FlushOptions, PendingCount, ProducerDeps, ProducerOptions, ProducerRecord, RecordMetadata, SendOptions } from './producer-options.js'
import type { FlushOptions, SendOptions } from './producer-options.js'

/** Errors of a connection that is down or slow: a lookup for pending records waits them out. */
const isConnectionTrouble = (e: SamsaError) => e.retriable && (e.errorName === 'NETWORK_EXCEPTION' || e.errorName === 'REQUEST_TIMED_OUT')

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
  readonly #senders: PartitionSenders
  /** Sends are admitted one at a time, so records enter the accumulator in call order. */
  #admission: Promise<unknown> = Promise.resolve()
  /** Admissions chained on `#admission` not yet settled; while any is, a send cannot be admitted at once (it would overtake them). */
  #queuedAdmissions = 0
  /** `ready` resolved (always true when not idempotent). */
  #isReady = false
  #slot: IdentitySlot | null = null
  #identity: ProducerIdentity | null = null
  /** The slot's identity as stored when the slot was taken (null: none yet). */
  #stored: StoredIdentity | null = null
  /** The slot has a usable stored identity: sends need not go through the pending store. */
  #hasStoredIdentity = false
  readonly #outbox: Outbox
  readonly #pendingRecords: PendingRecords
  /** Every send() not yet settled; flush() waits for them. */
  readonly #unsettled = new Set<Promise<unknown>>()
  readonly #pending: PendingCounter
  readonly #recoveredListeners: ListenerSet<RecordMetadata[]>
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
    this.#pending = new PendingCounter(deps.logger)
    this.#recoveredListeners = new ListenerSet('onRecovered', deps.logger)
    this.#accumulator = new RecordAccumulator({
      lingerMs: opts.lingerMs ?? 0,
      clock: deps.clock,
      onReady: (b) => this.#batchClosed(b),
      // No sender yet: an idle one will be created for the batch.
      canSend: (topic, partition) => this.#senders.canSend(topic, partition),
    })
    this.#outbox = new Outbox(deps)
    this.#senders = new PartitionSenders({
      ...deps,
      acks: this.#acks,
      timeoutMs: opts.timeoutMs ?? 30_000,
      maxInFlight: opts.maxInFlight ?? 5,
      maxRetries: opts.maxRetries ?? 10,
      identity: () => this.#identity,
      outbox: this.#outbox,
      onFenced: (error) => this.#onFenced(error),
      onBatchDone: (n) => this.#pending.batchDone(n),
      onCapacity: (topic, partition) => this.#accumulator.sendReady(topic, partition),
    })
    this.#local = this.#idempotent ? this.#initLocal() : Promise.resolve()
    this.#local.catch(() => {}) // reported through ready
    this.#pendingRecords = new PendingRecords({
      ...deps,
      local: this.#local,
      slot: () => this.#slot!.name,
      canBatch: () => this.#hasStoredIdentity && this.#limits() !== null,
      enqueue: (step) => this.#outbox.enqueue(step),
    })
    this.ready = this.#idempotent ? this.#local.then(() => this.#initIdentity()) : Promise.resolve()
    // Pending records of a previous page life go first (they wait for the identity like every send).
    if (this.#idempotent) this.#admission = this.#queueAdmission(this.#local.then(() => this.#admitRecoveredPending()))
    if (this.#idempotent) this.ready.then(() => void (this.#isReady = true), () => {})
    else this.#isReady = true
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
    // A send with a signal keeps the queued path: aborted before its admission turn (even in the same task), its records are dropped.
    const now = control === null ? this.#admitNow(topic, records) : null
    if (now !== null) return now
    this.#pending.addUnbatched(records.length)
    let uncounted = false
    const uncount = () => {
      if (uncounted) return
      uncounted = true
      this.#pending.addUnbatched(-records.length)
    }
    // No identity yet, or no broker limits in this page life yet (no completed hello): the records cannot be batched
    // now, so they are written to the pending store first (durable before they are batched).
    const stored = this.#idempotent && ((this.#identity === null && !this.#hasStoredIdentity) || this.#limits() === null) ? this.#pendingRecords.store(topic, records) : null
    stored?.catch(() => {}) // reported through admitted
    const admitted = this.#admission.then(async () => {
      const rows = await stored
      return this.#admit(topic, rows == null ? { records } : { pending: rows }, control)
    })
    admitted.catch(uncount)
    this.#admission = this.#queueAdmission(admitted)
    // The send's own outcome, whatever its signal does: flush() waits for it, and a failure drops its pending-store rows.
    const outcome = admitted.then((group) => group.promise)
    this.#unsettled.add(outcome)
    const forget = () => void this.#unsettled.delete(outcome)
    outcome.then(forget, forget)
    if (stored !== null) outcome.catch((error: unknown) => this.#pendingRecords.drop(stored, error))
    if (control === null) return outcome
    return abortable(outcome, control.signal, () => {
      if (control.admitted) return deliveredAnywayError(control.signal)
      control.aborted = true
      uncount()
      const error = droppedError(control.signal)
      // Records already in the pending store go now, not when the admission queue reaches this send (maybe never in this page life).
      if (stored !== null) this.#pendingRecords.drop(stored, error)
      return error
    })
  }

  /** Counts an admission until it settles; the returned promise (the queue's new tail) settles with it and never rejects. */
  #queueAdmission(admission: Promise<unknown>): Promise<void> {
    this.#queuedAdmissions++
    const settled = () => void this.#queuedAdmissions--
    return admission.then(settled, settled)
  }

  /**
   * The cheap path of a send without a signal, when nothing has to wait: the producer is ready, no earlier send is still being admitted,
   * and the broker's limits and the topic's partition count are known. Admits the records synchronously (no promise per
   * step, nothing in `#unsettled`: flush() waits for them through the batches they are in) and returns the send's
   * outcome; null when the send must take the queued path.
   */
  #admitNow(topic: string, records: readonly ProducerRecord[]): Promise<RecordMetadata[]> | null {
    if (!this.#isReady || this.#queuedAdmissions > 0) return null
    const hello = this.#limits()
    const partitionCount = hello === null ? undefined : this.#deps.metadata.knownPartitionCount(topic)
    if (hello === null || partitionCount === undefined) return null
    let group: SendGroup
    try {
      group = this.#append(topic, { records }, hello, partitionCount, null, () => this.#pending.addUnbatched(records.length))
    } catch (error) {
      return Promise.reject(error)
    }
    return group.promise
  }

  /** Batches and records not yet acknowledged: the outbox (recovered batches included) plus records not yet batched. */
  pending(): PendingCount {
    return this.#pending.current
  }

  /** Calls the listener on every change of `pending()` (e.g. to show "sending…"); returns the unsubscribe function. */
  onPending(listener: (pending: PendingCount) => void): () => void {
    checkListener('onPending(listener)', listener)
    return this.#pending.listen(listener)
  }

  /** Reports the offsets of each batch recovered from a previous page life once the broker acknowledges it. */
  onRecovered(listener: (metas: RecordMetadata[]) => void): () => void {
    checkListener('onRecovered(listener)', listener)
    return this.#recoveredListeners.add(listener)
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
    if (this.#pending.current.batches > 0) {
      await new Promise<void>((resolve) => {
        const off = this.onPending((p) => {
          if (p.batches > 0) return
          off()
          resolve()
        })
      })
    }
    await this.#outbox.settled
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
    this.#hasStoredIdentity = isUsable(stored)
    this.#pendingRecords.load(pending)
    if (pending.length > 0) {
      logger.info({ slot: slot.name, records: pending.length }, 'sending the records a previous page life stored before it had an identity')
      this.#pending.addUnbatched(pending.length)
    }
  }

  /** Resumes the stored identity or asks the broker for one, then queues the outbox of a previous page life. */
  async #initIdentity(): Promise<void> {
    const { conn, logger } = this.#deps
    const slot = this.#slot!.name
    const identity = await resumeOrAssignIdentity(slot, this.#stored, {
      ...this.#deps,
      initProducerId: () => this.#retrying(() => conn.request(initProducerId, { producerId: -1, producerEpoch: -1 }), () => true),
    })
    this.#identity = { producerId: identity.producerId, producerEpoch: identity.producerEpoch }
    const groups = await this.#outbox.open(slot, identity)
    let batches = 0
    for (const group of groups) {
      batches += group.length
      this.#pending.restored(group.length, group.reduce((n, e) => n + e.recordCount, 0))
      this.#senders.for(group[0]!.topic, group[0]!.partition).restore(group, (e) => recoveredWaiters(e, (metas) => this.#recoveredListeners.emit(metas), logger))
    }
    if (batches > 0) {
      logger.info({ slot, batches }, 'resending the outbox of a previous page life')
      this.#pending.emit()
    }
  }

  #retrying<T>(fn: () => Promise<T>, retry: (error: SamsaError, attempt: number) => boolean): Promise<T> {
    return retrying(fn, retry, { ...this.#deps, stopped: () => this.#released })
  }

  /** Admits the pending records of a previous page life, one former send() at a time, in order; onRecovered reports them once acknowledged. */
  async #admitRecoveredPending(): Promise<void> {
    for (const records of this.#pendingRecords.takeRecoveredSends()) {
      const failed = (error: unknown) => {
        this.#deps.logger.warn({ topic: records[0]!.topic, records: records.length, error: String(error) }, 'recovered pending records were not delivered')
        this.#pendingRecords.drop(Promise.resolve(records), error)
      }
      let group: SendGroup
      try {
        group = await this.#admit(records[0]!.topic, { pending: records })
      } catch (error) {
        this.#pending.addUnbatched(-records.length)
        failed(error)
        continue
      }
      const settled = group.promise.then((metas) => this.#recoveredListeners.emit(metas), failed)
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
    const { conn, metadata } = this.#deps
    const { pending } = source
    if (this.#idempotent) await this.ready
    if (this.#fenced !== null) throw this.#fenced
    // The limits of the last hello: while offline, records still get batched and written to the outbox.
    const hello = (this.#hello = conn.helloResponse ?? this.#hello ?? (await conn.ready()))
    // Records already stored in the pending store wait out a connection that drops again, rather than fail.
    const maxRetries = this.#opts.maxRetries ?? 10
    const partitionCount =
      pending === undefined
        ? await metadata.partitionCount(topic)
        : await this.#retrying(() => metadata.partitionCount(topic), (e, attempt) => isConnectionTrouble(e) || attempt < maxRetries)
    return this.#append(topic, source, hello, partitionCount, control)
  }

  /**
   * Validates every record against the limits, then appends them all, synchronously: a send is batched whole or
   * dropped whole, and its abort handler sees which. `counted` runs once the records are admitted, before the first
   * append (it may close a batch).
   */
  #append(topic: string, source: AdmitSource, hello: HelloResponse, partitionCount: number, control: AbortControl | null, counted?: () => void): SendGroup {
    const { pending } = source
    const maxBatchBytes = Math.min(this.#opts.maxBatchBytes ?? hello.maxBatchBytes, hello.maxBatchBytes)
    const limits = { maxRecordBytes: hello.maxRecordBytes, maxBatchBytes, partitionCount, nowMs: this.#deps.clock.now() }
    const { inputs, partitions } = admitRecords(topic, source, limits, (key) => this.#partitioner.partition(topic, key, partitionCount))
    if (control?.aborted) throw droppedError(control.signal)
    if (control !== null) control.admitted = true
    counted?.()
    const group = new SendGroup(topic, inputs.length)
    for (let i = 0; i < inputs.length; i++) this.#accumulator.append(topic, partitions[i]!, inputs[i]!, new RecordSlot(group, i, partitions[i]!, pending?.[i]!.seq), maxBatchBytes)
    return group
  }

  #batchClosed(batch: ClosedBatch): void {
    this.#pending.batchClosed(batch.records.length)
    this.#senders.for(batch.topic, batch.partition).enqueue(batch)
    this.#pending.emit()
  }

  #onFenced(error: SamsaError): void {
    if (this.#fenced !== null) return
    this.#fenced = error
    this.#deps.logger.error({ slot: this.#slot?.name, error: error.message }, 'producer fenced')
    this.#outbox.forgetIdentity()
  }
}
