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
 * had then; `pause`/`resume`/`seek` steer delivery per partition; a `signal` closes it.
 *
 * This file is the handle and its lifecycle: it ends once (close, abort, failure, or `until: 'end'` done), and after
 * it ended no record is delivered and pending commits are still written before `closed` settles. The parts:
 * subscription-partitions.ts (the partitions, their PartitionFeed with the broker, the position reducer of
 * partition-position.ts and its effects), subscription-delivery.ts (handing records to the application),
 * subscription-commits.ts (what is stored when).
 */
import type { StoredPosition } from '../storage/stores.js'
import type { ConsumerRecord } from './consumer-record.js'
import type { Gap } from './gap.js'
import { DeliveryQueue } from './delivery-queue.js'
import type { SeekTarget } from './partition-position.js'
import { PositionCommitter } from './position-committer.js'
import { ReadySignal } from './ready-signal.js'
import type { BatchHandler, ProcessOptions, SubscribeOptions } from './subscribe-options.js'
import { checkCommitUpTo, checkFunction, checkPartition, checkSeekTarget } from './subscribe-validation.js'
import { SubscriptionCommits } from './subscription-commits.js'
import type { SubscriptionDeps } from './subscription-deps.js'
import { SubscriptionDelivery } from './subscription-delivery.js'
import { SubscriptionPartitions } from './subscription-partitions.js'

export type { Gap } from './gap.js'
export type { BatchHandler, ProcessOptions, StartFrom, SubscribeOptions } from './subscribe-options.js'
export type { SeekTarget } from './partition-position.js'
export type { SubscriptionDeps } from './subscription-deps.js'

export class Subscription implements AsyncIterable<ConsumerRecord> {
  readonly topic: string
  readonly #deps: SubscriptionDeps
  readonly #opts: SubscribeOptions
  /** Records received and not yet consumed, each partition's in offset order. */
  readonly #queue = new DeliveryQueue()
  readonly #commits: SubscriptionCommits | null
  readonly #partitions: SubscriptionPartitions
  readonly #delivery: SubscriptionDelivery
  /** The error that ended the subscription, until an iterator has thrown it. */
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
    const consumerId = deps.consumerId ?? 'default'
    this.#ready = new ReadySignal(deps.logger)
    const stored = opts.from === 'stored'
    if (stored && deps.storage === undefined) throw new TypeError("from: 'stored' needs the client's storage (createClient({ storage }))")
    this.#commits = stored
      ? new SubscriptionCommits(new PositionCommitter(deps.storage!.offsets, consumerId, topic), { auto: (opts.commit ?? 'auto') === 'auto', intervalMs: opts.autoCommitIntervalMs ?? 1_000 }, deps.clock, {
          positionOf: (partition) => this.#partitions.get(partition)?.pos.position ?? null,
          buffered: (partition) => this.#queue.count(partition),
          failed: (error) => this.#commitFailed(error),
        })
      : null
    const common = { topic, deps, consumerId, queue: this.#queue, commits: this.#commits, closed: () => this.#isClosed, checkEnd: () => this.#checkEnd(), fail: (e: Error) => this.#fail(e) }
    this.#partitions = new SubscriptionPartitions({
      ...common,
      opts,
      windowBytes: opts.creditWindowBytes ?? 256 * 1024,
      ready: this.#ready,
      pushed: () => this.#delivery.notify(),
    })
    this.#delivery = new SubscriptionDelivery({
      ...common,
      pendingError: () => this.#error,
      errorThrown: () => {
        this.#error = null
        this.#isClosed = true
      },
      took: (record, creditBytes) => this.#partitions.get(record.partition)!.took(record, creditBytes),
      emitError: (e) => this.#emitError(e),
    })
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
    void this.#partitions.start()
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
    return this.#partitions.onGap(listener)
  }

  /**
   * Stops handing records of the partitions (default: all of them) to the application, keeping their positions:
   * what is buffered stays buffered and the broker stops pushing once the credit window is spent (no credit is
   * granted for a paused partition). Other partitions keep flowing. Idempotent.
   */
  pause(partitions?: readonly number[]): void {
    this.#partitions.pause('sub.pause', partitions)
  }

  /** Resumes delivery of paused partitions (default: all of them). Idempotent. */
  resume(partitions?: readonly number[]): void {
    this.#partitions.resume('sub.resume', partitions)
    this.#delivery.notify()
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
    this.#partitions.seek('sub.seek', partition, to)
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
      for (const p of this.#partitions.feeds()) if (p.pos.position !== null) committer.stage(p.partition, { offset: p.pos.position, leaderEpoch: p.pos.positionEpoch })
      return committer.flush()
    }
    const p = this.#partitions.get(upTo.partition)
    if (p === undefined) throw new RangeError(`partition ${upTo.partition} is not part of this subscription`)
    const position = p.pos.position
    if (position === null || upTo.offset > position) throw new RangeError(`cannot commit ${this.topic}/${upTo.partition} at ${upTo.offset}: only offsets below ${position ?? 0} were delivered`)
    committer.stage(p.partition, { offset: upTo.offset, leaderEpoch: p.pos.positionEpoch })
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
    return this.#delivery.process(handler, opts)
  }

  /** The promise returned by `process()` (null before it is called). */
  get processing(): Promise<void> | null {
    return this.#delivery.processing
  }

  /**
   * Resolves once no `onRecord` callback and no `process` transaction runs; after close(), once the last one has
   * finished (its position staged or written). At once for an iterator (the record in hand is the caller's to track).
   */
  idle(): Promise<void> {
    return this.#delivery.whenIdle()
  }

  /** Flushes pending commits (auto and manual) and resolves once they are stored. */
  async flush(): Promise<void> {
    await this.#commits?.committer.flush()
  }

  onRecord(callback: (record: ConsumerRecord) => void | Promise<void>): this {
    checkFunction('sub.onRecord', 'callback', callback)
    this.#delivery.onRecord(callback)
    return this
  }

  /** Called with the error that ends the subscription (e.g. OFFSET_OUT_OF_RANGE) and with errors thrown by the callback. */
  onError(listener: (error: Error) => void): () => void {
    checkFunction('sub.onError', 'listener', listener)
    this.#errorListeners.add(listener)
    return () => void this.#errorListeners.delete(listener)
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    return this.#delivery.iterator(() => this.close())
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

  #commitFailed(error: unknown): void {
    this.#deps.logger.warn({ topic: this.topic, error }, 'storing a position failed; it stays staged for the next commit')
    this.#emitError(error instanceof Error ? error : new Error(String(error)))
  }

  /**
   * `until: 'end'`: once every partition is confirmed and at its end, and no record is in the application's hand,
   * the subscription closes itself.
   */
  #checkEnd(): void {
    if (this.#opts.until !== 'end' || this.#isClosed || this.#partitions.size === 0) return
    if (!this.#delivery.idle || this.#queue.length > 0) return
    if (this.#partitions.allAtEnd()) this.close()
  }

  /** Ends the subscription with an error; an iterator still delivers what is buffered, then throws it. */
  #fail(error: Error): void {
    if (this.#isClosed || this.#error !== null) return
    this.#deps.logger.warn({ topic: this.topic, error }, 'subscription failed')
    this.#error = error
    this.#emitError(error)
    if (this.#delivery.mode !== 'iterator') this.#isClosed = true
    this.#end(error)
    this.#delivery.settleProcessing(error)
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
    this.#partitions.stop()
    for (const off of this.#unlisten.splice(0)) off()
    this.#commits?.stop()
    if (reason === undefined) this.#delivery.settleProcessing(null)
    const flushed = this.#commits?.committer.flush().catch((e: unknown) => this.#commitFailed(e))
    if (flushed === undefined) this.#resolveClosed(reason)
    else void flushed.then(() => this.#resolveClosed(reason))
    this.#delivery.wake()
  }
}
