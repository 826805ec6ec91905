/**
 * @module The produce pipeline of one partition: assigns sequences in order, keeps up to maxInFlight batches
 * outstanding, and after a failure resends the SAME bytes (same sequence) in order once every outstanding request
 * has settled, so the broker deduplicates. Non-retriable failures reject that batch's records and re-sequence the rest.
 *
 * OUT_OF_ORDER_SEQUENCE_NUMBER is fatal only from the leader metadata names now: answered by a broker that is no
 * longer the leader (after a refresh, the leader or its epoch differs from the one the batch went to; a node restarted
 * on old metadata lacks what the new leader acknowledged), the batch is resent as it is, same bytes and sequence.
 *
 * Durability: before a batch's first request, `persist` writes it to the outbox (with the identity's advanced next
 * sequence); a batch leaves the outbox through `unpersist` when it is acknowledged or fails for good. Batches
 * recovered from a previous page life (`restore`) are sent first, with their stored bytes and sequences. When the
 * client closes, unacknowledged batches are rejected but stay in the outbox for the next page life.
 */
import { SamsaError, crc32c, decodeRecords, encodeRecordBatch, produce, type Crc32cFn, type ProduceResponse } from '@samsa/shared'
import type { Connection } from '../connection/connection.js'
import { backoffDelayMs, type BackoffPolicy } from '../connection/backoff.js'
import type { Clock, Logger, Random } from '../ports.js'
import type { OutboxEntry } from '../storage/stores.js'
import type { ClosedBatch, RecordWaiter } from './record-accumulator.js'

export interface ProducerIdentity {
  /** −1 when not idempotent (acks 'none'). */
  readonly producerId: number
  readonly producerEpoch: number
}

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

export interface PartitionSenderDeps {
  /** The connection to the partition's leader now (metadata-cache.ts connectionFor); asked again for every send and resend. */
  readonly route: (topic: string, partition: number) => Promise<Connection>
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
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
  /**
   * The partition's leader and leader epoch as cached (what `route` used); absent: an OUT_OF_ORDER_SEQUENCE_NUMBER is
   * taken as coming from the current leader.
   */
  readonly leader?: (topic: string, partition: number) => Promise<LeaderRef | null>
  /**
   * Calls `onMoved` once metadata names a leader epoch above `pastEpoch` (metadata-cache.ts, leader watch); returns
   * the cancel function. Absent: a request waits for its own answer or timeout.
   */
  readonly onLeaderMoved?: (topic: string, partition: number, pastEpoch: number, onMoved: () => void) => () => void
  /**
   * Called when an error says the cached metadata may be stale; `sentTo`: the leader the failed request went to (the
   * cache keeps an answer that already names a newer leader epoch, e.g. from the leader watch).
   */
  readonly onStaleMetadata: (topic: string, partition?: number, sentTo?: LeaderRef) => void
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

export interface LeaderRef {
  readonly leader: number
  readonly leaderEpoch: number
}

type Outcome = { readonly ok: ProduceResponse | undefined } | { readonly error: SamsaError }

interface SentBatch extends ClosedBatch {
  baseSequence: number
  /** The encoded batch; kept across resends so a resend is byte-identical. Null after re-sequencing. */
  bytes: Uint8Array | null
  /** null while a request for it is outstanding. */
  outcome: Outcome | null
  attempts: number
  /** True once the outbox holds this batch with its current bytes. */
  persisted: boolean
  /** Outbox keys to delete: earlier sequences of this batch. */
  staleSequences: number[]
  /** Pending-store seqs of its records, until the batch is first in the outbox (that write removes them). */
  pendingSeqs: readonly number[]
  /** When its first UNKNOWN_TOPIC_OR_PARTITION of an unbroken run came (clock ms); null otherwise. */
  unknownSinceMs?: number | null
  /** The leader (as cached) its last request went to. */
  sentTo?: LeaderRef | null
  /**
   * True when its last request went out while an earlier batch was still unacknowledged: the broker may have seen it
   * first (requests can travel on two connections to one broker), so an OUT_OF_ORDER_SEQUENCE_NUMBER is not its own.
   */
  sentBehind?: boolean
}

/** Errors of a closed client: NETWORK_EXCEPTION marked not retriable. */
const isClientClosed = (e: SamsaError) => e.errorName === 'NETWORK_EXCEPTION' && !e.retriable
/** The broker this batch went to is not (or no longer) the partition's leader: refresh metadata and resend to the new one. */
const staleLeader = (e: SamsaError) => e.errorName === 'NOT_LEADER_OR_FOLLOWER' || e.errorName === 'FENCED_LEADER_EPOCH' || e.errorName === 'LEADER_NOT_AVAILABLE'
/** Retriable errors raised after the batch may already be in the log (a slow or failed fsync, a lost response). */
const mayHaveBeenAppended = (e: SamsaError) => e.retriable && (e.errorName === 'REQUEST_TIMED_OUT' || e.errorName === 'KAFKA_STORAGE_ERROR')

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
        waiters: waiters(e),
        sizeBytes: e.batch.length,
        baseSequence: e.baseSequence,
        bytes: e.batch,
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
        batch = { ...closed, baseSequence: this.#nextSequence, bytes: null, outcome: null, attempts: 0, persisted: this.#deps.persist === undefined, staleSequences: [], pendingSeqs: pendingSeqsOf(closed.waiters) }
        this.#nextSequence += closed.records.length
      }
      this.#inFlight.push(batch)
      this.#dispatch(batch)
    }
    if (this.canSend) this.#deps.onCapacity?.()
  }

  #dispatch(batch: SentBatch): void {
    const { identity, acks, timeoutMs, route, persist } = this.#deps
    const bytes = (batch.bytes ??= encodeRecordBatch({
      producerId: identity.producerId,
      producerEpoch: identity.producerEpoch,
      baseSequence: identity.producerId >= 0 ? batch.baseSequence : -1,
      records: batch.records,
    }, this.#deps.crc32c ?? crc32c))
    batch.outcome = null
    batch.attempts++
    batch.sentBehind = this.#unacknowledgedBefore(batch)
    this.#outstanding++
    const written =
      batch.persisted || persist === undefined
        ? Promise.resolve()
        : persist({ topic: this.topic, partition: this.partition, baseSequence: batch.baseSequence, recordCount: batch.records.length, bytes, staleSequences: batch.staleSequences, pendingSeqs: batch.pendingSeqs }).then(
            () => {
              batch.persisted = true
              batch.staleSequences = []
              batch.pendingSeqs = []
            },
            (error: unknown) => {
              throw new SamsaError('UNKNOWN_SERVER_ERROR', `could not write the batch to the outbox: ${String(error)}`)
            },
          )
    const request = { topic: this.topic, partition: this.partition, acks, timeoutMs, batch: bytes }
    let sentTo: LeaderRef | null = null
    written
      .then(() => route(this.topic, this.partition))
      .then(async (conn) => {
        sentTo = (await this.#deps.leader?.(this.topic, this.partition).catch(() => null)) ?? null
        batch.sentTo = sentTo
        const answer = conn.request(produce, request, { noResponse: acks === 0, timeoutMs: timeoutMs + 5_000 })
        if (sentTo === null || this.#deps.onLeaderMoved === undefined || acks === 0) return answer
        // A leader cut off from its followers and the controller accepts the batch and never commits it; once another
        // broker leads at a newer epoch, stop waiting and resend there (same sequence: the new leader deduplicates,
        // and what the old one appended is truncated when it follows again).
        const past = sentTo
        let cancel = () => {}
        const moved = new Promise<never>((_, reject) => {
          cancel = this.#deps.onLeaderMoved!(this.topic, this.partition, past.leaderEpoch, () =>
            reject(new SamsaError('NOT_LEADER_OR_FOLLOWER', `${this.topic}/${this.partition}: a newer leader than broker ${past.leader} (leader epoch ${past.leaderEpoch}) was elected while the batch waited`)))
        })
        return Promise.race([answer, moved]).finally(cancel)
      })
      .then(
        (ok) => this.#settled(batch, { ok }),
        async (error: unknown) => {
          const e = error instanceof SamsaError ? error : new SamsaError('UNKNOWN_SERVER_ERROR', String(error))
          this.#settled(batch, { error: e.errorName === 'OUT_OF_ORDER_SEQUENCE_NUMBER' && sentTo !== null ? await this.#fromFormerLeader(e, sentTo) : e })
        },
      )
  }

  /** True when an earlier batch of the pipeline has no acknowledgement yet. */
  #unacknowledgedBefore(batch: SentBatch): boolean {
    for (const b of this.#inFlight) {
      if (b === batch) return false
      if (b.outcome === null || !('ok' in b.outcome)) return true
    }
    return false
  }

  /**
   * An OUT_OF_ORDER_SEQUENCE_NUMBER stands only if the broker that answered it leads the partition now: refreshes the
   * metadata and, when the leader or its epoch moved on from `sentTo`, turns it into NOT_LEADER_OR_FOLLOWER (resent).
   */
  async #fromFormerLeader(error: SamsaError, sentTo: LeaderRef): Promise<SamsaError> {
    this.#deps.onStaleMetadata(this.topic)
    let now: LeaderRef | null
    try {
      now = (await this.#deps.leader?.(this.topic, this.partition)) ?? null
    } catch {
      return error // the leader is not known now: nothing says the answer came from a former one
    }
    if (now === null || (now.leader === sentTo.leader && now.leaderEpoch === sentTo.leaderEpoch)) return error
    this.#deps.logger.info({ topic: this.topic, partition: this.partition, sentTo, leader: now }, 'OUT_OF_ORDER_SEQUENCE_NUMBER from a former leader: resending to the current one')
    return new SamsaError(
      'NOT_LEADER_OR_FOLLOWER',
      `${this.topic}/${this.partition}: broker ${sentTo.leader} (leader epoch ${sentTo.leaderEpoch}) answered OUT_OF_ORDER_SEQUENCE_NUMBER but broker ${now.leader} leads at epoch ${now.leaderEpoch}: ${error.message}`,
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
    if (done.length > 0) this.#finished(done)
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

  /** Every request of the round has settled: reject the fatal failures, re-sequence after them, resend the rest in order. */
  #recover(): void {
    const fatal = this.#inFlight.map((b) => b.outcome).find((o): o is { error: SamsaError } => o !== null && 'error' in o && (isClientClosed(o.error) || o.error.errorName === 'INVALID_PRODUCER_EPOCH'))
    if (fatal !== undefined) return this.#die(fatal.error)
    const resend: SentBatch[] = []
    const failed: SentBatch[] = []
    let removedRecords = 0
    let earlierFailed = false
    let delay = false
    let resequenced = false
    const kept: SentBatch[] = []
    for (const b of this.#inFlight) {
      // Appended at its sequence (a broker with no state for this producer accepts any first sequence): the broker
      // continues from it, so nothing after it moves down over the failed batches before it.
      if (b.outcome !== null && 'ok' in b.outcome) removedRecords = 0
      if (removedRecords > 0) {
        if (b.persisted) b.staleSequences.push(b.baseSequence)
        b.persisted = this.#deps.persist === undefined
        b.baseSequence -= removedRecords
        b.bytes = null
      }
      const outcome = b.outcome
      if (outcome === null || 'ok' in outcome) {
        kept.push(b)
        continue
      }
      const e = outcome.error
      const network = e.errorName === 'NETWORK_EXCEPTION' && e.retriable
      // A request that timed out may have gone to a broker that is gone or cut off: ask metadata where the leader is now.
      if (network || staleLeader(e) || e.errorName === 'UNKNOWN_TOPIC_OR_PARTITION' || e.errorName === 'REQUEST_TIMED_OUT') this.#deps.onStaleMetadata(this.topic)
      // The batch may have been appended: only a resend with the same sequence learns its fate. Giving up would hand
      // its sequence to the next batch, which the broker would then answer as a duplicate of this one (a lost ack).
      // A leader that moved (or a connection lost with it) is followed: the resend goes to the leader metadata names now.
      const ambiguous = network || mayHaveBeenAppended(e) || staleLeader(e)
      const causedByEarlier = (earlierFailed || b.sentBehind === true) && e.errorName === 'OUT_OF_ORDER_SEQUENCE_NUMBER'
      // The leader expects a sequence below this batch's while every earlier batch is acknowledged: it lost acknowledged
      // batches of this producer (a power loss of every ISR member under fsync 'never'). This batch was not appended;
      // it and the ones after it continue at the leader's sequence (else each would be refused the same way, for ever).
      const lost = !earlierFailed && b.sentBehind !== true ? lostSequences(e, b.baseSequence) : 0
      if (lost > 0) {
        this.#deps.logger.warn({ topic: this.topic, partition: this.partition, expectedSequence: b.baseSequence - lost, baseSequence: b.baseSequence }, 'the partition leader lost acknowledged batches of this producer; continuing at the sequence it expects')
        if (b.persisted) b.staleSequences.push(b.baseSequence)
        b.persisted = this.#deps.persist === undefined
        b.baseSequence -= lost
        b.bytes = null
        removedRecords += lost
        resequenced = true
      }
      const propagationMs = e.errorName === 'UNKNOWN_TOPIC_OR_PARTITION' ? this.#deps.unknownTopicRetryMs?.() : undefined
      const propagating = propagationMs !== undefined && this.#unknownSince(b) <= propagationMs
      // Out of order behind an earlier batch that is itself being resent, or that was unacknowledged when this one
      // went out, is not this batch's failure (Kafka's rule: only the next sequence after the last acknowledged one
      // can be out of order for good): it is resent after the earlier one, without spending its own attempts.
      const retriable = ambiguous || propagating || causedByEarlier || lost > 0 || (e.retriable && b.attempts <= this.#deps.maxRetries)
      earlierFailed = true
      if (!retriable) {
        this.#deps.logger.warn({ topic: this.topic, partition: this.partition, error: e.errorName, baseSequence: b.baseSequence }, 'batch failed')
        b.waiters.forEach((w) => w.reject(e))
        removedRecords += b.records.length
        failed.push(b)
        continue
      }
      if (!network && !causedByEarlier) delay = true
      if (e.errorName !== 'UNKNOWN_TOPIC_OR_PARTITION') b.unknownSinceMs = null
      kept.push(b)
      resend.push(b)
    }
    this.#inFlight = kept
    this.#nextSequence -= removedRecords
    if (failed.length > 0 || resequenced) this.#finished(failed, { resetNextSequence: this.#nextSequence })
    const go = () => {
      this.#recovering = false
      if (this.#dead !== null) return
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

  /** ms since the batch's unbroken run of UNKNOWN_TOPIC_OR_PARTITION answers began (0 on the first). */
  #unknownSince(b: SentBatch): number {
    const now = this.#deps.clock.now()
    b.unknownSinceMs ??= now
    return now - b.unknownSinceMs
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

/**
 * How many sequences below `baseSequence` the partition leader lacks, per its OUT_OF_ORDER_SEQUENCE_NUMBER answer
 * naming the sequence it expects (0 for any other error, or when it expects this sequence or a later one).
 */
function lostSequences(e: SamsaError, baseSequence: number): number {
  const expected = e.details.expectedSequence
  if (e.errorName !== 'OUT_OF_ORDER_SEQUENCE_NUMBER' || expected === undefined || !Number.isSafeInteger(expected) || expected < 0) return 0
  return expected < baseSequence ? baseSequence - expected : 0
}
