/**
 * @module A subscription handle over one topic: per partition it subscribes from a position, delivers records in
 * offset order, grants credit as the application consumes (so unconsumed records never exceed the credit window),
 * and after a reconnect re-subscribes from the offset after the last delivered record. Iterate it with `for await`,
 * give it a callback, or `process` batches in IndexedDB transactions — one of the three.
 *
 * With `from: 'stored'` each partition resumes at the consumer id's stored position and positions are committed
 * (auto, manual, or atomically with the app's writes in `process`). A position the broker can no longer serve
 * (retention below, truncation above) is reported as a typed `Gap` and delivery continues per the reset policy; so is
 * a position above where its leader epoch ends on the leader (a truncated history, found by validation: KIP-320).
 *
 * `ready` settles once the broker confirmed every partition's start; `until: 'end'` finishes at the end each partition
 * had then; `pause`/`resume`/`seek` steer delivery per partition; a `signal` closes it. The broker side of each
 * partition is a PartitionFeed; positions follow partition-position.ts; commits follow subscription-commits.ts.
 */
import { SamsaError, type SubscribeResponse } from '@samsa/shared'
import { ConsumerRecord } from './consumer-record.js'
import type { StoredPosition } from '../storage/stores.js'
import { PositionCommitter } from './position-committer.js'
import { gapForOutOfRange, type Gap } from './gap.js'
import type { BatchHandler, ProcessOptions, SubscribeOptions } from './subscribe-options.js'
import { DeliveryQueue } from './delivery-queue.js'
import { atEnd, initialPosition, reducePosition, requestOffset, type SeekTarget } from './partition-position.js'
import { PartitionFeed, type FeedHost } from './partition-feed.js'
import type { Divergence } from './position-validation.js'
import type { SubscriptionDeps } from './subscription-deps.js'
import { ReadySignal } from './ready-signal.js'
import { declaredPartitions, resolveStarts } from './start-positions.js'
import { SubscriptionCommits } from './subscription-commits.js'
import { checkCommitUpTo, checkFunction, checkPartition, checkPartitionList, checkProcess, checkSeekTarget } from './subscribe-validation.js'

export type { Gap } from './gap.js'
export type { BatchHandler, ProcessOptions, StartFrom, SubscribeOptions } from './subscribe-options.js'
export type { SeekTarget } from './partition-position.js'
export type { SubscriptionDeps } from './subscription-deps.js'

export class Subscription implements AsyncIterable<ConsumerRecord> {
  readonly topic: string
  readonly #deps: SubscriptionDeps
  readonly #opts: SubscribeOptions
  readonly #windowBytes: number
  /** Every partition of the subscription, once its start is resolved (empty before). */
  readonly #partitions = new Map<number, PartitionFeed>()
  readonly #host: FeedHost
  /** Partitions whose stored epoch is newer than the broker's: the old position, reported as a truncation gap once the start resolves. */
  readonly #truncatedFrom = new Map<number, number>()
  /** Partitions sought to 'earliest'/'latest' on a stored subscription: commit the position once the broker resolves it. */
  readonly #commitOnResolve = new Set<number>()
  /** The partitions, as soon as they are known (declared in the options, or from metadata); null before. */
  #partitionIds: readonly number[] | null
  /** Seeks made before the partitions' states exist; applied when they are created. */
  readonly #pendingSeeks = new Map<number, SeekTarget>()
  /** `pause()` without partitions before they were known: every partition starts paused. */
  #pauseAll = false
  /** Records received and not yet consumed, each partition's in offset order. */
  readonly #queue = new DeliveryQueue()
  #mode: 'none' | 'iterator' | 'callback' | 'process' = 'none'
  readonly #consumerId: string
  readonly #commits: SubscriptionCommits | null
  /** The iterator's last record: committed (auto) when the iterator advances past it. */
  #handedOut: ConsumerRecord | null = null
  /** A callback or a `process` transaction holds records: `until: 'end'` does not finish under it. */
  #inHandler = false
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
  readonly #ready: ReadySignal
  #resolveClosed!: (v: void | Error) => void
  /** Settles when the subscription ends: with the error that ended it, or undefined after close(), an abort, or `until: 'end'` reaching the end. */
  readonly closed: Promise<void | Error> = new Promise((r) => (this.#resolveClosed = r))

  constructor(topic: string, opts: SubscribeOptions, deps: SubscriptionDeps) {
    this.topic = topic
    this.#opts = opts
    this.#deps = deps
    this.#windowBytes = opts.creditWindowBytes ?? 256 * 1024
    this.#consumerId = deps.consumerId ?? 'default'
    this.#partitionIds = declaredPartitions(opts)
    this.#ready = new ReadySignal(deps.logger)
    this.#host = {
      topic,
      deps,
      windowBytes: this.#windowBytes,
      queue: this.#queue,
      closed: () => this.#isClosed,
      record: (fields) => new ConsumerRecord(fields, this.#commits === null ? null : () => this.#commits!.commitRecord(fields)),
      confirmed: (feed, res, resolvedNow) => this.#confirmed(feed, res, resolvedNow),
      failed: (feed, error) => this.#partitionFailed(feed, error),
      diverged: (feed, d) => this.#diverged(feed, d),
      pushed: () => this.#notify(),
    }
    const stored = opts.from === 'stored'
    if (stored && deps.storage === undefined) throw new TypeError("from: 'stored' needs the client's storage (createClient({ storage }))")
    this.#commits = stored
      ? new SubscriptionCommits(new PositionCommitter(deps.storage!.offsets, this.#consumerId, topic), { auto: (opts.commit ?? 'auto') === 'auto', intervalMs: opts.autoCommitIntervalMs ?? 1_000 }, deps.clock, {
          positionOf: (partition) => this.#partitions.get(partition)?.pos.position ?? null,
          buffered: (partition) => this.#queue.count(partition),
          failed: (error) => this.#commitFailed(error),
        })
      : null
    if (opts.onRecord) this.onRecord(opts.onRecord)
    const signal = opts.signal
    if (signal !== undefined) {
      const onAbort = () => this.#abort(signal.reason)
      if (signal.aborted) {
        queueMicrotask(onAbort)
      } else {
        signal.addEventListener('abort', onAbort, { once: true })
        this.#unlisten.push(() => signal.removeEventListener('abort', onAbort))
      }
    }
    void this.#start()
  }

  /**
   * Resolves once the broker has confirmed the subscription of every partition and so its start position (a
   * 'latest' start is then a fixed offset: every record appended after this resolves is delivered). Rejects with
   * the error that ends the subscription first, with `signal.reason` on an abort, or with an AbortError on close().
   */
  get ready(): Promise<void> {
    return this.#ready.promise
  }

  /** Calls `listener` once when `ready` resolves (on a microtask if it already has); returns the unsubscribe function. */
  onReady(listener: () => void): () => void {
    checkFunction('sub.onReady', 'listener', listener)
    return this.#ready.on(listener)
  }

  /** Offset after the last record delivered for the partition (the next one to deliver), or null before the start is resolved. */
  position(partition: number): number | null {
    checkPartition('sub.position', 'partition', partition)
    return this.#partitions.get(partition)?.pos.position ?? null
  }

  /** The stored (or staged) position of the partition for this consumer id; null without `from: 'stored'` or before the first commit. */
  committed(partition: number): StoredPosition | null {
    checkPartition('sub.committed', 'partition', partition)
    return this.#commits?.committer.committed(partition) ?? null
  }

  /** Store writes issued by commits so far (auto, manual and resets; `process` transactions not included). */
  get storeWrites(): number {
    return this.#commits?.committer.writes ?? 0
  }

  /** Called for every gap (see `Gap`); returns the unsubscribe function. */
  onGap(listener: (gap: Gap) => void): () => void {
    checkFunction('sub.onGap', 'listener', listener)
    this.#gapListeners.add(listener)
    return () => void this.#gapListeners.delete(listener)
  }

  /**
   * Stops handing records of the partitions (default: all of them) to the application, keeping their positions:
   * what is buffered stays buffered and the broker stops pushing once the credit window is spent (no credit is
   * granted for a paused partition). Other partitions keep flowing. Idempotent.
   */
  pause(partitions?: readonly number[]): void {
    const ids = this.#controlled('sub.pause', partitions)
    if (ids === null) this.#pauseAll = true
    else this.#queue.pause(ids)
  }

  /** Resumes delivery of paused partitions (default: all of them). Idempotent. */
  resume(partitions?: readonly number[]): void {
    const ids = this.#controlled('sub.resume', partitions)
    if (ids === null) this.#pauseAll = false
    else this.#queue.resume(ids)
    this.#notify()
  }

  /**
   * Makes `to` the next offset delivered for the partition ('earliest'/'latest': the log start or end, resolved by
   * the broker): records of it already buffered are discarded and the partition re-subscribes from there. A record
   * in the application's hand at the time is not committed if it is at or after the new position. With
   * `from: 'stored'`: on auto-commit the new position is written at once (even backwards); on manual commit
   * nothing is written, and the partition's next commit may move the stored position backwards.
   * With `until: 'end'`, the partition's end does not move. Before `ready` this sets where the partition starts.
   */
  seek(partition: number, to: SeekTarget): void {
    checkPartition('sub.seek', 'partition', partition)
    checkSeekTarget('sub.seek', 'to', to)
    this.#controlled('sub.seek', [partition])
    if (this.#isClosed) return
    const p = this.#partitions.get(partition)
    if (p === undefined) return void this.#pendingSeeks.set(partition, to)
    this.#seekState(p, to)
    p.subscribe()
    this.#checkEnd()
  }

  /**
   * Commits positions now and resolves once they are stored. Without `upTo`: every partition's position after the
   * last record handed to the application. With `upTo`: that partition's position (`offset` = the next offset to
   * deliver, at most the delivered position). Never moves a stored position backwards (except after a seek). Needs `from: 'stored'`.
   */
  async commit(upTo?: { readonly partition: number; readonly offset: number }): Promise<void> {
    checkCommitUpTo(upTo)
    const committer = this.#commits?.committer
    if (committer === undefined) throw new TypeError("sub.commit() needs a subscription with from: 'stored'")
    if (upTo === undefined) {
      for (const p of this.#partitions.values()) if (p.pos.position !== null) committer.stage(p.partition, { offset: p.pos.position, leaderEpoch: p.epoch })
      return committer.flush()
    }
    const p = this.#partitions.get(upTo.partition)
    if (p === undefined) throw new RangeError(`partition ${upTo.partition} is not part of this subscription`)
    const position = p.pos.position
    if (position === null || upTo.offset > position) throw new RangeError(`cannot commit ${this.topic}/${upTo.partition} at ${upTo.offset}: only offsets below ${position ?? 0} were delivered`)
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
   * Needs `from: 'stored'` and IndexedDB storage (memory storage has no transactions: it rejects with a TypeError).
   */
  process(handler: BatchHandler, opts: ProcessOptions): Promise<void> {
    try {
      checkProcess(handler, opts)
      if (this.#deps.storage?.atomic === undefined) {
        throw new TypeError('sub.process() needs IndexedDB storage: memory storage cannot commit the app’s writes and the positions in one transaction (createClient({ storage: indexedDbStorage(...) }))')
      }
      if (this.#opts.from !== 'stored') throw new TypeError("sub.process() needs from: 'stored' (the positions it commits are where a reload resumes)")
      if (this.#mode !== 'none') throw new TypeError(`this subscription already delivers by ${this.#mode}; process() must be its only consumer`)
    } catch (error) {
      return Promise.reject(error)
    }
    this.#mode = 'process'
    this.#process = { handler, stores: [...opts.stores] }
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
    await this.#commits?.committer.flush()
  }

  onRecord(callback: (record: ConsumerRecord) => void | Promise<void>): this {
    checkFunction('sub.onRecord', 'callback', callback)
    if (this.#mode === 'iterator') throw new TypeError('this subscription is being iterated; it cannot also take a callback')
    if (this.#mode === 'process') throw new TypeError('this subscription is processed in batches; it cannot also take a callback')
    this.#mode = 'callback'
    this.#callback = callback
    this.#notify()
    return this
  }

  /** Called with the error that ends the subscription (e.g. OFFSET_OUT_OF_RANGE) and with errors thrown by the callback. */
  onError(listener: (error: Error) => void): () => void {
    checkFunction('sub.onError', 'listener', listener)
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

  #abort(reason: unknown): void {
    if (this.#isClosed) return
    this.#ready.reject(reason)
    this.close()
  }

  /** The partitions a control call names (all when omitted); null for "all" while they are not known yet. Throws for a bad list. */
  #controlled(where: string, partitions: readonly number[] | undefined): readonly number[] | null {
    if (partitions !== undefined) checkPartitionList(where, 'partitions', partitions)
    const known = this.#partitionIds
    if (known === null) {
      if (partitions === undefined) return null
      throw new TypeError(`${where}: this subscription's partitions come from the topic's metadata and are not known yet; await sub.ready first (or subscribe with { partitions })`)
    }
    if (partitions === undefined) return known
    const outside = partitions.filter((p) => !known.includes(p))
    if (outside.length > 0) throw new RangeError(`${where}: partition ${outside.join(', ')} is not part of this subscription of ${this.topic} (partitions ${known.join(', ')})`)
    return partitions
  }

  #seekState(p: PartitionFeed, to: SeekTarget): void {
    p.pos = reducePosition(p.pos, { kind: 'seek', to })
    p.epoch = -1 // the record before the new position is not one this partition delivered
    this.#truncatedFrom.delete(p.partition)
    if (typeof to === 'number') this.#commits?.sought(p.partition, to)
    else if (this.#commits !== null) this.#commitOnResolve.add(p.partition)
  }

  async #start(): Promise<void> {
    try {
      const starts = await resolveStarts(this.topic, this.#opts, { metadata: this.#deps.metadata, logger: this.#deps.logger, storage: this.#deps.storage, consumerId: this.#consumerId })
      if (this.#isClosed) return
      this.#partitionIds = starts.map((s) => s.partition)
      if (this.#pauseAll) this.#queue.pause(this.#partitionIds)
      for (const s of starts) {
        const epoch = s.truncatedFrom === undefined ? (s.stored?.leaderEpoch ?? -1) : -1
        const p = new PartitionFeed(s.partition, initialPosition(s.start, this.#opts.until === 'end'), epoch, this.#host)
        if (s.truncatedFrom !== undefined) this.#truncatedFrom.set(s.partition, s.truncatedFrom)
        this.#partitions.set(s.partition, p)
        if (s.stored !== null) this.#commits!.committer.markWritten(s.partition, s.stored)
        const seek = this.#pendingSeeks.get(s.partition)
        if (seek !== undefined) this.#seekState(p, seek)
      }
      this.#pendingSeeks.clear()
      for (const p of this.#partitions.values()) p.subscribe()
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)))
    }
  }

  /** The broker confirmed a subscription of `p` (the first time, `resolvedNow`, it fixed the start). */
  #confirmed(p: PartitionFeed, res: SubscribeResponse, resolvedNow: boolean): void {
    if (resolvedNow) this.#startResolved(p, res.offset)
    if ([...this.#partitions.values()].every((q) => q.pos.confirmed)) this.#ready.resolve()
    this.#checkEnd()
  }

  #partitionFailed(p: PartitionFeed, e: SamsaError): void {
    if (e.errorName === 'OFFSET_OUT_OF_RANGE' && this.#resetOutOfRange(p, e)) return
    this.#fail(e)
  }

  /** The broker resolved the partition's start for the first time (or after a symbolic seek). */
  #startResolved(p: PartitionFeed, offset: number): void {
    const old = this.#truncatedFrom.get(p.partition)
    if (old !== undefined) {
      this.#truncatedFrom.delete(p.partition)
      this.#emitGap({ topic: this.topic, partition: p.partition, from: Math.min(offset, old), to: old, reason: 'truncation' })
      this.#commits?.truncatedTo(p.partition, { offset, leaderEpoch: -1 })
    }
    if (this.#commitOnResolve.delete(p.partition)) {
      this.#commits?.sought(p.partition, offset)
    }
  }

  /**
   * A position the broker cannot serve: below logStartOffset (retention) or above logEndOffset (truncation). With
   * `from: 'stored'` or a `reset` policy, reports a gap and re-subscribes where delivery continues; returns false
   * when the subscription should fail instead.
   */
  #resetOutOfRange(p: PartitionFeed, e: SamsaError): boolean {
    if (this.#opts.from !== 'stored' && this.#opts.reset === undefined) return false
    const { logStartOffset, logEndOffset } = e.details
    if (logStartOffset === undefined || logEndOffset === undefined) return false
    const decided = gapForOutOfRange(this.topic, p.partition, requestOffset(p.pos), { logStartOffset, logEndOffset }, this.#opts.reset ?? 'earliest')
    if (decided === null) return false
    const { resume, gap } = decided
    this.#deps.logger.warn({ ...gap, logStartOffset, logEndOffset }, 'position out of range: reporting a gap and continuing')
    p.pos = reducePosition(p.pos, { kind: 'reset', offset: resume })
    p.epoch = -1 // the record before `resume` was never delivered here
    if (gap.reason === 'truncation') this.#commits?.truncatedTo(p.partition, { offset: resume, leaderEpoch: -1 })
    else this.#commits?.skippedTo(p.partition, { offset: resume, leaderEpoch: -1 })
    this.#emitGap(gap)
    p.subscribe()
    this.#checkEnd()
    return true
  }

  /**
   * Validation found the leader's log for the position's epoch ending below the position (KIP-320): with
   * `from: 'stored'` or a `reset` policy, reports [end, position) as a truncation gap, moves the position (and the
   * stored one) back to the end and re-subscribes there; otherwise fails with OFFSET_OUT_OF_RANGE, as an out-of-range
   * position would.
   */
  #diverged(p: PartitionFeed, d: Divergence): void {
    const { gap } = d
    if (this.#opts.from !== 'stored' && this.#opts.reset === undefined) {
      const message = `${this.topic}/${p.partition}: leader epoch ${d.leaderEpoch} ends at offset ${d.resume} on the leader, below the position ${gap.to}: the log was truncated`
      return this.#fail(new SamsaError('OFFSET_OUT_OF_RANGE', message, { divergentOffset: d.resume, leaderEpoch: d.leaderEpoch }))
    }
    this.#deps.logger.warn({ ...gap, leaderEpoch: d.leaderEpoch }, 'position above the end of its leader epoch: reporting a truncation gap and continuing there')
    p.pos = reducePosition(p.pos, { kind: 'reset', offset: d.resume })
    p.epoch = d.leaderEpoch
    this.#commits?.truncatedTo(p.partition, { offset: d.resume, leaderEpoch: d.leaderEpoch })
    this.#emitGap(gap)
    p.subscribe()
    this.#checkEnd()
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

  #take(): ConsumerRecord {
    const { record, creditBytes } = this.#queue.shift()!
    this.#partitions.get(record.partition)!.took(record, creditBytes)
    return record
  }

  /**
   * `until: 'end'`: once every partition is confirmed and at its end, and no record is in the application's hand,
   * the subscription closes itself.
   */
  #checkEnd(): void {
    if (this.#opts.until !== 'end' || this.#isClosed || this.#partitions.size === 0) return
    if (this.#handedOut !== null || this.#inHandler || this.#queue.length > 0) return
    for (const p of this.#partitions.values()) if (!p.pos.confirmed || !atEnd(p.pos)) return
    this.close()
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
      while (this.#queue.peek() !== undefined && !this.#isClosed) {
        const push = this.#queue.peek()!.push
        const batch: ConsumerRecord[] = []
        while (this.#queue.peek()?.push === push) batch.push(this.#take())
        const last = batch[batch.length - 1]!
        const position: StoredPosition = { offset: last.offset + 1, leaderEpoch: last.leaderEpoch }
        this.#inHandler = true
        try {
          await atomic(stores, async (tx) => {
            await handler(batch, tx)
            tx.putPosition(this.#consumerId, this.topic, last.partition, position)
          })
        } catch (error) {
          this.#fail(error instanceof Error ? error : new Error(String(error)))
          return
        } finally {
          this.#inHandler = false
        }
        this.#commits!.committer.markWritten(last.partition, position)
        this.#checkEnd()
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
      while (this.#queue.peek() !== undefined && !this.#isClosed && this.#callback) {
        const record = this.#take()
        this.#inHandler = true
        try {
          await this.#callback(record)
          this.#commits?.processed(record)
        } catch (error) {
          this.#emitError(error instanceof Error ? error : new Error(String(error)))
        } finally {
          this.#inHandler = false
        }
        this.#checkEnd()
      }
    } finally {
      this.#draining = false
    }
  }

  async #next(): Promise<IteratorResult<ConsumerRecord>> {
    // Asking for the next record means the application is done with the previous one.
    if (this.#handedOut !== null) this.#commits?.processed(this.#handedOut)
    this.#handedOut = null
    this.#checkEnd()
    for (;;) {
      if (this.#queue.peek() !== undefined && !this.#isClosed) return { done: false, value: (this.#handedOut = this.#take()) }
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
    this.#ready.reject(reason ?? Object.assign(new Error(`the subscription to ${this.topic} was closed before the broker confirmed it`), { name: 'AbortError' }))
    for (const p of this.#partitions.values()) p.stop()
    for (const off of this.#unlisten.splice(0)) off()
    this.#commits?.stop()
    if (reason === undefined) this.#settleProcessing(null)
    const flushed = this.#commits?.committer.flush().catch((e: unknown) => this.#commitFailed(e))
    if (flushed === undefined) this.#resolveClosed(reason)
    else void flushed.then(() => this.#resolveClosed(reason))
    const wake = this.#wake
    this.#wake = null
    wake?.()
  }
}
