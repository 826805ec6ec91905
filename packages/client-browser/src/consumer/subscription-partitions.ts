/**
 * @module The partitions of one subscription: which they are (declared, or from metadata once the starts resolve),
 * one PartitionFeed each once its start is known, the steering the application does per partition (pause, resume,
 * seek) and the effects of each partition's position reducer (gaps, stored positions, re-subscribes, failures).
 *
 * Invariants: a partition's feed exists only once its start is resolved, and is created at most once; a seek or a
 * `pause()` of every partition made before that is applied when the feeds are created, before their first
 * subscribe. Positions change only through a feed's `step` (partition-position.ts), and every effect it returns is
 * performed here, in order. `ready` resolves once every partition is confirmed.
 */
import type { SamsaError } from '@samsa/shared'
import { ConsumerRecord } from './consumer-record.js'
import type { DeliveryQueue } from './delivery-queue.js'
import type { Gap } from './gap.js'
import { PartitionFeed, type FeedHost } from './partition-feed.js'
import { atEnd, initialPosition, type PositionEffect, type PositionRules, type SeekTarget } from './partition-position.js'
import type { ReadySignal } from './ready-signal.js'
import { declaredPartitions, resolveStarts } from './start-positions.js'
import type { SubscribeOptions } from './subscribe-options.js'
import { checkPartitionList } from './subscribe-validation.js'
import type { SubscriptionCommits } from './subscription-commits.js'
import type { SubscriptionDeps } from './subscription-deps.js'

export interface PartitionsHost {
  readonly topic: string
  readonly opts: SubscribeOptions
  readonly deps: SubscriptionDeps
  readonly consumerId: string
  readonly windowBytes: number
  readonly queue: DeliveryQueue
  readonly commits: SubscriptionCommits | null
  readonly ready: ReadySignal
  closed(): boolean
  /** Records were queued. */
  pushed(): void
  /** A partition moved or was confirmed: `until: 'end'` may be done. */
  checkEnd(): void
  fail(error: Error): void
}

export class SubscriptionPartitions {
  readonly #host: PartitionsHost
  readonly #feedHost: FeedHost
  /** Every partition of the subscription, once its start is resolved (empty before). */
  readonly #feeds = new Map<number, PartitionFeed>()
  /** The partitions, as soon as they are known (declared in the options, or from metadata); null before. */
  #ids: readonly number[] | null
  /** Seeks made before the partitions' feeds exist; applied when they are created. */
  readonly #pendingSeeks = new Map<number, SeekTarget>()
  /** `pause()` without partitions before they were known: every partition starts paused. */
  #pauseAll = false
  readonly #gapListeners = new Set<(gap: Gap) => void>()

  constructor(host: PartitionsHost) {
    this.#host = host
    this.#ids = declaredPartitions(host.opts)
    const { topic, deps, windowBytes, queue, commits } = host
    this.#feedHost = {
      topic,
      deps,
      windowBytes,
      queue,
      closed: () => host.closed(),
      record: (fields) => new ConsumerRecord(fields, commits === null ? null : () => commits.commitRecord(fields)),
      confirmed: (feed, effects) => this.#confirmed(feed, effects),
      failed: (feed, error) => this.#failed(feed, error),
      diverged: (feed, divergence) => this.#perform(feed, feed.step({ kind: 'diverged', divergence })),
      pushed: () => host.pushed(),
    }
  }

  /** The partition's feed; undefined before its start is resolved (or for a partition not subscribed). */
  get(partition: number): PartitionFeed | undefined {
    return this.#feeds.get(partition)
  }

  feeds(): IterableIterator<PartitionFeed> {
    return this.#feeds.values()
  }

  get size(): number {
    return this.#feeds.size
  }

  /** `until: 'end'`: every partition is confirmed and has delivered everything below its end. */
  allAtEnd(): boolean {
    for (const p of this.#feeds.values()) if (!p.pos.confirmed || !atEnd(p.pos)) return false
    return true
  }

  onGap(listener: (gap: Gap) => void): () => void {
    this.#gapListeners.add(listener)
    return () => void this.#gapListeners.delete(listener)
  }

  pause(where: string, partitions: readonly number[] | undefined): void {
    const ids = this.#controlled(where, partitions)
    if (ids === null) this.#pauseAll = true
    else this.#host.queue.pause(ids)
  }

  resume(where: string, partitions: readonly number[] | undefined): void {
    const ids = this.#controlled(where, partitions)
    if (ids === null) this.#pauseAll = false
    else this.#host.queue.resume(ids)
  }

  seek(where: string, partition: number, to: SeekTarget): void {
    this.#controlled(where, [partition])
    if (this.#host.closed()) return
    const p = this.#feeds.get(partition)
    if (p === undefined) return void this.#pendingSeeks.set(partition, to)
    this.#perform(p, p.step({ kind: 'seek', to }))
  }

  /** Resolves every partition's start, creates the feeds and subscribes them; a failure fails the subscription. */
  async start(): Promise<void> {
    const { topic, opts, deps, consumerId, queue, commits } = this.#host
    try {
      const starts = await resolveStarts(topic, opts, { metadata: deps.metadata, logger: deps.logger, storage: deps.storage, consumerId })
      if (this.#host.closed()) return
      this.#ids = starts.map((s) => s.partition)
      if (this.#pauseAll) queue.pause(this.#ids)
      const reset = opts.from === 'stored' || opts.reset !== undefined ? (opts.reset ?? 'earliest') : null
      for (const s of starts) {
        const rules: PositionRules = { topic, partition: s.partition, untilEnd: opts.until === 'end', reset }
        const resumed = { positionEpoch: s.stored?.leaderEpoch ?? -1, ...(s.truncatedFrom === undefined ? {} : { truncatedFrom: s.truncatedFrom }) }
        const p = new PartitionFeed(initialPosition(rules, s.start, resumed), this.#feedHost)
        this.#feeds.set(s.partition, p)
        if (s.stored !== null) commits!.committer.markWritten(s.partition, s.stored)
        const seek = this.#pendingSeeks.get(s.partition)
        // Every partition subscribes below, from wherever the seek put it.
        if (seek !== undefined) this.#perform(p, p.step({ kind: 'seek', to: seek }).filter((e) => e.type !== 'resubscribe'), false)
      }
      this.#pendingSeeks.clear()
      for (const p of this.#feeds.values()) p.subscribe()
    } catch (error) {
      this.#host.fail(error instanceof Error ? error : new Error(String(error)))
    }
  }

  /** Ends every broker subscription for good (the subscription closed). */
  stop(): void {
    for (const p of this.#feeds.values()) p.stop()
  }

  /** The partitions a control call names (all when omitted); null for "all" while they are not known yet. Throws for a bad list. */
  #controlled(where: string, partitions: readonly number[] | undefined): readonly number[] | null {
    if (partitions !== undefined) checkPartitionList(where, 'partitions', partitions)
    const known = this.#ids
    if (known === null) {
      if (partitions === undefined) return null
      throw new TypeError(`${where}: this subscription's partitions come from the topic's metadata and are not known yet; await sub.ready first (or subscribe with { partitions })`)
    }
    if (partitions === undefined) return known
    const outside = partitions.filter((p) => !known.includes(p))
    if (outside.length > 0) throw new RangeError(`${where}: partition ${outside.join(', ')} is not part of this subscription of ${this.#host.topic} (partitions ${known.join(', ')})`)
    return partitions
  }

  /** The broker confirmed a subscription of `p` (with the effects of the start it resolved, if any). */
  #confirmed(p: PartitionFeed, effects: readonly PositionEffect[]): void {
    this.#perform(p, effects, false)
    if ([...this.#feeds.values()].every((q) => q.pos.confirmed)) this.#host.ready.resolve()
    this.#host.checkEnd()
  }

  #failed(p: PartitionFeed, error: SamsaError): void {
    if (error.errorName === 'OFFSET_OUT_OF_RANGE') this.#perform(p, p.step({ kind: 'out-of-range', error }))
    else this.#host.fail(error)
  }

  /** Performs a position step's effects in order; then (`checkEnd`) `until: 'end'` may be done. */
  #perform(p: PartitionFeed, effects: readonly PositionEffect[], checkEnd = true): void {
    const { commits, deps } = this.#host
    for (const effect of effects) {
      switch (effect.type) {
        case 'warn':
          deps.logger.warn(effect.fields, effect.message)
          break
        case 'store': {
          const position = { offset: effect.offset, leaderEpoch: effect.leaderEpoch }
          if (effect.how === 'sought') commits?.sought(p.partition, effect.offset)
          else if (effect.how === 'truncated') commits?.truncatedTo(p.partition, position)
          else commits?.skippedTo(p.partition, position)
          break
        }
        case 'gap':
          this.#emitGap(effect.gap)
          break
        case 'resubscribe':
          p.subscribe()
          break
        case 'fail':
          return this.#host.fail(effect.error)
      }
    }
    if (checkEnd) this.#host.checkEnd()
  }

  #emitGap(gap: Gap): void {
    for (const listener of this.#gapListeners) {
      try {
        listener(gap)
      } catch (error) {
        this.#host.deps.logger.error({ error }, 'gap listener threw')
      }
    }
  }
}
