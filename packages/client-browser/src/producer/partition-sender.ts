/**
 * @module The produce pipeline of one partition: assigns sequences in order, keeps up to maxInFlight batches
 * outstanding, and after a failure resends the SAME bytes (same sequence) in order once every outstanding request
 * has settled, so the broker deduplicates. Non-retriable failures reject that batch's records and re-sequence the rest.
 */
import { SamsaError, encodeRecordBatch, produce, type ProduceResponse } from '@samsa/shared'
import type { Connection } from '../connection/connection.js'
import { backoffDelayMs, type BackoffPolicy } from '../connection/backoff.js'
import type { Clock, Logger, Random } from '../ports.js'
import type { ClosedBatch } from './record-accumulator.js'

export interface ProducerIdentity {
  /** −1 when not idempotent (acks 'none'). */
  readonly producerId: number
  readonly producerEpoch: number
}

export interface PartitionSenderDeps {
  readonly conn: Connection
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
  readonly acks: number
  readonly timeoutMs: number
  readonly maxInFlight: number
  /** Attempts per batch for retriable broker errors; NETWORK_EXCEPTION (the connection dropped) is retried without limit. */
  readonly maxRetries: number
  readonly retryBackoff: BackoffPolicy
  readonly identity: ProducerIdentity
  /** Called when an error says the cached metadata may be stale. */
  readonly onStaleMetadata: (topic: string) => void
}

type Outcome = { readonly ok: ProduceResponse | undefined } | { readonly error: SamsaError }

interface SentBatch extends ClosedBatch {
  baseSequence: number
  /** The encoded batch; kept across resends so a resend is byte-identical. Null after re-sequencing. */
  bytes: Uint8Array | null
  /** null while a request for it is outstanding. */
  outcome: Outcome | null
  attempts: number
}

export class PartitionSender {
  readonly topic: string
  readonly partition: number
  readonly #deps: PartitionSenderDeps
  /** Closed by the accumulator, not yet sent, in order; no sequence yet. */
  readonly #queued: ClosedBatch[] = []
  /** Sent and not yet resolved, in sequence order: inFlight[i + 1].baseSequence = inFlight[i].baseSequence + inFlight[i].records.length. */
  #inFlight: SentBatch[] = []
  /** Requests written and not yet settled; recovery waits for 0. */
  #outstanding = 0
  /** Sequence of the next batch's first record. */
  #nextSequence = 0
  /** True from the first failure of a round until its batches are redispatched; nothing new is sent meanwhile. */
  #recovering = false
  #retryRound = 0

  constructor(topic: string, partition: number, deps: PartitionSenderDeps) {
    this.topic = topic
    this.partition = partition
    this.#deps = deps
  }

  get idle(): boolean {
    return this.#queued.length === 0 && this.#inFlight.length === 0
  }

  enqueue(batch: ClosedBatch): void {
    this.#queued.push(batch)
    this.#pump()
  }

  #pump(): void {
    while (!this.#recovering && this.#queued.length > 0 && this.#inFlight.length < this.#deps.maxInFlight) {
      const closed = this.#queued.shift()!
      const batch: SentBatch = { ...closed, baseSequence: this.#nextSequence, bytes: null, outcome: null, attempts: 0 }
      this.#nextSequence += closed.records.length
      this.#inFlight.push(batch)
      this.#dispatch(batch)
    }
  }

  #dispatch(batch: SentBatch): void {
    const { identity, acks, timeoutMs, conn } = this.#deps
    batch.bytes ??= encodeRecordBatch({
      producerId: identity.producerId,
      producerEpoch: identity.producerEpoch,
      baseSequence: identity.producerId >= 0 ? batch.baseSequence : -1,
      records: batch.records,
    })
    batch.outcome = null
    batch.attempts++
    this.#outstanding++
    const request = { topic: this.topic, partition: this.partition, acks, timeoutMs, batch: batch.bytes }
    conn.request(produce, request, { noResponse: acks === 0, timeoutMs: timeoutMs + 5_000 }).then(
      (ok) => this.#settled(batch, { ok }),
      (error: unknown) => this.#settled(batch, { error: error instanceof SamsaError ? error : new SamsaError('UNKNOWN_SERVER_ERROR', String(error)) }),
    )
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
    for (let head = this.#inFlight[0]; head?.outcome != null && 'ok' in head.outcome; head = this.#inFlight[0]) {
      this.#inFlight.shift()
      const baseOffset = head.outcome.ok?.baseOffset ?? -1
      head.waiters.forEach((w, i) => w.resolve(baseOffset < 0 ? -1 : baseOffset + i))
    }
  }

  /** Every request of the round has settled: reject the fatal failures, re-sequence after them, resend the rest in order. */
  #recover(): void {
    const resend: SentBatch[] = []
    let removedRecords = 0
    let earlierFailed = false
    let delay = false
    const kept: SentBatch[] = []
    for (const b of this.#inFlight) {
      if (removedRecords > 0) {
        b.baseSequence -= removedRecords
        b.bytes = null
      }
      const outcome = b.outcome
      if (outcome === null || 'ok' in outcome) {
        kept.push(b)
        continue
      }
      const e = outcome.error
      if (e.errorName === 'UNKNOWN_TOPIC_OR_PARTITION' || e.errorName === 'NOT_LEADER_OR_FOLLOWER') this.#deps.onStaleMetadata(this.topic)
      const network = e.errorName === 'NETWORK_EXCEPTION' && e.retriable
      const causedByEarlier = earlierFailed && e.errorName === 'OUT_OF_ORDER_SEQUENCE_NUMBER'
      const retriable = network || ((e.retriable || causedByEarlier) && b.attempts <= this.#deps.maxRetries)
      earlierFailed = true
      if (!retriable) {
        this.#deps.logger.warn({ topic: this.topic, partition: this.partition, error: e.errorName, baseSequence: b.baseSequence }, 'batch failed')
        b.waiters.forEach((w) => w.reject(e))
        removedRecords += b.records.length
        continue
      }
      if (!network && !causedByEarlier) delay = true
      kept.push(b)
      resend.push(b)
    }
    this.#inFlight = kept
    this.#nextSequence -= removedRecords
    const go = () => {
      this.#recovering = false
      for (const b of resend) this.#dispatch(b)
      this.#resolveHead()
      this.#pump()
    }
    if (!delay) {
      this.#retryRound = 0
      return go()
    }
    const delayMs = backoffDelayMs(this.#retryRound++, this.#deps.retryBackoff, this.#deps.random)
    this.#deps.logger.debug({ topic: this.topic, partition: this.partition, delayMs, batches: resend.length }, 'resending after a retriable error')
    this.#deps.clock.setTimeout(go, delayMs)
  }
}
