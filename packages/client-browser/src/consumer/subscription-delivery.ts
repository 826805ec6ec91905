/**
 * @module How a subscription hands its buffered records to the application: by one of three modes, chosen once —
 * an async iterator, a callback, or `process` batches in IndexedDB transactions.
 *
 * Invariants: records leave the DeliveryQueue one at a time, each partition's in offset order, and only while the
 * subscription is open; one callback or one `process` transaction runs at a time (`inHandler` while it does, so
 * `until: 'end'` does not finish under it). A record is marked processed (auto-commit) only once the application is
 * done with it: the callback returned, or the iterator was asked for the next one. A `process` batch is the records
 * of one push, and its position is stored in the same transaction as the application's writes, or not at all.
 */
import type { StoredPosition } from '../storage/stores.js'
import type { ConsumerRecord } from './consumer-record.js'
import type { DeliveryQueue } from './delivery-queue.js'
import type { BatchHandler, ProcessOptions } from './subscribe-options.js'
import { checkProcess } from './subscribe-validation.js'
import type { SubscriptionCommits } from './subscription-commits.js'
import type { SubscriptionDeps } from './subscription-deps.js'

export type DeliveryMode = 'none' | 'iterator' | 'callback' | 'process'

export interface DeliveryHost {
  readonly topic: string
  readonly consumerId: string
  readonly deps: SubscriptionDeps
  readonly queue: DeliveryQueue
  /** Null without `from: 'stored'`. */
  readonly commits: SubscriptionCommits | null
  closed(): boolean
  /** The error that ended the subscription, for the iterator to throw once the buffer is empty; null when none. */
  pendingError(): Error | null
  /** The iterator threw the pending error: from here on the subscription is closed. */
  errorThrown(): void
  /** The application took `record`; `creditBytes` of pushes are released. */
  took(record: ConsumerRecord, creditBytes: number): void
  /** A record left the application's hand or a handler finished: `until: 'end'` may be done. */
  checkEnd(): void
  fail(error: Error): void
  emitError(error: Error): void
}

export class SubscriptionDelivery {
  readonly #host: DeliveryHost
  #mode: DeliveryMode = 'none'
  /** The iterator's last record: committed (auto) when the iterator advances past it. */
  #handedOut: ConsumerRecord | null = null
  /** A callback or a `process` transaction holds records: `until: 'end'` does not finish under it. */
  #inHandler = false
  #callback: ((r: ConsumerRecord) => void | Promise<void>) | null = null
  #process: { handler: BatchHandler; stores: readonly string[] } | null = null
  #processing: Promise<void> | null = null
  #resolveProcessing: (() => void) | null = null
  #rejectProcessing: ((e: Error) => void) | null = null
  #draining = false
  /** Waiting for the callback or `process` loop to end (whenIdle). */
  readonly #idleWaiters: (() => void)[] = []
  #wake: (() => void) | null = null

  constructor(host: DeliveryHost) {
    this.#host = host
  }

  get mode(): DeliveryMode {
    return this.#mode
  }

  /** No record is in the application's hand (iterator) and no handler runs. */
  get idle(): boolean {
    return this.#handedOut === null && !this.#inHandler
  }

  /** The promise returned by `process()` (null before it is called). */
  get processing(): Promise<void> | null {
    return this.#processing
  }

  /** Resolves once no callback or `process` transaction runs (at once for an iterator: its record in hand is the caller's to track). */
  whenIdle(): Promise<void> {
    if (!this.#draining) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  #drained(): void {
    this.#draining = false
    for (const w of this.#idleWaiters.splice(0)) w()
  }

  /** See `Subscription.process`. */
  process(handler: BatchHandler, opts: ProcessOptions): Promise<void> {
    try {
      checkProcess(handler, opts)
      if (this.#host.deps.storage?.atomic === undefined) {
        throw new TypeError('sub.process() needs IndexedDB storage: memory storage cannot commit the app’s writes and the positions in one transaction (createClient({ storage: indexedDbStorage(...) }))')
      }
      if (this.#host.commits === null) throw new TypeError("sub.process() needs from: 'stored' (the positions it commits are where a reload resumes)")
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
    if (this.#host.closed()) this.settleProcessing(this.#host.pendingError())
    this.notify()
    return this.#processing
  }

  onRecord(callback: (record: ConsumerRecord) => void | Promise<void>): void {
    if (this.#mode === 'iterator') throw new TypeError('this subscription is being iterated; it cannot also take a callback')
    if (this.#mode === 'process') throw new TypeError('this subscription is processed in batches; it cannot also take a callback')
    this.#mode = 'callback'
    this.#callback = callback
    this.notify()
  }

  iterator(close: () => void): AsyncIterator<ConsumerRecord> {
    if (this.#mode === 'callback') throw new TypeError('this subscription has a callback; it cannot also be iterated')
    if (this.#mode === 'process') throw new TypeError('this subscription is processed in batches; it cannot also be iterated')
    this.#mode = 'iterator'
    return { next: () => this.#next(), return: async () => (close(), { done: true, value: undefined }) }
  }

  /** Records were queued (or delivery may go on): wakes the iterator, or drains to the callback or `process`. */
  notify(): void {
    this.wake()
    if (this.#mode === 'callback') void this.#drain()
    if (this.#mode === 'process') void this.#drainBatches()
  }

  /** Wakes an iterator waiting for a record (it sees the subscription closed, an error, or a record). */
  wake(): void {
    const wake = this.#wake
    this.#wake = null
    wake?.()
  }

  /** Settles the `process()` promise: resolved (the subscription closed) or rejected with the error that ended it. */
  settleProcessing(error: Error | null): void {
    if (error === null) this.#resolveProcessing?.()
    else this.#rejectProcessing?.(error)
    this.#resolveProcessing = this.#rejectProcessing = null
  }

  #take(): ConsumerRecord {
    const { record, creditBytes } = this.#host.queue.shift()!
    this.#host.took(record, creditBytes)
    return record
  }

  async #drainBatches(): Promise<void> {
    if (this.#draining) return
    this.#draining = true
    const host = this.#host
    const { handler, stores } = this.#process!
    const atomic = host.deps.storage!.atomic!
    try {
      while (host.queue.peek() !== undefined && !host.closed()) {
        const push = host.queue.peek()!.push
        const batch: ConsumerRecord[] = []
        while (host.queue.peek()?.push === push) batch.push(this.#take())
        const last = batch[batch.length - 1]!
        const position: StoredPosition = { offset: last.offset + 1, leaderEpoch: last.leaderEpoch }
        this.#inHandler = true
        try {
          await atomic(stores, async (tx) => {
            await handler(batch, tx)
            tx.putPosition(host.consumerId, host.topic, last.partition, position)
          })
        } catch (error) {
          host.fail(error instanceof Error ? error : new Error(String(error)))
          return
        } finally {
          this.#inHandler = false
        }
        host.commits!.committer.markWritten(last.partition, position)
        host.checkEnd()
      }
    } finally {
      this.#drained()
    }
  }

  async #drain(): Promise<void> {
    if (this.#draining) return
    this.#draining = true
    const host = this.#host
    try {
      while (host.queue.peek() !== undefined && !host.closed() && this.#callback) {
        const record = this.#take()
        this.#inHandler = true
        try {
          await this.#callback(record)
          host.commits?.processed(record)
        } catch (error) {
          host.emitError(error instanceof Error ? error : new Error(String(error)))
        } finally {
          this.#inHandler = false
        }
        host.checkEnd()
      }
    } finally {
      this.#drained()
    }
  }

  async #next(): Promise<IteratorResult<ConsumerRecord>> {
    const host = this.#host
    // Asking for the next record means the application is done with the previous one.
    if (this.#handedOut !== null) host.commits?.processed(this.#handedOut)
    this.#handedOut = null
    host.checkEnd()
    for (;;) {
      if (host.queue.peek() !== undefined && !host.closed()) return { done: false, value: (this.#handedOut = this.#take()) }
      const error = host.pendingError()
      if (error !== null) {
        host.errorThrown()
        throw error
      }
      if (host.closed()) return { done: true, value: undefined }
      await new Promise<void>((resolve) => (this.#wake = resolve))
    }
  }
}
