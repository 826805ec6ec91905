/**
 * @module A subscription handle over one topic: per partition it subscribes from a position, delivers records in
 * offset order, grants credit as the application consumes (so unconsumed records never exceed the credit window),
 * and after a reconnect re-subscribes from the offset after the last delivered record. Iterate it with `for await`,
 * give it a callback, or `process` batches in IndexedDB transactions — one of the three.
 *
 * With `from: 'stored'` each partition resumes at the consumer id's stored position and positions are committed
 * (auto, manual, or atomically with the app's writes in `process`). A position the broker can no longer serve
 * (retention below, truncation above) is reported as a typed `Gap` and delivery continues per the reset policy.
 */
import { Fifo } from './fifo.js'
import { PUSH_RECORDS_OVERHEAD, SamsaError, credit, decodeRecords, scanBatches, subscribe, unsubscribe, verifyBatch, type Push } from '@samsa/shared'
import type { Connection } from '../connection/connection.js'
import { backoffDelayMs, type BackoffPolicy } from '../connection/backoff.js'
import type { MetadataCache } from '../metadata/metadata-cache.js'
import type { Clock, Logger, Random } from '../ports.js'
import { ConsumerRecord } from './consumer-record.js'
import type { PushRouter } from './push-router.js'
import type { ClientStorage, StoredPosition } from '../storage/stores.js'
import { PositionCommitter } from './position-committer.js'
import { gapForOutOfRange, type Gap } from './gap.js'
import type { BatchHandler, ProcessOptions, SubscribeOptions } from './subscribe-options.js'

export type { Gap } from './gap.js'
export type { BatchHandler, ProcessOptions, StartFrom, SubscribeOptions } from './subscribe-options.js'

export interface SubscriptionDeps {
  readonly conn: Connection
  readonly router: PushRouter
  readonly metadata: MetadataCache
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
  readonly retryBackoff: BackoffPolicy
  /** Where positions are stored; required for `from: 'stored'`. */
  readonly storage?: ClientStorage
  /** The consumer id positions are stored under. Default 'default'. */
  readonly consumerId?: string
}

interface PartitionState {
  readonly partition: number
  /** The offset of the first subscribe: −2 earliest, −1 latest, or exact. */
  start: number
  /** The stored position this partition resumed from, checked against the broker's leader epoch. */
  stored: StoredPosition | null
  /** Leader epoch of the last record delivered (−1 before any). */
  epoch: number
  /** Set when the stored epoch is newer than the broker's: the old position, reported as a truncation gap once the start resolves. */
  truncatedFrom?: number
  /** Offset after the last record delivered to the application; null until the broker resolves the start. */
  position: number | null
  /** Next offset expected from pushes; records below it are skipped. Always ≥ position once set. */
  nextEnqueue: number | null
  /** The broker's id for the current subscription; null while (re)subscribing or disconnected. */
  subscriptionId: number | null
  /** Incremented on every (re)subscribe; responses and pushes of older tokens are ignored. */
  token: number
  /** Records of this partition in the queue (not yet handed to the application). */
  queued: number
  /** Bytes of pushes consumed since the last credit grant. */
  consumedBytes: number
  retries: number
  /** Consecutive pushes that failed verification; grows the re-subscribe backoff, reset by a good push. */
  badPushes: number
}

interface Queued {
  readonly record: ConsumerRecord
  /** Push bytes released (credited back) when this record is consumed. */
  readonly creditBytes: number
  /** Which push it came in: `process` batches are the records of one push. */
  readonly push: number
}

export class Subscription implements AsyncIterable<ConsumerRecord> {
  readonly topic: string
  readonly #deps: SubscriptionDeps
  readonly #opts: SubscribeOptions
  readonly #windowBytes: number
  readonly #partitions = new Map<number, PartitionState>()
  /** Records received and not yet consumed, each partition's in offset order. */
  readonly #queue = new Fifo<Queued>()
  #mode: 'none' | 'iterator' | 'callback' | 'process' = 'none'
  readonly #consumerId: string
  readonly #committer: PositionCommitter | null
  readonly #autoCommit: boolean
  #autoCommitTimer: unknown = null
  /** The iterator's last record: committed (auto) when the iterator advances past it. */
  #handedOut: ConsumerRecord | null = null
  #pushCount = 0
  #process: { handler: BatchHandler; stores: readonly string[] } | null = null
  #processing: Promise<void> | null = null
  #resolveProcessing: (() => void) | null = null
  #rejectProcessing: ((e: Error) => void) | null = null
  readonly #gapListeners = new Set<(gap: Gap) => void>()
  #callback: ((r: ConsumerRecord) => void | Promise<void>) | null = null
  #draining = false
  #wake: (() => void) | null = null
  #error: Error | null = null
  #isClosed = false
  readonly #errorListeners = new Set<(e: Error) => void>()
  readonly #unlisten: (() => void)[] = []
  #resolveClosed!: (v: void | Error) => void
  /** Settles when the subscription ends: with the error that ended it, or undefined after close(). */
  readonly closed: Promise<void | Error> = new Promise((r) => (this.#resolveClosed = r))

  constructor(topic: string, opts: SubscribeOptions, deps: SubscriptionDeps) {
    this.topic = topic
    this.#opts = opts
    this.#deps = deps
    this.#windowBytes = opts.creditWindowBytes ?? 256 * 1024
    this.#consumerId = deps.consumerId ?? 'default'
    const stored = opts.from === 'stored'
    if (stored && deps.storage === undefined) throw new TypeError("from: 'stored' needs the client's storage (createClient({ storage }))")
    this.#committer = stored ? new PositionCommitter(deps.storage!.offsets, this.#consumerId, topic) : null
    this.#autoCommit = stored && (opts.commit ?? 'auto') === 'auto'
    if (opts.onRecord) this.onRecord(opts.onRecord)
    this.#unlisten.push(deps.conn.on('status', ({ previous, current }) => {
      if (current.status === 'connected' && previous.status !== 'connected') for (const p of this.#partitions.values()) this.#resubscribe(p)
      if (current.status !== 'connected') for (const p of this.#partitions.values()) p.subscriptionId = null
    }))
    void this.#start()
  }

  /** Offset after the last record delivered for the partition (the next one to deliver), or null before the start is resolved. */
  position(partition: number): number | null {
    return this.#partitions.get(partition)?.position ?? null
  }

  /** The stored (or staged) position of the partition for this consumer id; null without `from: 'stored'` or before the first commit. */
  committed(partition: number): StoredPosition | null {
    return this.#committer?.committed(partition) ?? null
  }

  /** Store writes issued by commits so far (auto, manual and resets; `process` transactions not included). */
  get storeWrites(): number {
    return this.#committer?.writes ?? 0
  }

  /** Called for every gap (see `Gap`); returns the unsubscribe function. */
  onGap(listener: (gap: Gap) => void): () => void {
    this.#gapListeners.add(listener)
    return () => void this.#gapListeners.delete(listener)
  }

  /**
   * Commits positions now and resolves once they are stored. Without `upTo`: every partition's position after the
   * last record handed to the application. With `upTo`: that partition's position (`offset` = the next offset to
   * deliver, at most the delivered position). Never moves a stored position backwards. Needs `from: 'stored'`.
   */
  async commit(upTo?: { readonly partition: number; readonly offset: number }): Promise<void> {
    const committer = this.#committer
    if (committer === null) throw new TypeError("sub.commit() needs a subscription with from: 'stored'")
    if (upTo === undefined) {
      for (const p of this.#partitions.values()) if (p.position !== null) committer.stage(p.partition, { offset: p.position, leaderEpoch: p.epoch })
      return committer.flush()
    }
    const p = this.#partitions.get(upTo.partition)
    if (p === undefined) throw new RangeError(`partition ${upTo.partition} is not part of this subscription`)
    if (p.position === null || upTo.offset > p.position) throw new RangeError(`cannot commit ${this.topic}/${upTo.partition} at ${upTo.offset}: only offsets below ${p.position ?? 0} were delivered`)
    committer.stage(p.partition, { offset: upTo.offset, leaderEpoch: p.epoch })
    return committer.flush(p.partition)
  }

  /**
   * Exactly-once processing in the page: for each push of each partition, runs ONE `storage.atomic(stores, fn)`
   * transaction in which `handler(batch, tx)` writes the app's state and the SDK stages the position after the
   * batch; both commit or neither. The handler must only await requests on `tx` (awaiting anything else lets
   * IndexedDB auto-commit the transaction early). If it throws, nothing of the batch commits, delivery stops, the
   * error goes to `onError` and the returned promise (also `sub.processing`) rejects with it; after a reload,
   * `from: 'stored'` delivers the same batch again. The promise resolves when the subscription is closed.
   * Needs `from: 'stored'` and IndexedDB storage (memory storage has no transactions and throws).
   */
  process(handler: BatchHandler, opts: ProcessOptions): Promise<void> {
    if (this.#deps.storage?.atomic === undefined) {
      throw new TypeError('sub.process() needs IndexedDB storage: memory storage cannot commit the app’s writes and the positions in one transaction (createClient({ storage: indexedDbStorage(...) }))')
    }
    if (this.#opts.from !== 'stored') throw new TypeError("sub.process() needs from: 'stored' (the positions it commits are where a reload resumes)")
    if (this.#mode !== 'none') throw new TypeError(`this subscription already delivers by ${this.#mode}; process() must be its only consumer`)
    this.#mode = 'process'
    this.#process = { handler, stores: opts.stores }
    this.#processing = new Promise<void>((resolve, reject) => {
      this.#resolveProcessing = resolve
      this.#rejectProcessing = reject
    })
    this.#processing.catch(() => {}) // surfaced through onError too; never an unhandled rejection
    if (this.#isClosed) this.#settleProcessing(this.#error)
    this.#notify()
    return this.#processing
  }

  /** The promise returned by `process()` (null before it is called). */
  get processing(): Promise<void> | null {
    return this.#processing
  }

  /** Flushes pending commits (auto and manual) and resolves once they are stored. */
  async flush(): Promise<void> {
    await this.#committer?.flush()
  }

  onRecord(callback: (record: ConsumerRecord) => void | Promise<void>): this {
    if (this.#mode === 'iterator') throw new TypeError('this subscription is being iterated; it cannot also take a callback')
    if (this.#mode === 'process') throw new TypeError('this subscription is processed in batches; it cannot also take a callback')
    this.#mode = 'callback'
    this.#callback = callback
    this.#notify()
    return this
  }

  /** Called with the error that ends the subscription (e.g. OFFSET_OUT_OF_RANGE) and with errors thrown by the callback. */
  onError(listener: (error: Error) => void): () => void {
    this.#errorListeners.add(listener)
    return () => void this.#errorListeners.delete(listener)
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    if (this.#mode === 'callback') throw new TypeError('this subscription has a callback; it cannot also be iterated')
    if (this.#mode === 'process') throw new TypeError('this subscription is processed in batches; it cannot also be iterated')
    this.#mode = 'iterator'
    return { next: () => this.#next(), return: async () => (this.close(), { done: true, value: undefined }) }
  }

  /** Stops delivery; pending auto/manual commits are still written (await `sub.closed`, or `sub.flush()`). */
  close(): void {
    if (this.#isClosed) return
    this.#isClosed = true
    this.#end(undefined)
  }

  async #start(): Promise<void> {
    try {
      const from = this.#opts.from ?? 'latest'
      const isMap = typeof from === 'object' && !('offset' in from)
      const partitions =
        this.#opts.partitions ?? (isMap ? Object.keys(from).map(Number) : Array.from({ length: await this.#deps.metadata.partitionCount(this.topic) }, (_, i) => i))
      const isStored = from === 'stored'
      const resetStart = (this.#opts.reset ?? 'earliest') === 'latest' ? -1 : -2
      const stored = isStored ? await this.#deps.storage!.offsets.list(this.#consumerId, this.topic) : new Map<number, StoredPosition>()
      const epochs = new Map<number, number>()
      if ([...stored.values()].some((s) => s.leaderEpoch >= 0)) {
        for (const m of (await this.#deps.metadata.topic(this.topic)).partitions) epochs.set(m.partition, m.leaderEpoch)
      }
      if (this.#isClosed) return
      for (const partition of partitions) {
        const saved = stored.get(partition) ?? null
        const start = isStored
          ? (saved?.offset ?? resetStart)
          : from === 'earliest' ? -2 : from === 'latest' ? -1 : 'offset' in from ? (from.offset as number) : ((from as Record<number, number>)[partition] ?? -1)
        const p: PartitionState = { partition, start, stored: saved, epoch: saved?.leaderEpoch ?? -1, position: null, nextEnqueue: null, subscriptionId: null, token: 0, queued: 0, consumedBytes: 0, retries: 0, badPushes: 0 }
        this.#partitions.set(partition, p)
        if (saved !== null) this.#committer!.markWritten(partition, saved)
        const brokerEpoch = epochs.get(partition)
        if (saved !== null && brokerEpoch !== undefined && saved.leaderEpoch > brokerEpoch) {
          // The broker's history is older than what this consumer saw: the log diverged at an unknown offset.
          this.#deps.logger.warn({ topic: this.topic, partition, stored: saved, brokerEpoch }, 'stored leader epoch is newer than the broker’s')
          p.start = resetStart
          p.truncatedFrom = saved.offset
        }
      }
      this.#deps.conn.connect()
      if (this.#deps.conn.state.status === 'connected') for (const p of this.#partitions.values()) this.#resubscribe(p)
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)))
    }
  }

  /** (Re)subscribes from the position, dropping the partition's undelivered records so nothing is delivered twice. */
  #resubscribe(p: PartitionState): void {
    if (this.#isClosed || this.#deps.conn.state.status !== 'connected') return
    const token = ++p.token
    if (p.subscriptionId !== null) this.#drop(p.subscriptionId) // e.g. after a bad push: the broker would keep pushing to it
    p.subscriptionId = null
    p.consumedBytes = 0
    p.nextEnqueue = p.position
    this.#queue.retain((q) => q.record.partition !== p.partition)
    p.queued = 0
    const session = this.#deps.conn.session
    const request = { topic: this.topic, partition: p.partition, offset: p.position ?? p.start, creditBytes: this.#windowBytes }
    // A response after the request timed out is for a subscription this partition gave up on (it re-subscribes).
    this.#deps.conn.request(subscribe, request, { onLateResponse: (res) => this.#drop(res.subscriptionId) }).then(
      (res) => {
        if (token !== p.token || this.#isClosed) return this.#drop(res.subscriptionId)
        if (p.position === null) {
          p.position = res.offset
          if (p.truncatedFrom !== undefined) {
            const old = p.truncatedFrom
            delete p.truncatedFrom
            this.#emitGap({ topic: this.topic, partition: p.partition, from: Math.min(res.offset, old), to: old, reason: 'truncation' })
            void this.#committer?.reset(p.partition, { offset: res.offset, leaderEpoch: -1 }).catch((e: unknown) => this.#commitFailed(e))
          }
        }
        p.nextEnqueue = p.position
        p.subscriptionId = res.subscriptionId
        p.retries = 0
        this.#deps.router.register(session, res.subscriptionId, (push) => this.#onPush(p, token, push))
      },
      (error: unknown) => {
        if (token !== p.token || this.#isClosed) return
        this.#retryOrFail(p, error)
      },
    )
  }

  /**
   * A position the broker cannot serve: below logStartOffset (retention) or above logEndOffset (truncation). With
   * `from: 'stored'` or a `reset` policy, reports a gap and re-subscribes where delivery continues; returns false
   * when the subscription should fail instead.
   */
  #resetOutOfRange(p: PartitionState, e: SamsaError): boolean {
    if (this.#opts.from !== 'stored' && this.#opts.reset === undefined) return false
    const { logStartOffset, logEndOffset } = e.details
    if (logStartOffset === undefined || logEndOffset === undefined) return false
    const decided = gapForOutOfRange(this.topic, p.partition, p.position ?? p.start, { logStartOffset, logEndOffset }, this.#opts.reset ?? 'earliest')
    if (decided === null) return false
    const { resume, gap } = decided
    this.#deps.logger.warn({ ...gap, logStartOffset, logEndOffset }, 'position out of range: reporting a gap and continuing')
    p.position = resume
    p.start = resume
    p.retries = 0
    if (gap.reason === 'truncation') void this.#committer?.reset(p.partition, { offset: resume, leaderEpoch: -1 }).catch((err: unknown) => this.#commitFailed(err))
    else if (this.#committer !== null) {
      this.#committer.stage(p.partition, { offset: resume, leaderEpoch: p.epoch })
      void this.#committer.flush(p.partition).catch((err: unknown) => this.#commitFailed(err))
    }
    this.#emitGap(gap)
    this.#resubscribe(p)
    return true
  }

  #emitGap(gap: Gap): void {
    for (const listener of this.#gapListeners) {
      try {
        listener(gap)
      } catch (error) {
        this.#deps.logger.error({ error }, 'gap listener threw')
      }
    }
  }

  #commitFailed(error: unknown): void {
    this.#deps.logger.warn({ topic: this.topic, error }, 'storing a position failed; it stays staged for the next commit')
    this.#emitError(error instanceof Error ? error : new Error(String(error)))
  }

  #drop(subscriptionId: number): void {
    this.#deps.router.unregister(subscriptionId)
    this.#deps.conn.request(unsubscribe, { subscriptionId }).catch(() => {})
  }

  #retryOrFail(p: PartitionState, error: unknown): void {
    const e = error instanceof SamsaError ? error : new SamsaError('UNKNOWN_SERVER_ERROR', String(error))
    if (e.errorName === 'OFFSET_OUT_OF_RANGE' && this.#resetOutOfRange(p, e)) return
    if (!e.retriable) return this.#fail(e)
    if (e.errorName === 'NETWORK_EXCEPTION') return // the reconnect re-subscribes
    if (e.errorName === 'NOT_LEADER_OR_FOLLOWER') this.#deps.metadata.invalidate(this.topic)
    const token = p.token
    const delayMs = backoffDelayMs(p.retries++, this.#deps.retryBackoff, this.#deps.random)
    this.#deps.logger.debug({ topic: this.topic, partition: p.partition, error: e.errorName, delayMs }, 're-subscribing after a retriable error')
    this.#deps.clock.setTimeout(() => {
      if (token === p.token) this.#resubscribe(p)
    }, delayMs)
  }

  #onPush(p: PartitionState, token: number, push: Push): void {
    if (token !== p.token || this.#isClosed) return
    if (push.kind === 'ended') {
      this.#deps.router.unregister(push.subscriptionId)
      p.subscriptionId = null
      return this.#retryOrFail(p, push.error)
    }
    const frameBytes = PUSH_RECORDS_OVERHEAD + push.records.length
    let last: Queued | null = null
    try {
      for (const { at, header, totalBytes } of scanBatches(push.records)) {
        verifyBatch(push.records, at, at + totalBytes)
        for (const r of decodeRecords(push.records, at).records) {
          if (r.offset < p.nextEnqueue!) continue
          if (r.offset > p.nextEnqueue!) throw new SamsaError('CORRUPT_MESSAGE', `push skipped from offset ${p.nextEnqueue} to ${r.offset}`)
          const fields = { topic: this.topic, partition: p.partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, rawHeaders: r.headers, leaderEpoch: header.partitionLeaderEpoch }
          const record = new ConsumerRecord(fields, this.#committer === null ? null : () => this.#commitRecord(fields))
          last = { record, creditBytes: 0, push: this.#pushCount }
          this.#queue.push(last)
          p.queued++
          p.nextEnqueue = r.offset + 1
        }
      }
    } catch (error) {
      // Abandon this subscription at once, and subscribe again from the position after a backoff that grows while
      // the same bad push repeats (a batch damaged on the broker must not become a hot loop).
      const token = ++p.token
      if (p.subscriptionId !== null) this.#drop(p.subscriptionId)
      p.subscriptionId = null
      const delayMs = backoffDelayMs(p.badPushes++, this.#deps.retryBackoff, this.#deps.random)
      this.#deps.logger.warn({ topic: this.topic, partition: p.partition, error, delayMs }, 'bad push; re-subscribing from the position')
      this.#deps.clock.setTimeout(() => {
        if (token === p.token) this.#resubscribe(p)
      }, delayMs)
      return
    }
    p.badPushes = 0
    this.#pushCount++
    if (last === null) this.#consumed(p, frameBytes)
    else this.#queue.replaceLast({ record: last.record, creditBytes: frameBytes, push: last.push })
    this.#notify()
  }

  /** Credits the broker once half the window has been consumed. */
  #consumed(p: PartitionState, bytes: number): void {
    p.consumedBytes += bytes
    if (p.subscriptionId === null || p.consumedBytes < this.#windowBytes / 2) return
    const grant = p.consumedBytes
    p.consumedBytes = 0
    this.#deps.conn.request(credit, { subscriptionId: p.subscriptionId, bytes: grant }).catch(() => {})
  }

  #take(): ConsumerRecord {
    const { record, creditBytes } = this.#queue.shift()!
    const p = this.#partitions.get(record.partition)!
    p.position = record.offset + 1
    p.epoch = record.leaderEpoch
    p.queued--
    if (creditBytes > 0) this.#consumed(p, creditBytes)
    return record
  }

  #commitRecord(r: { partition: number; offset: number; leaderEpoch: number }): Promise<void> {
    if (!this.#isStale(r)) this.#committer!.stage(r.partition, { offset: r.offset + 1, leaderEpoch: r.leaderEpoch })
    return this.#committer!.flush(r.partition)
  }

  /** A record of a history the broker no longer has: a truncation reset moved the partition's position to or below it. */
  #isStale(r: { partition: number; offset: number }): boolean {
    const position = this.#partitions.get(r.partition)?.position ?? null
    return position !== null && r.offset >= position
  }

  /** Auto-commit: the application is done with `record`. Writes once the partition's buffered records are all processed, else within the interval. */
  #processed(record: ConsumerRecord): void {
    if (!this.#autoCommit || this.#isStale(record)) return
    this.#committer!.stage(record.partition, { offset: record.offset + 1, leaderEpoch: record.leaderEpoch })
    if (this.#partitions.get(record.partition)!.queued === 0) {
      void this.#committer!.flush(record.partition).catch((e: unknown) => this.#commitFailed(e))
    } else if (this.#autoCommitTimer === null) {
      this.#autoCommitTimer = this.#deps.clock.setTimeout(() => {
        this.#autoCommitTimer = null
        void this.#committer!.flush().catch((e: unknown) => this.#commitFailed(e))
      }, this.#opts.autoCommitIntervalMs ?? 1_000)
    }
  }

  #notify(): void {
    const wake = this.#wake
    this.#wake = null
    wake?.()
    if (this.#mode === 'callback') void this.#drain()
    if (this.#mode === 'process') void this.#drainBatches()
  }

  async #drainBatches(): Promise<void> {
    if (this.#draining) return
    this.#draining = true
    const { handler, stores } = this.#process!
    const atomic = this.#deps.storage!.atomic!
    try {
      while (this.#queue.length > 0 && !this.#isClosed) {
        const push = this.#queue.peek()!.push
        const batch: ConsumerRecord[] = []
        while (this.#queue.length > 0 && this.#queue.peek()!.push === push) batch.push(this.#take())
        const last = batch[batch.length - 1]!
        const position: StoredPosition = { offset: last.offset + 1, leaderEpoch: last.leaderEpoch }
        try {
          await atomic(stores, async (tx) => {
            await handler(batch, tx)
            tx.putPosition(this.#consumerId, this.topic, last.partition, position)
          })
        } catch (error) {
          this.#fail(error instanceof Error ? error : new Error(String(error)))
          return
        }
        this.#committer!.markWritten(last.partition, position)
      }
    } finally {
      this.#draining = false
    }
  }

  #settleProcessing(error: Error | null): void {
    if (error === null) this.#resolveProcessing?.()
    else this.#rejectProcessing?.(error)
    this.#resolveProcessing = this.#rejectProcessing = null
  }

  async #drain(): Promise<void> {
    if (this.#draining) return
    this.#draining = true
    try {
      while (this.#queue.length > 0 && !this.#isClosed && this.#callback) {
        const record = this.#take()
        try {
          await this.#callback(record)
          this.#processed(record)
        } catch (error) {
          this.#emitError(error instanceof Error ? error : new Error(String(error)))
        }
      }
    } finally {
      this.#draining = false
    }
  }

  async #next(): Promise<IteratorResult<ConsumerRecord>> {
    // Asking for the next record means the application is done with the previous one.
    if (this.#handedOut !== null) this.#processed(this.#handedOut)
    this.#handedOut = null
    for (;;) {
      if (this.#queue.length > 0 && !this.#isClosed) return { done: false, value: (this.#handedOut = this.#take()) }
      if (this.#error !== null) {
        const error = this.#error
        this.#error = null
        this.#isClosed = true
        throw error
      }
      if (this.#isClosed) return { done: true, value: undefined }
      await new Promise<void>((resolve) => (this.#wake = resolve))
    }
  }

  /** Ends the subscription with an error; an iterator still delivers what is buffered, then throws it. */
  #fail(error: Error): void {
    if (this.#isClosed || this.#error !== null) return
    this.#deps.logger.warn({ topic: this.topic, error }, 'subscription failed')
    this.#error = error
    this.#emitError(error)
    if (this.#mode !== 'iterator') this.#isClosed = true
    this.#end(error)
    this.#settleProcessing(error)
  }

  #emitError(error: Error): void {
    for (const listener of this.#errorListeners) {
      try {
        listener(error)
      } catch (e) {
        this.#deps.logger.error({ error: e }, 'error listener threw')
      }
    }
  }

  #end(reason: void | Error): void {
    for (const p of this.#partitions.values()) {
      p.token++
      if (p.subscriptionId !== null) this.#drop(p.subscriptionId)
      p.subscriptionId = null
    }
    for (const off of this.#unlisten.splice(0)) off()
    if (this.#autoCommitTimer !== null) this.#deps.clock.clearTimeout(this.#autoCommitTimer)
    this.#autoCommitTimer = null
    if (reason === undefined) this.#settleProcessing(null)
    const flushed = this.#committer?.flush().catch((e: unknown) => this.#commitFailed(e))
    if (flushed === undefined) this.#resolveClosed(reason)
    else void flushed.then(() => this.#resolveClosed(reason))
    const wake = this.#wake
    this.#wake = null
    wake?.()
  }
}
