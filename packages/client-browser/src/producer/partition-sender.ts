/**
 * @module The produce pipeline of one partition: assigns sequences in order, keeps up to maxInFlight batches
 * outstanding, and after a failure waits until every outstanding request has settled, then applies the in-flight
 * window's recovery plan (in-flight-window.ts): rejects what failed for good, re-sequences what follows it, and resends
 * the rest in order with the SAME bytes (same sequence) when the sequence is unchanged, so the broker deduplicates.
 * Requests go to the partition's leader as metadata names it now (leader-produce.ts).
 *
 * Invariants: inFlight is in sequence order and contiguous; batches leave it only from the head, acknowledged, in
 * order (or all at once when the pipeline dies); nothing new is sent while a round is recovering; a batch's bytes
 * are re-encoded only after it was re-sequenced.
 *
 * Durability: before a batch's first request, `persist` writes it to the outbox (with the identity's advanced next
 * sequence); a batch leaves the outbox through `unpersist` when it is acknowledged or fails for good. Batches
 * recovered from a previous page life (`restore`) are sent first, with their stored bytes and sequences. When the
 * client closes, unacknowledged batches are rejected but stay in the outbox for the next page life.
 */
import { SamsaError, crc32c, decodeRecords, encodeBatchInFrame, type Crc32cFn } from '@samsa/shared'
import { backoffDelayMs, type BackoffPolicy } from '../connection/backoff.js'
import type { Clock, Random } from '../ports.js'
import type { OutboxEntry } from '../storage/stores.js'
import { isClientClosed, planRecovery, sentBehind, type Outcome, type WindowBatch } from './in-flight-window.js'
import { produceToLeader, type LeaderLookup } from './leader-produce.js'
import type { PersistableBatch } from './outbox.js'
import type { ProducerIdentity } from './producer-identity.js'
import type { ClosedBatch, RecordWaiter } from './record-accumulator.js'

export type { LeaderRef } from './leader-produce.js'

export interface PartitionSenderDeps extends LeaderLookup {
  readonly clock: Clock
  readonly random: Random
  readonly acks: number
  readonly timeoutMs: number
  readonly maxInFlight: number
  /** Attempts per batch for retriable broker errors; NETWORK_EXCEPTION (the connection dropped), REQUEST_TIMED_OUT and KAFKA_STORAGE_ERROR (the batch may be in the log) are retried without limit. */
  readonly maxRetries: number
  readonly retryBackoff: BackoffPolicy
  readonly identity: ProducerIdentity
  /** The sequence of the first new batch (continued from the stored identity). Default 0. */
  readonly initialSequence?: number
  /**
   * While the cluster's metadata may still be propagating, UNKNOWN_TOPIC_OR_PARTITION is retried for this long per
   * batch; undefined: it fails the batch at once (a single-broker cluster).
   */
  readonly unknownTopicRetryMs?: () => number | undefined
  /** CRC-32C for encoding batches; default the pure-JS one. */
  readonly crc32c?: Crc32cFn
  /** Writes the batch to the outbox; resolves when it is durable. Absent: no outbox (acks 'none'). */
  readonly persist?: (batch: PersistableBatch) => Promise<void>
  /**
   * Removes outbox entries (by baseSequence) of batches acknowledged or failed for good. `resetNextSequence`: failures
   * re-sequenced the partition, so the identity's next sequence becomes this value.
   */
  readonly unpersist?: (baseSequences: readonly number[], resetNextSequence?: number) => void
  /** The sender has a free in-flight slot and nothing queued (or it is dead and rejects at once): a batch closed now is sent now. */
  readonly onCapacity?: () => void
  /** A batch left the pipeline (acknowledged, failed, or rejected because the client closed). */
  readonly onBatchDone?: (recordCount: number) => void
  /** The producer was fenced (INVALID_PRODUCER_EPOCH): everything of this partition has been rejected. */
  readonly onFenced?: (error: SamsaError) => void
}

interface SentBatch extends ClosedBatch, WindowBatch {
  baseSequence: number
  /** The encoded batch; kept across resends so a resend is byte-identical. Null after re-sequencing. */
  bytes: Uint8Array | null
  /** The produce frame `bytes` was encoded in (its end): each request writes only the head. Undefined for a batch restored from the outbox. */
  frame: Uint8Array | undefined
  outcome: Outcome | null
  attempts: number
  /** True once the outbox holds this batch with its current bytes. */
  persisted: boolean
  /** Outbox keys to delete: earlier sequences of this batch. */
  staleSequences: number[]
  /** Pending-store seqs of its records, until the batch is first in the outbox (that write removes them). */
  pendingSeqs: readonly number[]
  unknownSinceMs?: number | null
  /**
   * True when its last request went out while an earlier batch was still unacknowledged: the broker may have seen it
   * first (requests can travel on two connections to one broker), so an OUT_OF_ORDER_SEQUENCE_NUMBER is not its own.
   */
  sentBehind?: boolean
}

const NO_SEQS: readonly number[] = Object.freeze([])
function pendingSeqsOf(waiters: readonly RecordWaiter[]): readonly number[] {
  let seqs: number[] | null = null
  for (const w of waiters) if (w.pendingSeq !== undefined) (seqs ??= []).push(w.pendingSeq)
  return seqs ?? NO_SEQS
}

export class PartitionSender {
  readonly topic: string
  readonly partition: number
  readonly #deps: PartitionSenderDeps
  /** Recovered from the outbox: already sequenced and encoded; sent before anything queued. */
  readonly #restored: SentBatch[] = []
  /** Closed by the accumulator, not yet sent, in order; no sequence yet. */
  #queued: ClosedBatch[] = []
  /** Sent and not yet resolved, in sequence order: inFlight[i + 1].baseSequence = inFlight[i].baseSequence + inFlight[i].records.length. */
  #inFlight: SentBatch[] = []
  /** Requests (and outbox writes before them) not yet settled; recovery waits for 0. */
  #outstanding = 0
  /** Sequence of the next batch's first record. */
  #nextSequence: number
  /** True from the first failure of a round until its batches are redispatched; nothing new is sent meanwhile. */
  #recovering = false
  #retryRound = 0
  /** Set when the client closed or the producer was fenced: everything is rejected from then on. */
  #dead: SamsaError | null = null

  constructor(topic: string, partition: number, deps: PartitionSenderDeps) {
    this.topic = topic
    this.partition = partition
    this.#deps = deps
    this.#nextSequence = deps.initialSequence ?? 0
  }

  get idle(): boolean {
    return this.#queued.length === 0 && this.#inFlight.length === 0 && this.#restored.length === 0
  }

  /** Queues batches recovered from the outbox (ordered by baseSequence) ahead of every new batch. */
  restore(entries: readonly OutboxEntry[], waiters: (entry: OutboxEntry) => RecordWaiter[]): void {
    for (const e of entries) {
      const records = decodeRecords(e.batch).records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp }))
      this.#restored.push({
        topic: this.topic,
        partition: this.partition,
        records,
        recordCount: records.length,
        waiters: waiters(e),
        sizeBytes: e.batch.length,
        baseSequence: e.baseSequence,
        bytes: e.batch,
        frame: undefined,
        outcome: null,
        attempts: 0,
        persisted: true,
        staleSequences: [],
        pendingSeqs: [],
      })
      this.#nextSequence = Math.max(this.#nextSequence, e.baseSequence + e.recordCount)
    }
    this.#pump()
  }

  /** True when a batch enqueued now would be sent at once (or rejected at once: the sender is dead). */
  get canSend(): boolean {
    return this.#dead !== null || (!this.#recovering && this.#restored.length === 0 && this.#queued.length === 0 && this.#inFlight.length < this.#deps.maxInFlight)
  }

  enqueue(batch: ClosedBatch): void {
    if (this.#dead !== null) return this.#reject(batch, this.#dead)
    this.#queued.push(batch)
    this.#pump()
  }

  #pump(): void {
    while (!this.#recovering && this.#dead === null && (this.#restored.length > 0 || this.#queued.length > 0) && this.#inFlight.length < this.#deps.maxInFlight) {
      let batch: SentBatch
      if (this.#restored.length > 0) batch = this.#restored.shift()!
      else {
        const closed = this.#queued.shift()!
        batch = { ...closed, recordCount: closed.records.length, baseSequence: this.#nextSequence, bytes: null, frame: undefined, outcome: null, attempts: 0, persisted: this.#deps.persist === undefined, staleSequences: [], pendingSeqs: pendingSeqsOf(closed.waiters) }
        this.#nextSequence += closed.records.length
      }
      this.#inFlight.push(batch)
      this.#dispatch(batch)
    }
    if (this.canSend) this.#deps.onCapacity?.()
  }

  #dispatch(batch: SentBatch): void {
    const { identity, acks, timeoutMs, persist } = this.#deps
    // Straight into the produce frame: the outbox keeps a view of the batch, each request writes the frame's head.
    if (batch.bytes === null) ({ batch: batch.bytes, frame: batch.frame } = encodeBatchInFrame(this.topic, {
      producerId: identity.producerId,
      producerEpoch: identity.producerEpoch,
      baseSequence: identity.producerId >= 0 ? batch.baseSequence : -1,
      records: batch.records,
    }, this.#deps.crc32c ?? crc32c))
    const { bytes, frame } = batch
    batch.outcome = null
    batch.attempts++
    batch.sentBehind = sentBehind(this.#inFlight, batch)
    this.#outstanding++
    const written =
      batch.persisted || persist === undefined
        ? Promise.resolve()
        : persist({ topic: this.topic, partition: this.partition, baseSequence: batch.baseSequence, recordCount: batch.recordCount, bytes, staleSequences: batch.staleSequences, pendingSeqs: batch.pendingSeqs }).then(
            () => {
              batch.persisted = true
              batch.staleSequences = []
              batch.pendingSeqs = []
            },
            (error: unknown) => {
              throw new SamsaError('UNKNOWN_SERVER_ERROR', `could not write the batch to the outbox: ${String(error)}`)
            },
          )
    void produceToLeader(this.#deps, { topic: this.topic, partition: this.partition, acks, timeoutMs, batch: bytes, frame }, written).then((outcome) => this.#settled(batch, outcome))
  }

  #settled(batch: SentBatch, outcome: Outcome): void {
    this.#outstanding--
    batch.outcome = outcome
    if ('error' in outcome) this.#recovering = true
    this.#resolveHead()
    if (!this.#recovering) return this.#pump()
    if (this.#outstanding === 0) this.#recover()
  }

  /** Resolves acknowledged batches at the head, in order. */
  #resolveHead(): void {
    const done: SentBatch[] = []
    for (let head = this.#inFlight[0]; head?.outcome != null && 'ok' in head.outcome; head = this.#inFlight[0]) {
      this.#inFlight.shift()
      done.push(head)
      const baseOffset = head.outcome.ok?.baseOffset ?? -1
      if (head.outcome.ok?.duplicate) {
        this.#deps.logger.info({ topic: this.topic, partition: this.partition, baseSequence: head.baseSequence, baseOffset, attempts: head.attempts }, 'batch acknowledged as a duplicate: the broker already had it (original offsets)')
      }
      head.waiters.forEach((w, i) => w.resolve(baseOffset < 0 ? -1 : baseOffset + i))
    }
    if (done.length === 0) return
    this.#retryRound = 0 // an acknowledgement ends the fault: the next one backs off from the base again
    this.#finished(done)
  }

  /** Batches that left the pipeline; their outbox entries go unless kept. `resetNextSequence` after failures re-sequenced the partition. */
  #finished(batches: SentBatch[], opts: { keepInOutbox?: boolean; resetNextSequence?: number } = {}): void {
    if (!opts.keepInOutbox && this.#deps.unpersist !== undefined) {
      const keys = batches.flatMap((b) => [...b.staleSequences, ...(b.persisted ? [b.baseSequence] : [])])
      if (keys.length > 0 || opts.resetNextSequence !== undefined) this.#deps.unpersist(keys, opts.resetNextSequence)
    }
    for (const b of batches) this.#deps.onBatchDone?.(b.records.length)
  }

  #reject(batch: ClosedBatch, error: SamsaError): void {
    batch.waiters.forEach((w) => w.reject(error))
    this.#deps.onBatchDone?.(batch.records.length)
  }

  /** Every request of the round has settled: applies the window's recovery plan, then resends in order (after a backoff when the plan says so). */
  #recover(): void {
    const { logger, persist } = this.#deps
    const plan = planRecovery(this.#inFlight, { maxRetries: this.#deps.maxRetries, nowMs: this.#deps.clock.now(), ...(this.#deps.unknownTopicRetryMs && { unknownTopicRetryMs: this.#deps.unknownTopicRetryMs }) })
    if (plan.fatal !== undefined) return this.#die(plan.fatal)
    const resend: SentBatch[] = []
    const failed: SentBatch[] = []
    const kept: SentBatch[] = []
    this.#inFlight.forEach((b, i) => {
      const verdict = plan.verdicts[i]!
      // Names the leader epoch the request went to: an answer the leader watch already replaced stays (it is what the failure asks for).
      const sentTo = b.outcome !== null && 'error' in b.outcome ? (b.outcome.sentTo ?? undefined) : undefined
      if (verdict.action !== 'keep' && verdict.refreshMetadata) this.#deps.onStaleMetadata(this.topic, this.partition, sentTo)
      if (verdict.action === 'resend' && verdict.lostSequences > 0) {
        logger.warn({ topic: this.topic, partition: this.partition, expectedSequence: verdict.baseSequence, baseSequence: b.baseSequence }, 'the partition leader lost acknowledged batches of this producer; continuing at the sequence it expects')
      }
      if (verdict.baseSequence !== b.baseSequence) {
        if (b.persisted) b.staleSequences.push(b.baseSequence)
        b.persisted = persist === undefined
        b.baseSequence = verdict.baseSequence
        b.bytes = null
        b.frame = undefined
      }
      if (verdict.action === 'fail') {
        logger.warn({ topic: this.topic, partition: this.partition, error: verdict.error.errorName, baseSequence: b.baseSequence }, 'batch failed')
        b.waiters.forEach((w) => w.reject(verdict.error))
        failed.push(b)
        return
      }
      if (verdict.action === 'resend') {
        b.unknownSinceMs = verdict.unknownSinceMs
        resend.push(b)
      }
      kept.push(b)
    })
    this.#inFlight = kept
    this.#nextSequence -= plan.removedRecords
    if (failed.length > 0 || plan.resequenced) this.#finished(failed, { resetNextSequence: this.#nextSequence })
    const go = () => {
      this.#recovering = false
      if (this.#dead !== null) return
      for (const b of resend) this.#dispatch(b)
      this.#resolveHead()
      this.#pump()
    }
    if (!plan.backoff) {
      this.#retryRound = 0
      return go()
    }
    const delayMs = backoffDelayMs(this.#retryRound++, this.#deps.retryBackoff, this.#deps.random)
    logger.debug({ topic: this.topic, partition: this.partition, delayMs, batches: resend.length }, 'resending after a retriable error')
    this.#deps.clock.setTimeout(go, delayMs)
  }

  /**
   * The client closed (keep the outbox: the next page life resends it) or the producer was fenced (drop it: this
   * identity can never write again). Either way, reject everything once; nothing is resent.
   */
  #die(error: SamsaError): void {
    const closed = isClientClosed(error)
    const reason = closed
      ? error
      : new SamsaError(
          'INVALID_PRODUCER_EPOCH',
          `${this.topic}/${this.partition}: this producer was fenced (INVALID_PRODUCER_EPOCH: another instance took over its producer id); the send was not written and will not be retried`,
        )
    this.#dead = reason
    this.#recovering = false
    const inFlight = this.#inFlight
    const restored = this.#restored.splice(0)
    const queued = this.#queued
    this.#inFlight = []
    this.#queued = []
    for (const b of [...inFlight, ...restored]) b.waiters.forEach((w) => w.reject(reason))
    this.#finished([...inFlight, ...restored], { keepInOutbox: closed })
    for (const b of queued) this.#reject(b, reason)
    if (!closed) this.#deps.onFenced?.(reason)
    this.#deps.onCapacity?.()
  }
}

