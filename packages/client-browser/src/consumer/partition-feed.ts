/**
 * @module The broker side of one partition of a subscription: subscribes from the partition's position, verifies
 * pushes and queues their records in offset order, grants credit as records are consumed, and re-subscribes after
 * retriable errors, bad pushes, reconnects and seeks (each re-subscribe drops the partition's buffered records and
 * abandons the previous broker subscription, so nothing is delivered twice). Before subscribing from a position
 * resumed from storage, or under a leader epoch it was not read under, it asks the leader where the position's epoch
 * ends (offsetForLeaderEpoch, KIP-320; rules in position-validation.ts).
 */
import {
  CONSUMER_REPLICA_ID, PUSH_RECORDS_OVERHEAD, SamsaError, batchLastOffset, creditClientSide as credit, decodeRecords, offsetForLeaderEpochClientSide as offsetForLeaderEpoch, scanBatches, subscribeClientSide as subscribe,
  unsubscribeClientSide as unsubscribe, verifyBatch, type Push, type SubscribeResponse,
} from '@samsa/shared'
import { backoffDelayMs } from '../connection/backoff.js'
import type { Connection } from '../connection/connection.js'
import type { ConsumerRecord, ConsumerRecordFields } from './consumer-record.js'
import type { DeliveryQueue } from './delivery-queue.js'
import { atEnd, beyondEnd, exactOffset, reducePosition, requestOffset, type PartitionPosition, type PositionEffect, type PositionEvent } from './partition-position.js'
import { needsValidation, validatePosition, type Divergence } from './position-validation.js'
import type { SubscriptionDeps } from './subscription-deps.js'

/** The broker answering is not (or no longer) the partition's leader. */
const staleLeader = (e: SamsaError) => e.errorName === 'NOT_LEADER_OR_FOLLOWER' || e.errorName === 'FENCED_LEADER_EPOCH' || e.errorName === 'LEADER_NOT_AVAILABLE'

export interface FeedHost {
  readonly topic: string
  readonly deps: SubscriptionDeps
  readonly windowBytes: number
  readonly queue: DeliveryQueue
  closed(): boolean
  record(fields: ConsumerRecordFields): ConsumerRecord
  /** The broker confirmed a subscription; `effects` are what the position reducer asks for (when it fixed the start). */
  confirmed(feed: PartitionFeed, effects: readonly PositionEffect[]): void
  /** A non-retriable error (e.g. OFFSET_OUT_OF_RANGE) ended the partition's subscription. */
  failed(feed: PartitionFeed, error: SamsaError): void
  /** Validation found the leader's log truncated below the position: continue at `d.resume` (and re-subscribe) or fail. */
  diverged(feed: PartitionFeed, d: Divergence): void
  /** Records were queued. */
  pushed(): void
}

export class PartitionFeed {
  readonly partition: number
  /** Start, position and its epoch, confirmation and end (see partition-position.ts for the invariants); changed only by `step`. */
  #pos: PartitionPosition
  /** The leader epoch (metadata's) under which (position, epoch) was last found to match the leader's log; null: not yet. */
  #validatedUnder: number | null = null
  /** Next offset expected from pushes; records below it are skipped. Always ≥ position once set. */
  #nextEnqueue: number | null = null
  /** The broker's id for the current subscription; null while (re)subscribing, disconnected, or finished. */
  #subscriptionId: number | null = null
  /** Incremented on every (re)subscribe; responses and pushes of older tokens are ignored. */
  #token = 0
  /** Bytes of pushes consumed since the last credit grant. */
  #consumedBytes = 0
  #retries = 0
  /** The connection of the current (or pending) broker subscription: the partition leader's; null before the first route and after stop(). */
  #conn: Connection | null = null
  #unwatch: (() => void) | null = null
  /** Cancels the leader watch of the current (or pending) broker subscription. */
  #unwatchLeader: (() => void) | null = null
  /** When the unbroken run of UNKNOWN_TOPIC_OR_PARTITION answers began (clock ms); null otherwise. */
  #unknownSinceMs: number | null = null
  /** Consecutive pushes that failed verification; grows the re-subscribe backoff, reset by a good push. */
  #badPushes = 0
  readonly #host: FeedHost

  constructor(pos: PartitionPosition, host: FeedHost) {
    this.partition = pos.rules.partition
    this.#pos = pos
    this.#host = host
  }

  get pos(): PartitionPosition {
    return this.#pos
  }

  /** Applies a position event; returns the effects for the caller to perform. */
  step(event: PositionEvent): readonly PositionEffect[] {
    const { state, effects } = reducePosition(this.#pos, event)
    this.#pos = state
    return effects
  }

  /**
   * (Re)subscribes from the position, dropping the partition's undelivered records so nothing is delivered twice. The
   * request goes to the partition's leader (metadata-cache.ts connectionFor); while that connection is down, the
   * feed waits for it to come up (or for a new leader: a lost connection refreshes metadata).
   */
  subscribe(): void {
    const host = this.#host
    const token = this.#abandon()
    this.#consumedBytes = 0
    this.#nextEnqueue = this.pos.position
    host.queue.discard(this.partition)
    if (host.closed()) return
    if (this.pos.confirmed && atEnd(this.pos)) return // `until: 'end'`: this partition is finished
    const { metadata } = host.deps
    metadata.connectionFor(host.topic, this.partition).then(
      async (conn) => {
        const epoch = await metadata.leaderEpoch(host.topic, this.partition).catch(() => -1)
        if (token !== this.#token || host.closed()) return
        // A leader that can no longer commit stays silent rather than failing: follow a newer leader epoch when
        // metadata from any broker names one (metadata-cache.ts, leader watch).
        this.#unwatchLeader = metadata.onLeaderMoved(host.topic, this.partition, epoch, () => {
          if (token !== this.#token || host.closed()) return
          host.deps.logger.info({ topic: host.topic, partition: this.partition, leaderEpoch: epoch }, 'the partition has a newer leader: re-subscribing there')
          this.subscribe()
        })
        const check = { position: exactOffset(this.pos), positionEpoch: this.pos.positionEpoch, validatedUnder: this.#validatedUnder, leaderEpoch: epoch }
        if (needsValidation(check)) this.#validateOn(conn, token, epoch)
        else this.#subscribeOn(conn, token, epoch)
      },
      (error: unknown) => {
        if (token === this.#token && !host.closed()) this.#retryOrFail(error)
      },
    )
  }

  /**
   * Asks the leader where the position's epoch ends; subscribes from the position if it is consistent, else hands the
   * divergence to the host. A broker that cannot answer (an older one) leaves the position unvalidated.
   */
  #validateOn(conn: Connection, token: number, leaderEpoch: number): void {
    const host = this.#host
    this.#watch(conn)
    if (conn.state.status !== 'connected') return conn.connect() // #watch subscribes (and validates) once it is up
    const position = exactOffset(this.pos)!
    const request = { topic: host.topic, partition: this.partition, replicaId: CONSUMER_REPLICA_ID, currentLeaderEpoch: leaderEpoch, leaderEpoch: this.pos.positionEpoch }
    conn.request(offsetForLeaderEpoch, request).then(
      (answer) => {
        if (token !== this.#token || host.closed()) return
        this.#validatedUnder = leaderEpoch
        const diverged = validatePosition(host.topic, this.partition, position, answer)
        if (diverged === null) this.#subscribeOn(conn, token, leaderEpoch)
        else host.diverged(this, diverged)
      },
      (error: unknown) => {
        if (token !== this.#token || host.closed()) return
        if (error instanceof SamsaError && !error.retriable) {
          host.deps.logger.warn({ topic: host.topic, partition: this.partition, error: error.errorName }, 'the leader cannot validate the position by leader epoch: subscribing from it unvalidated')
          this.#validatedUnder = leaderEpoch
          return this.#subscribeOn(conn, token, leaderEpoch)
        }
        this.#retryOrFail(error)
      },
    )
  }

  #subscribeOn(conn: Connection, token: number, leaderEpoch: number): void {
    const host = this.#host
    this.#watch(conn)
    if (conn.state.status !== 'connected') return conn.connect() // #watch subscribes once it is up
    const router = host.deps.pool.router(conn)
    const session = conn.session
    const offset = requestOffset(this.pos)
    const request = { topic: host.topic, partition: this.partition, offset, creditBytes: host.windowBytes }
    // A response after the request timed out is for a subscription this partition gave up on (it re-subscribes);
    // its offset is still the start the broker chose, and becomes the start if none was chosen since.
    const onLateResponse = (res: SubscribeResponse) => {
      this.#drop(conn, res.subscriptionId)
      if (host.closed() || this.pos.position !== null || requestOffset(this.pos) !== offset) return
      this.step({ kind: 'late-subscribed', offset: res.offset })
      this.subscribe()
    }
    conn.request(subscribe, request, { onLateResponse }).then(
      (res) => {
        if (token !== this.#token || host.closed()) return this.#drop(conn, res.subscriptionId)
        const effects = this.step({ kind: 'subscribed', offset: res.offset, highWatermark: res.highWatermark })
        this.#nextEnqueue = this.pos.position
        this.#subscriptionId = res.subscriptionId
        this.#retries = 0
        this.#unknownSinceMs = null
        this.#validatedUnder = leaderEpoch // what this leader pushes from here on is its history
        router.register(session, res.subscriptionId, (push) => this.#onPush(token, push))
        host.confirmed(this, effects)
        if (atEnd(this.pos)) this.subscribe() // nothing to read: unsubscribe at once
      },
      (error: unknown) => {
        if (token === this.#token && !host.closed()) this.#retryOrFail(error)
      },
    )
  }

  /**
   * Follows the status of the connection the partition's subscription is on: when it comes up, subscribe; when it
   * goes down, the broker forgot the subscription, and the leader may have moved: refresh metadata and re-subscribe.
   */
  #watch(conn: Connection): void {
    if (this.#conn === conn) return
    this.#unwatch?.()
    this.#conn = conn
    this.#unwatch = conn.on('status', ({ previous, current }) => {
      if (this.#host.closed()) return
      if (current.status === 'connected' && previous.status !== 'connected') return this.subscribe()
      if (current.status !== 'connected' && previous.status === 'connected') {
        this.#subscriptionId = null
        this.#host.deps.metadata.invalidate(this.#host.topic)
        this.subscribe()
      }
    })
  }

  /** Ends the broker subscription for good (the subscription closed). */
  stop(): void {
    this.#abandon()
    this.#unwatch?.()
    this.#unwatch = null
    this.#conn = null
  }

  /** The application took a record of this partition; `creditBytes` of pushes are released. */
  took(record: ConsumerRecord, creditBytes: number): void {
    this.step({ kind: 'delivered', offset: record.offset, leaderEpoch: record.leaderEpoch })
    if (creditBytes > 0) this.#consumed(creditBytes)
    if (atEnd(this.pos)) this.subscribe() // `until: 'end'`: the last record is out; stop the broker's pushes
  }

  /** Invalidates in-flight responses and pushes, and unsubscribes the current broker subscription; returns the new token. */
  #abandon(): number {
    this.#unwatchLeader?.()
    this.#unwatchLeader = null
    if (this.#subscriptionId !== null) this.#drop(this.#conn, this.#subscriptionId)
    this.#subscriptionId = null
    return ++this.#token
  }

  /** Unsubscribes a broker subscription of `conn` (requests on a connection that is down would reach its next session: skipped). */
  #drop(conn: Connection | null, subscriptionId: number): void {
    if (conn === null) return
    this.#host.deps.pool.router(conn).unregister(subscriptionId)
    if (conn.state.status === 'connected') conn.request(unsubscribe, { subscriptionId }).catch(() => {})
  }

  #retryOrFail(error: unknown): void {
    const e = error instanceof SamsaError ? error : new SamsaError('UNKNOWN_SERVER_ERROR', String(error))
    const { metadata, clock } = this.#host.deps
    const unknown = e.errorName === 'UNKNOWN_TOPIC_OR_PARTITION'
    if (unknown) this.#unknownSinceMs ??= clock.now()
    else this.#unknownSinceMs = null
    // In a cluster, an unknown topic may be metadata still propagating to this broker: retried for a bounded time.
    const propagating = unknown && metadata.propagates && clock.now() - this.#unknownSinceMs! <= metadata.unknownTopicRetryMs
    if (!e.retriable && !propagating) return this.#host.failed(this, e)
    if (e.errorName === 'NETWORK_EXCEPTION') return // the connection's status change re-subscribes (from the position if the broker chose one; see partition-position.ts)
    if (staleLeader(e) || unknown) metadata.invalidate(this.#host.topic)
    this.#subscribeAfter(backoffDelayMs(this.#retries++, this.#host.deps.retryBackoff, this.#host.deps.random), { error: e.errorName })
  }

  #subscribeAfter(delayMs: number, why: object): void {
    const token = this.#abandon()
    this.#host.deps.logger.debug({ topic: this.#host.topic, partition: this.partition, ...why, delayMs }, 're-subscribing after a backoff')
    this.#host.deps.clock.setTimeout(() => {
      if (token === this.#token) this.subscribe()
    }, delayMs)
  }

  #onPush(token: number, push: Push): void {
    const host = this.#host
    if (token !== this.#token || host.closed()) return
    if (push.kind === 'ended') {
      if (this.#conn !== null) host.deps.pool.router(this.#conn).unregister(push.subscriptionId)
      this.#subscriptionId = null
      return this.#retryOrFail(push.error)
    }
    const frameBytes = PUSH_RECORDS_OVERHEAD + push.records.length
    let last: ConsumerRecord | null = null
    const pushNo = host.queue.nextPush()
    try {
      for (const { at, header, totalBytes } of scanBatches(push.records)) {
        // A batch the broker's log cleaner rewrote keeps its offset range with fewer records (offsets missing inside
        // it, or none at all): those offsets were compacted away, not lost, so they are no gap. A whole batch's range
        // missing between two batches is a bad push.
        verifyBatch(push.records, at, at + totalBytes, { compacted: true })
        if (header.baseOffset > this.#nextEnqueue!) throw new SamsaError('CORRUPT_MESSAGE', `push skipped from offset ${this.#nextEnqueue} to ${header.baseOffset}`)
        for (const r of decodeRecords(push.records, at).records) {
          if (r.offset < this.#nextEnqueue! || beyondEnd(this.pos, r.offset)) continue
          last = host.record({ topic: host.topic, partition: this.partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, rawHeaders: r.headers, leaderEpoch: header.partitionLeaderEpoch })
          host.queue.push({ record: last, creditBytes: 0, push: pushNo })
          this.#nextEnqueue = r.offset + 1
        }
        this.#nextEnqueue = Math.max(this.#nextEnqueue!, batchLastOffset(header) + 1)
      }
    } catch (error) {
      // Abandon this subscription at once, and subscribe again from the position after a backoff that grows while
      // the same bad push repeats (a batch damaged on the broker must not become a hot loop).
      host.deps.logger.warn({ topic: host.topic, partition: this.partition, error }, 'bad push; re-subscribing from the position')
      return this.#subscribeAfter(backoffDelayMs(this.#badPushes++, host.deps.retryBackoff, host.deps.random), { badPush: true })
    }
    this.#badPushes = 0
    if (last === null) this.#consumed(frameBytes)
    else host.queue.replaceLast({ record: last, creditBytes: frameBytes, push: pushNo })
    host.pushed()
  }

  /** Credits the broker once half the window has been consumed. */
  #consumed(bytes: number): void {
    this.#consumedBytes += bytes
    const conn = this.#conn
    if (this.#subscriptionId === null || conn === null || this.#consumedBytes < this.#host.windowBytes / 2) return
    const grant = this.#consumedBytes
    this.#consumedBytes = 0
    conn.request(credit, { subscriptionId: this.#subscriptionId, bytes: grant }).catch(() => {})
  }
}
