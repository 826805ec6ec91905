/**
 * @module The partitions a member owns, as one delivery: one `Subscription` per owned partition (its feed, credit,
 * gaps, leader-epoch checks and local positions under the group's consumer id), merged for the application into one
 * iterator, or run as `process()` transactions per partition.
 *
 * Invariants: a record is handed to the application only while its partition is owned and delivery is not paused; a
 * partition's position (what a commit sends) is the position after the last record the application is done with
 * (the iterator asked for the next one, or its `process()` transaction committed); `stop()` resolves only once no
 * record of the partition is in the application's hand, so `revoked` follows the last delivered record.
 */
import type { ConsumerRecord } from '../consumer/consumer-record.js'
import type { BatchHandler, ProcessOptions } from '../consumer/subscribe-options.js'
import { Subscription, type SubscriptionDeps } from '../consumer/subscription.js'
import type { StoredPosition } from '../storage/stores.js'
import { sortPartitions, tpKey, type TopicPartition } from './member-state.js'

export type PauseReason = 'hidden' | 'stale' | 'leaving'

/** The reason a queued record is taken back from a partition's subscription (it was never handed out). */
class Withdrawn extends Error {}

interface Pending {
  readonly key: string
  readonly record: ConsumerRecord
  readonly done: () => void
  readonly withdraw: () => void
}

interface Owned {
  readonly tp: TopicPartition
  readonly sub: Subscription
  /** stop() was called: remove() may forget it. */
  stopped: boolean
}

export interface OwnedHost {
  readonly deps: SubscriptionDeps
  readonly autoCommitIntervalMs: number
  readonly creditWindowBytes?: number
  /** A partition's subscription reported an error it goes on after (a local position write failed). */
  error(tp: TopicPartition, error: Error): void
  /** A partition's subscription ended with an error (a `process()` handler threw, an unrecoverable position). */
  failed(tp: TopicPartition, error: Error): void
}

export class OwnedPartitions {
  readonly #host: OwnedHost
  readonly #owned = new Map<string, Owned>()
  /** Records received from the partitions' subscriptions, in arrival order, not yet handed out. */
  #queue: Pending[] = []
  /** The iterator's record in the application's hand. */
  #inHand: Pending | null = null
  readonly #released: (() => void)[] = []
  #mode: 'none' | 'iterator' | 'process' = 'none'
  #process: { handler: BatchHandler; opts: ProcessOptions } | null = null
  /** Why delivery is paused ('hidden' page, 'stale' member, 'leaving' page); it flows while this is empty. */
  readonly #pausedFor = new Set<PauseReason>()
  #closed = false
  #wake: (() => void) | null = null

  constructor(host: OwnedHost) {
    this.#host = host
  }

  /** Every partition with a subscription (stopped ones too, until removed). */
  get partitions(): TopicPartition[] {
    return [...this.#owned.values()].map((o) => o.tp)
  }

  /** The partitions delivering now (started, not stopped), sorted. */
  get delivering(): TopicPartition[] {
    return sortPartitions([...this.#owned.values()].filter((o) => !o.stopped).map((o) => o.tp))
  }

  /**
   * The position after the last record the application is done with (null before the start is known); with
   * `handed`, after the record in its hand too (a manual commit from inside the loop commits the record it is on).
   */
  position(tp: TopicPartition, handed = false): StoredPosition | null {
    const key = tpKey(tp)
    const done = this.#owned.get(key)?.sub.committed(tp.partition) ?? null
    const held = handed && this.#inHand?.key === key ? this.#inHand.record : null
    if (held === null || (done !== null && done.offset > held.offset)) return done
    return { offset: held.offset + 1, leaderEpoch: held.leaderEpoch }
  }

  /** Starts delivering `tp` from its stored position (else `reset`). */
  start(tp: TopicPartition, reset: 'earliest' | 'latest'): void {
    const key = tpKey(tp)
    const { deps, autoCommitIntervalMs, creditWindowBytes } = this.#host
    const opts = { partitions: [tp.partition], from: 'stored', reset, commit: 'auto', autoCommitIntervalMs, ...(creditWindowBytes !== undefined && { creditWindowBytes }) } as const
    const sub = new Subscription(tp.topic, opts, deps)
    this.#owned.set(key, { tp, sub, stopped: false })
    sub.onError((error) => {
      if (!(error instanceof Withdrawn)) this.#host.error(tp, error)
    })
    void sub.closed.then((error) => {
      if (error !== undefined && this.#owned.get(key)?.sub === sub) this.#host.failed(tp, error)
    })
    if (this.#pausedFor.size > 0) sub.pause()
    this.#attach(key, sub)
  }

  /** Hands the partition's records to the delivery mode chosen (none yet: they wait in its subscription). */
  #attach(key: string, sub: Subscription): void {
    if (this.#mode === 'process') void sub.process(this.#process!.handler, this.#process!.opts).catch(() => {})
    else if (this.#mode === 'iterator') sub.onRecord((record) => this.#arrived(key, record))
  }

  /**
   * Stops delivering `tp`: queued records are withdrawn; with `waitInHand` (a revocation) it then waits for the
   * application to be done with the record in its hand, else (close) that record is withdrawn too (not committed, as
   * when a plain subscription's loop is left). Waits for a running `process()` transaction in both cases. The
   * partition's position stays readable until remove().
   */
  async stop(tp: TopicPartition, waitInHand: boolean): Promise<void> {
    const key = tpKey(tp)
    const owned = this.#owned.get(key)
    if (owned === undefined) return
    owned.stopped = true
    owned.sub.close()
    this.#withdraw(key)
    if (!waitInHand && this.#inHand?.key === key) this.#release(false)
    while (this.#inHand?.key === key) await new Promise<void>((resolve) => this.#released.push(resolve))
    await owned.sub.idle()
    await owned.sub.flush().catch(() => {})
  }

  /** Forgets a stopped partition (after its position was committed); a newer start of it is kept. */
  remove(tp: TopicPartition): void {
    if (this.#owned.get(tpKey(tp))?.stopped === true) this.#owned.delete(tpKey(tp))
  }

  /** Drops `tp` at once (fenced): nothing waits for the application. */
  drop(tp: TopicPartition): void {
    const key = tpKey(tp)
    const owned = this.#owned.get(key)
    if (owned === undefined) return
    this.#owned.delete(key)
    owned.sub.close()
    this.#withdraw(key)
  }

  /** Pauses delivery for `reason` (records stay buffered, positions kept). */
  pause(reason: PauseReason): void {
    this.#pausedFor.add(reason)
    for (const o of this.#owned.values()) o.sub.pause()
  }

  /** Lifts `reason`; delivery flows again once no reason is left. */
  resume(reason: PauseReason): void {
    this.#pausedFor.delete(reason)
    if (this.#pausedFor.size > 0) return
    for (const o of this.#owned.values()) o.sub.resume()
    this.#wakeUp()
  }

  /** Runs `handler` per batch of each owned partition in a storage transaction with its position (see Subscription.process). */
  process(handler: BatchHandler, opts: ProcessOptions): void {
    if (this.#mode !== 'none') throw new TypeError(`this group subscription already delivers by ${this.#mode}; process() must be its only consumer`)
    if (this.#host.deps.storage?.atomic === undefined) {
      throw new TypeError('sub.process() needs IndexedDB storage: memory storage cannot commit the app’s writes and the positions in one transaction (createClient({ storage: indexedDbStorage(...) }))')
    }
    this.#mode = 'process'
    this.#process = { handler, opts }
    for (const [key, o] of this.#owned) if (!o.stopped) this.#attach(key, o.sub)
  }

  iterator(close: () => void): AsyncIterator<ConsumerRecord> {
    if (this.#mode === 'process') throw new TypeError('this group subscription is processed in batches; it cannot also be iterated')
    if (this.#mode === 'iterator') throw new TypeError('this group subscription is iterated already; one iterator at a time')
    this.#mode = 'iterator'
    for (const [key, o] of this.#owned) if (!o.stopped) this.#attach(key, o.sub)
    // Leaving the loop leaves the record in hand uncommitted (it may not be processed), as a plain subscription does.
    return { next: () => this.#next(), return: async () => (this.#release(false), close(), { done: true, value: undefined }) }
  }

  /** Ends delivery: the iterator finishes after the record in hand. */
  close(): void {
    this.#closed = true
    this.#wakeUp()
  }

  #arrived(key: string, record: ConsumerRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ key, record, done: resolve, withdraw: () => reject(new Withdrawn('withdrawn')) })
      this.#wakeUp()
    })
  }

  #withdraw(key: string): void {
    const keep: Pending[] = []
    for (const p of this.#queue) if (p.key === key) p.withdraw()
    else keep.push(p)
    this.#queue = keep
  }

  /** The record in hand leaves it: processed (the iterator was asked for the next one) or withdrawn. */
  #release(processed: boolean): void {
    const held = this.#inHand
    this.#inHand = null
    if (processed) held?.done()
    else held?.withdraw()
    for (const r of this.#released.splice(0)) r()
  }

  async #next(): Promise<IteratorResult<ConsumerRecord>> {
    this.#release(true)
    for (;;) {
      if (this.#closed) return { done: true, value: undefined }
      const next = this.#pausedFor.size > 0 ? undefined : this.#queue.shift()
      if (next !== undefined) {
        this.#inHand = next
        return { done: false, value: next.record }
      }
      await new Promise<void>((resolve) => (this.#wake = resolve))
    }
  }

  #wakeUp(): void {
    const wake = this.#wake
    this.#wake = null
    wake?.()
  }
}
