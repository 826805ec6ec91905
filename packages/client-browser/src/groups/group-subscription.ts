/**
 * @module A consumer-group subscription: the member of a group (group-member.ts) whose assigned partitions are
 * delivered as one subscription (owned-partitions.ts), with `assigned` / `revoked` / `lost` events, commits to the
 * coordinator (group-commits.ts: auto every interval, on revoke, on pagehide and on close; or manual) and the page
 * lifecycle (hidden: delivery and heartbeats paused, partitions kept until the session timeout; visible: heartbeat at
 * once; pagehide: commit, then leave — back from the back/forward cache it rejoins).
 *
 * Invariants: a partition starts only after the revocations before it were acknowledged by a heartbeat (member
 * loop); `revoked` is emitted after the application is done with the partition's last delivered record and (auto
 * commit) after its position was committed; `lost` partitions (fenced) are dropped without committing; each starts
 * at the newer of the group's commit and the page's stored position (start-reconcile.ts); it ends once, and after
 * close() resolves the member has left the group (epoch −1, or −2 for a static member).
 */
import type { ConsumerRecord } from '../consumer/consumer-record.js'
import type { BatchHandler, ProcessOptions } from '../consumer/subscribe-options.js'
import type { SubscriptionDeps } from '../consumer/subscription-deps.js'
import { Emitter } from '../connection/emitter.js'
import { CoordinatorLink } from './coordinator-link.js'
import { GroupCommits } from './group-commits.js'
import { GroupMember } from './group-member.js'
import { grouped, type TopicPartition } from './member-state.js'
import { OwnedPartitions } from './owned-partitions.js'
import type { PageLifecycle } from './page-lifecycle.js'
import { chooseStart } from './start-reconcile.js'

export type { TopicPartition } from './member-state.js'

export type GroupSubscriptionEvents = {
  /** Partitions this member delivers from now on (before their first record). */
  readonly assigned: readonly TopicPartition[]
  /** Partitions given up in a rebalance, after their last delivered record (and, with auto commit, its commit). */
  readonly revoked: readonly TopicPartition[]
  /** Partitions dropped without a commit: the member was fenced or removed (session timeout) and rejoins. */
  readonly lost: readonly TopicPartition[]
  /** A commit or a partition failed, or the group refused the member (then the subscription ends with it). */
  readonly error: Error
}

export interface GroupSubscriptionConfig {
  readonly groupId: string
  readonly memberId: string
  /** Resolves to the static instance id (null: a dynamic member). */
  readonly instanceId: Promise<{ readonly id: string; release(): void } | null>
  readonly topics: readonly string[]
  readonly rebalanceTimeoutMs: number
  readonly assignor: string | null
  /** null: manual commits only. */
  readonly autoCommitIntervalMs: number | null
  readonly reset: 'earliest' | 'latest'
  readonly heartbeatIntervalMs: number
  /** No heartbeat answered this long: delivery pauses (the coordinator may have given the partitions away). */
  readonly sessionTimeoutMs: number
  readonly creditWindowBytes?: number
}

export interface GroupSubscriptionDeps extends SubscriptionDeps {
  readonly lifecycle: PageLifecycle
}

export class GroupSubscription implements AsyncIterable<ConsumerRecord> {
  readonly topics: readonly string[]
  readonly #config: GroupSubscriptionConfig
  readonly #deps: GroupSubscriptionDeps
  readonly #events = new Emitter<GroupSubscriptionEvents>()
  readonly #link: CoordinatorLink
  readonly #owned: OwnedPartitions
  readonly #commits: GroupCommits
  #member: GroupMember | null = null
  #release: (() => void) | null = null
  #unwatch: (() => void) | null = null
  #autoTimer: unknown = null
  #ended = false
  #closing: Promise<void> | null = null
  #processing: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } | null = null
  #resolveClosed!: (e: Error | undefined) => void
  /** Settles when the subscription ended: undefined after close(), else the error that ended it. */
  readonly closed: Promise<Error | undefined> = new Promise((r) => (this.#resolveClosed = r))

  constructor(config: GroupSubscriptionConfig, deps: GroupSubscriptionDeps) {
    this.topics = config.topics
    this.#config = config
    this.#deps = { ...deps, consumerId: `samsa-group:${config.groupId}` }
    this.#link = new CoordinatorLink(config.groupId, deps.pool, deps.logger)
    this.#owned = new OwnedPartitions({
      deps: this.#deps,
      autoCommitIntervalMs: config.autoCommitIntervalMs ?? 1_000,
      ...(config.creditWindowBytes !== undefined && { creditWindowBytes: config.creditWindowBytes }),
      error: (tp, error) => this.#partitionError(tp, error),
      // The partition cannot go on: neither can the member (it leaves, so the partition moves to another member).
      failed: (tp, error) => this.#fail(error, tp),
    })
    this.#commits = new GroupCommits(
      {
        groupId: config.groupId,
        memberId: config.memberId,
        epoch: () => this.#member?.state.epoch ?? 0,
        owned: () => this.#member?.state.owned ?? [],
        position: (tp, handed) => this.#owned.position(tp, handed),
        nextHeartbeat: () => this.#member?.nextHeartbeat() ?? Promise.resolve(),
      },
      this.#link,
    )
    void this.#start()
  }

  /** This member's id (a random id chosen for the subscription's life). */
  get memberId(): string {
    return this.#config.memberId
  }

  /** The member epoch of the last heartbeat answer (0 before joining, or after being fenced). */
  get memberEpoch(): number {
    return this.#member?.state.epoch ?? 0
  }

  /** Heartbeat answers this member has handled (errors included): for tests and tools to know the member is idle. */
  get heartbeatsAnswered(): number {
    return this.#member?.answered ?? 0
  }

  /** The partitions delivered now (in an `assigned` listener: with the new ones; in a `revoked` one: without the old). */
  get assignment(): readonly TopicPartition[] {
    return this.#owned.delivering
  }

  /** The static instance id once resolved (null for a dynamic member or before). */
  get instanceId(): string | null {
    return this.#member?.config.instanceId ?? null
  }

  /** The coordinator's acknowledged commit of a partition (or the committed offset it started from). */
  committed(tp: TopicPartition): { readonly offset: number; readonly leaderEpoch: number } | null {
    return this.#commits.acked(tp)
  }

  on<K extends keyof GroupSubscriptionEvents>(event: K, listener: (payload: GroupSubscriptionEvents[K]) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError(`sub.on('${String(event)}', listener): listener must be a function`)
    return this.#events.on(event, listener)
  }

  /**
   * Commits, for every owned partition, the position after the last record handed to the application (the one in
   * its hand included, as a plain subscription's commit() does); resolves once acknowledged.
   */
  commit(): Promise<void> {
    return this.#commits.commit(undefined, undefined, true)
  }

  /**
   * Runs `handler(batch, tx)` for each push of each owned partition in one storage transaction with the partition's
   * position (exactly once within the page, see Subscription.process); positions go to the coordinator by the commit
   * policy. Resolves when the subscription is closed, rejects with the error that ends it.
   */
  process(handler: BatchHandler, opts: ProcessOptions): Promise<void> {
    try {
      this.#owned.process(handler, opts)
    } catch (error) {
      return Promise.reject(error)
    }
    let resolve!: () => void
    let reject!: (e: Error) => void
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)))
    promise.catch(() => {})
    this.#processing = { promise, resolve, reject }
    if (this.#ended) void this.closed.then((error) => (error === undefined ? resolve() : reject(error)))
    return promise
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    return this.#owned.iterator(() => void this.close())
  }

  /** Stops delivery, commits (auto commit), leaves the group (−1; −2 for a static member); resolves once done. */
  close(): Promise<void> {
    return (this.#closing ??= this.#end(undefined, true))
  }

  async #start(): Promise<void> {
    let instance: { readonly id: string; release(): void } | null
    try {
      instance = await this.#config.instanceId
    } catch (error) {
      return void this.#fail(error instanceof Error ? error : new Error(String(error)))
    }
    this.#release = instance?.release ?? null
    if (this.#ended) return this.#release?.()
    const { groupId, memberId, topics, rebalanceTimeoutMs, assignor, heartbeatIntervalMs, sessionTimeoutMs } = this.#config
    const config = { groupId, memberId, instanceId: instance?.id ?? null, topics, rebalanceTimeoutMs, assignor }
    this.#member = new GroupMember(
      config,
      this.#link,
      {
        revoke: (tps, current) => this.#revoke(tps, current),
        assign: (tps, current) => this.#assign(tps, current),
        lose: (tps) => this.#lose(tps),
        stale: (stale) => (stale ? this.#owned.pause('stale') : this.#owned.resume('stale')),
        fail: (e) => this.#fail(e),
      },
      { clock: this.#deps.clock, random: this.#deps.random, logger: this.#deps.logger, backoff: this.#deps.retryBackoff },
      { heartbeatIntervalMs, sessionTimeoutMs },
    )
    this.#unwatch = this.#deps.lifecycle.watch({
      hidden: () => {
        this.#member?.pause()
        this.#owned.pause('hidden')
      },
      visible: () => {
        this.#owned.resume('hidden')
        this.#owned.resume('leaving')
        this.#member?.resume()
      },
      pagehide: () => void this.#pagehide(),
    })
    this.#scheduleAutoCommit()
    this.#member.start()
  }

  async #revoke(tps: readonly TopicPartition[], current: () => boolean): Promise<void> {
    await Promise.all(tps.map((tp) => this.#owned.stop(tp, true)))
    if (!current()) return
    if (this.#config.autoCommitIntervalMs !== null) await this.#commits.commit(tps).catch((e: unknown) => this.#commitFailed(e))
    if (!current()) return
    for (const tp of tps) this.#owned.remove(tp)
    this.#emit('revoked', tps)
  }

  async #assign(tps: readonly TopicPartition[], current: () => boolean): Promise<void> {
    const member = this.#member!
    const answer = await this.#link.fetchOffsets({ groupId: this.#config.groupId, memberId: this.memberId, memberEpoch: member.state.epoch, topics: grouped(tps) })
    const store = this.#deps.storage?.offsets
    const consumerId = this.#deps.consumerId!
    for (const tp of tps) {
      const c = answer.topics.find((t) => t.topic === tp.topic)?.partitions.find((p) => p.partition === tp.partition)
      const committed = c !== undefined && c.errorCode === 0 && c.offset >= 0 ? { offset: c.offset, leaderEpoch: c.leaderEpoch } : null
      const stored = (await store?.get(consumerId, tp.topic, tp.partition)) ?? null
      const choice = chooseStart(committed, stored)
      // The partition's subscription starts from the stored position: make it the chosen one.
      if (choice.from === 'committed') await store?.put(consumerId, tp.topic, tp.partition, choice.position, { force: true })
      this.#commits.started(tp, committed)
    }
    if (this.#ended || !current()) return
    for (const tp of tps) this.#owned.start(tp, this.#config.reset)
    this.#emit('assigned', tps)
  }

  #lose(tps: readonly TopicPartition[]): void {
    for (const tp of tps) this.#owned.drop(tp)
    this.#emit('lost', tps)
  }

  /**
   * The page is going away: delivery stops, positions are committed (auto commit) and the member leaves (see
   * GroupMember.depart). Nothing waits for an answer (the page may be gone before one comes): the leave is sent right
   * after the commit, on the same connection, so the coordinator sees the commit first.
   */
  async #pagehide(): Promise<void> {
    const member = this.#member
    if (member === null || this.#ended) return
    this.#owned.pause('leaving')
    member.pause()
    if (this.#config.autoCommitIntervalMs !== null) {
      await new Promise<void>((sent) => void this.#commits.commit(undefined, sent).catch((e: unknown) => this.#commitFailed(e)))
    }
    await member.depart()
  }

  #scheduleAutoCommit(): void {
    const ms = this.#config.autoCommitIntervalMs
    if (ms === null || this.#ended) return
    // Fixed rate: commits queue behind each other (group-commits.ts), so a slow one does not shift the next.
    this.#autoTimer = this.#deps.clock.setTimeout(() => {
      this.#autoTimer = null
      this.#scheduleAutoCommit()
      void this.#autoCommit()
    }, ms)
  }

  async #autoCommit(): Promise<void> {
    if (this.#config.autoCommitIntervalMs === null) return
    await this.#commits.commit().catch((e: unknown) => this.#commitFailed(e))
  }

  #commitFailed(error: unknown): void {
    this.#deps.logger.warn({ groupId: this.#config.groupId, error }, 'committing to the group failed')
    this.#emitError(error instanceof Error ? error : new Error(String(error)))
  }

  #partitionError(tp: TopicPartition, error: Error): void {
    this.#deps.logger.warn({ groupId: this.#config.groupId, topic: tp.topic, partition: tp.partition, error }, 'a partition of the group subscription reported an error')
    this.#emitError(error)
  }

  #fail(error: Error, tp?: TopicPartition): void {
    if (this.#ended) return
    if (tp === undefined) this.#emitError(error)
    else this.#partitionError(tp, error)
    // A member the group refused (no tp) has nothing to leave; one whose partition failed leaves, so its partitions move at once.
    this.#closing ??= this.#end(error, tp !== undefined)
  }

  async #end(error: Error | undefined, leave: boolean): Promise<void> {
    this.#ended = true
    this.#unwatch?.()
    if (this.#autoTimer !== null) this.#deps.clock.clearTimeout(this.#autoTimer)
    this.#owned.close()
    const member = this.#member
    if (member !== null) {
      const owned = this.#owned.partitions
      await Promise.all(owned.map((tp) => this.#owned.stop(tp, false)))
      // A departed member (pagehide) committed and left already.
      if (error === undefined && this.#config.autoCommitIntervalMs !== null && !member.departed) await this.#commits.commit(owned).catch((e: unknown) => this.#commitFailed(e))
      if (owned.length > 0) this.#emit('revoked', owned)
      if (leave) await member.leave()
      else member.stop()
      for (const tp of owned) this.#owned.remove(tp)
    }
    this.#release?.()
    if (error === undefined) this.#processing?.resolve()
    else this.#processing?.reject(error)
    this.#events.clear()
    this.#resolveClosed(error)
  }

  #emit<K extends 'assigned' | 'revoked' | 'lost'>(event: K, tps: readonly TopicPartition[]): void {
    for (const e of this.#events.emit(event, tps)) this.#deps.logger.error({ error: e, event }, 'a group subscription listener threw')
  }

  #emitError(error: Error): void {
    for (const e of this.#events.emit('error', error)) this.#deps.logger.error({ error: e }, 'an error listener threw')
  }
}
