/**
 * @module Cached topic metadata: partitions with their leader (broker id) and leader epoch, and the brokers'
 * advertised URLs (handed to the BrokerPool). Lookups are single-flight per topic (callers share one request);
 * `invalidate` drops a settled answer so the next lookup refetches. Refreshes are rate-limited by their callers:
 * each invalidation comes from a failed request whose retry waits out a backoff first.
 *
 * UNKNOWN_TOPIC_OR_PARTITION from a multi-broker cluster may only mean this broker has not applied the topic's
 * creation yet: lookups retry it with backoff for up to `unknownTopicRetryMs`. A single-broker cluster's answer is
 * authoritative and reported at once.
 *
 * Leader epochs never go back (KIP-320): a partition's leader in an answer at a LOWER leader epoch than one already
 * seen (a node restarted on old metadata) is ignored and the newer leader kept; an equal epoch may update. A different
 * partition count, an UNKNOWN_TOPIC_OR_PARTITION answer or `forget` (the topic was re-created) start the epochs anew.
 * Answers carry no topic id, so a topic re-created elsewhere with the same partition count (epochs restart at 0) is
 * told apart only by time: older epochs answered without a break for `olderEpochHoldMs` are accepted.
 *
 * Leader watch: a request waiting on a leader, or a subscription reading from one, registers `onLeaderMoved(topic,
 * partition, epoch)`. While any is registered, one metadata request with a wait (a long poll) is held by a broker —
 * preferably one that leads none of the watched partitions — which answers as soon as its metadata names a newer
 * leader epoch than this cache knows; an answer naming one calls the watches. Brokers that do not answer are passed
 * over in turn (BrokerPool.metadataConnectionInTurn). This is how a client learns of a new leader within a round trip
 * of the broker it asks, and how it leaves a leader that answers nothing wrong but can no longer commit (cut off from
 * the controller and its followers): its requests would only time out, and its subscriptions would only stay silent.
 */
import { MAX_METADATA_WAIT_MS, SamsaError, errorKindByCode, metadataClientSide as metadata, topicMetadataErrorMessage, unknownPartitionMessage, unknownTopicMessage, type MetadataResponse, type PartitionMetadata, type TopicMetadata } from '@samsa/shared'
import { backoffDelayMs } from '../connection/backoff.js'
import type { BrokerPool } from '../connection/broker-pool.js'
import type { Connection } from '../connection/connection.js'
import type { Clock, Random } from '../ports.js'

export const DEFAULT_UNKNOWN_TOPIC_RETRY_MS = 5_000
/** How long a request waits for a leader's connection that is not up before metadata is asked again. */
export const DEFAULT_LEADER_WAIT_MS = 1_000
/** How long answers at an older leader epoch are ignored before they are believed (the topic may have been re-created). */
export const DEFAULT_OLDER_EPOCH_HOLD_MS = 10_000
const RETRY_BACKOFF = { baseMs: 50, capMs: 1_000 }
/**
 * The leader watch's pause after a round in which no broker answered, or an answer brought nothing new; also how
 * long past its wait a watch request may go unanswered before another broker is asked.
 */
export const DEFAULT_LEADER_CHECK_MS = 2_000
/** Leader watches held at once at different brokers (from three brokers on): a broker paused while holding one leaves the other. */
const WATCH_LANES = 2
/** How long a metadata lookup in a cluster waits for its broker before asking another one too. */
export const DEFAULT_METADATA_HEDGE_MS = 300
/** How long a broker may hold a leader watch before answering that nothing moved. */
export const DEFAULT_LEADER_WATCH_WAIT_MS = 5_000

export interface MetadataCacheOptions {
  readonly clock: Clock
  readonly random: Random
  readonly unknownTopicRetryMs?: number
  readonly leaderWaitMs?: number
  readonly olderEpochHoldMs?: number
  /** Leader watch pause (ms; see DEFAULT_LEADER_CHECK_MS); 0 turns the watch off. */
  readonly leaderCheckMs?: number
  /** How long a metadata lookup in a cluster waits before asking a second broker too (ms). Default DEFAULT_METADATA_HEDGE_MS. */
  readonly metadataHedgeMs?: number
  /** How long a broker may hold one leader watch (ms, ≤ MAX_METADATA_WAIT_MS). Default DEFAULT_LEADER_WATCH_WAIT_MS. */
  readonly leaderWatchWaitMs?: number
}

interface LeaderWatch {
  readonly partition: number
  readonly pastEpoch: number
  readonly onMoved: () => void
}

/** The newest leader seen for a partition; `olderSinceMs`: when answers began naming an older epoch (null: they do not). */
interface NewestLeader {
  readonly partition: number
  readonly leader: number
  readonly leaderEpoch: number
  readonly olderSinceMs: number | null
}

export class MetadataCache {
  readonly #pool: BrokerPool
  readonly #opts: MetadataCacheOptions
  /** One in-flight or settled lookup per topic; a failed lookup is removed so the next call retries. */
  readonly #topics = new Map<string, Promise<TopicMetadata>>()
  /** Lookups that have settled (invalidate drops only these: an in-flight lookup is already fresh). */
  readonly #settled = new Set<Promise<TopicMetadata>>()
  /** The last successful answer per topic, kept across invalidations: a partition count does not go stale. */
  readonly #lastGood = new Map<string, TopicMetadata>()
  /** Per topic, the newest leader seen per partition (highest leader epoch); answers never move a partition below it. */
  readonly #newest = new Map<string, readonly NewestLeader[]>()
  /** Per topic, who waits for a partition's leader epoch to pass the one they use. */
  readonly #watches = new Map<string, Set<LeaderWatch>>()
  /** Leader watch lanes running, and the broker each holds its watch at. */
  readonly #lanes = new Set<number>()
  readonly #laneBroker = new Map<number, number>()
  /** Pauses of the watch lanes in progress (close ends them). */
  readonly #pauses = new Set<() => void>()
  #closed = false
  /** Metadata fetches failed in a row (the next one asks another broker). */
  #fetchFailures = 0

  constructor(pool: BrokerPool, opts: MetadataCacheOptions) {
    this.#pool = pool
    this.#opts = opts
  }

  async fetch(topics: readonly string[] | null): Promise<MetadataResponse> {
    // After a failed fetch (a silent or gone broker), the next ones ask the known brokers in turn until one answers.
    const conn = this.#fetchFailures === 0 ? this.#pool.metadataConnection() : this.#pool.metadataConnectionInTurn(this.#fetchFailures)
    let res: MetadataResponse
    try {
      // In a cluster a broker that does not answer metadata within a leader-check period is passed over (the next
      // fetch asks another), rather than holding every route for a whole request timeout; and one that has not
      // answered within a hedge delay is doubled by a request to another broker (the first answer wins).
      res = this.propagates ? await this.#hedged(conn, topics) : await conn.request(metadata, { topics })
    } catch (e) {
      this.#fetchFailures++
      throw e
    }
    this.#fetchFailures = 0
    this.#pool.learn(res.brokers)
    return res
  }

  /**
   * `first`'s answer, or — when it has not answered within `metadataHedgeMs` — whichever of it and another broker's
   * answers first (a paused or cut-off broker would otherwise hold a lookup for a whole leader-check period). A first
   * request that fails before the hedge delay fails the fetch at once (the next fetch asks another broker in turn);
   * after it, the fetch fails only when both requests have.
   */
  #hedged(first: Connection, topics: readonly string[] | null): Promise<MetadataResponse> {
    const timeoutMs = Math.max(1_000, this.#leaderCheckMs)
    return new Promise((resolve, reject) => {
      let settled = false
      let outstanding = 1
      let firstError: unknown = null
      const win = (res: MetadataResponse) => {
        if (settled) return
        settled = true
        if (timer !== null) this.#opts.clock.clearTimeout(timer as never)
        resolve(res)
      }
      const lose = (e: unknown, isFirst: boolean) => {
        if (isFirst) firstError = e
        outstanding--
        // Before the hedge went out a failure ends the fetch; after it, only the last request's does.
        if (settled || (timer === null && outstanding > 0)) return
        settled = true
        if (timer !== null) this.#opts.clock.clearTimeout(timer as never)
        reject(firstError ?? e)
      }
      let timer: unknown = this.#opts.clock.setTimeout(() => {
        timer = null
        if (settled) return
        const id = first.helloResponse?.brokerId
        const other = this.#pool.metadataConnectionInTurn(this.#fetchFailures + 1, id === undefined ? undefined : new Set([id]))
        if (other === first) return
        outstanding++
        other.request(metadata, { topics }, { timeoutMs }).then(win, (e: unknown) => lose(e, false))
      }, this.#opts.metadataHedgeMs ?? DEFAULT_METADATA_HEDGE_MS)
      first.request(metadata, { topics }, { timeoutMs }).then(win, (e: unknown) => lose(e, true))
    })
  }

  topic(name: string): Promise<TopicMetadata> {
    let p = this.#topics.get(name)
    if (p === undefined) {
      const lookup = this.#lookup(name)
      p = lookup
      this.#topics.set(name, lookup)
      lookup.then(
        (t) => {
          this.#settled.add(lookup)
          this.#lastGood.set(name, t)
        },
        () => {
          if (this.#topics.get(name) === lookup) this.#topics.delete(name)
        },
      )
    }
    return p
  }

  /** The count `partitionCount` would resolve with at once (the last answer's), or undefined while it needs a lookup. */
  knownPartitionCount(name: string): number | undefined {
    return this.#lastGood.get(name)?.partitions.length
  }

  /** From the last answer even if it was invalidated since (a leader change does not change the count), so sends while offline need no broker. */
  async partitionCount(name: string): Promise<number> {
    return (this.#lastGood.get(name) ?? (await this.topic(name))).partitions.length
  }

  /**
   * Calls `onMoved` once, when an answer names a leader epoch above `pastEpoch` for the partition (at once if the cache
   * already does). Returns the function that cancels it; the watch runs only while something is registered.
   */
  onLeaderMoved(topic: string, partition: number, pastEpoch: number, onMoved: () => void): () => void {
    const known = this.#newest.get(topic)?.find((x) => x.partition === partition)
    if (known !== undefined && known.leaderEpoch > pastEpoch) {
      let cancelled = false
      void Promise.resolve().then(() => cancelled || onMoved())
      return () => void (cancelled = true)
    }
    let set = this.#watches.get(topic)
    if (set === undefined) this.#watches.set(topic, (set = new Set()))
    const w: LeaderWatch = { partition, pastEpoch, onMoved }
    set.add(w)
    this.#scheduleWatch()
    return () => {
      set.delete(w)
      if (set.size === 0 && this.#watches.get(topic) === set) this.#watches.delete(topic)
    }
  }

  /** Stops the leader watch (the client closed). */
  close(): void {
    this.#closed = true
    this.#watches.clear()
    for (const end of [...this.#pauses]) end()
  }

  #scheduleWatch(): void {
    if (this.#closed || this.#leaderCheckMs <= 0 || this.#watches.size === 0) return
    for (let lane = 0; lane < WATCH_LANES; lane++) {
      if (this.#lanes.has(lane)) continue
      this.#lanes.add(lane)
      void this.#watchLeaders(lane).finally(() => {
        this.#lanes.delete(lane)
        this.#laneBroker.delete(lane)
        this.#scheduleWatch() // a watch registered while the lane was ending
      })
    }
  }

  get #leaderCheckMs(): number {
    return this.#opts.leaderCheckMs ?? DEFAULT_LEADER_CHECK_MS
  }

  /**
   * One lane of the leader watch, while anything is watched: a metadata request with a wait (a long poll), held by a
   * broker that leads none of the watched partitions and does not hold the other lane's watch, when there is one,
   * until its image names a newer leader epoch than this cache knows (or `leaderWatchWaitMs` passes), then asked
   * again at once. Two lanes from three brokers on: a broker paused or cut off while holding one watch leaves the
   * other. A broker that does not answer in time is passed over for the next; after a whole round of failures, or an
   * early answer that brought nothing new (a broker that does not hold waits), the lane waits a leader-check period,
   * so it never spins.
   */
  async #watchLeaders(lane: number): Promise<void> {
    const every = this.#leaderCheckMs
    const waitMs = Math.min(MAX_METADATA_WAIT_MS, this.#opts.leaderWatchWaitMs ?? DEFAULT_LEADER_WATCH_WAIT_MS)
    let failures = 0
    let turn = lane
    while (this.#watches.size > 0 && !this.#closed) {
      if (!this.propagates || lane >= (this.#pool.knownBrokers >= 3 ? 2 : 1)) {
        await this.#pause(every) // one broker: no other leader to move to; two: one lane is enough
        continue
      }
      const topics = [...this.#watches.keys()]
      const leaderEpochs = topics.map((t) => this.#knownEpochs(t))
      const conn = this.#pool.metadataConnectionInTurn(turn, this.#watchAvoids(topics, lane))
      const holder = conn.helloResponse?.brokerId
      if (holder === undefined) this.#laneBroker.delete(lane)
      else this.#laneBroker.set(lane, holder)
      const askedAt = this.#opts.clock.now()
      const res = await conn.request(metadata, { topics, wait: { maxWaitMs: waitMs, leaderEpochs } }, { timeoutMs: waitMs + every }).catch(() => null)
      if (res === null) {
        turn++
        if (++failures >= Math.max(1, this.#pool.knownBrokers)) {
          failures = 0
          await this.#pause(every)
        }
        continue
      }
      failures = 0
      if (this.#learnLeaders(res)) continue
      // Nothing new: the next request goes to the next broker (this one may answer from a stale image).
      turn++
      if (this.#opts.clock.now() - askedAt < waitMs / 2) await this.#pause(every)
    }
  }

  /** Where a lane's watch should not be held: the watched partitions' leaders and the other lane's broker (the latter kept when all are). */
  #watchAvoids(topics: readonly string[], lane: number): Set<number> {
    const other = this.#laneBroker.get(1 - lane)
    const avoid = new Set<number>()
    for (const t of topics) for (const n of this.#newest.get(t) ?? []) avoid.add(n.leader)
    if (other === undefined) return avoid
    avoid.add(other)
    return this.#pool.brokerIds.every((id) => avoid.has(id)) ? new Set([other]) : avoid
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const end = () => {
        this.#pauses.delete(end)
        this.#opts.clock.clearTimeout(timer as never)
        resolve()
      }
      const timer = this.#opts.clock.setTimeout(end, ms)
      this.#pauses.add(end)
    })
  }

  /** Takes a watch answer in: brokers, and every watched topic naming a newer leader. True when a leader moved. */
  #learnLeaders(res: MetadataResponse): boolean {
    this.#pool.learn(res.brokers)
    let anyMoved = false
    for (const t of res.topics) {
      if (t.errorCode !== 0 || !this.#watches.has(t.name)) continue
      const before = this.#newest.get(t.name)
      const merged = this.#noOlderLeaders(t)
      const moved = merged.partitions.some((p) => p.leaderEpoch > (before?.find((x) => x.partition === p.partition)?.leaderEpoch ?? -1))
      if (moved && before !== undefined) {
        // A newer leader than the cached answer names: route new requests by this answer from now on.
        this.#replace(t.name, merged)
      }
      anyMoved ||= moved
    }
    return anyMoved
  }

  /** What this cache knows of a topic's leaders, per partition in order (empty: nothing known). */
  #knownEpochs(topic: string): number[] {
    const newest = this.#newest.get(topic)
    if (newest !== undefined) return [...newest].sort((a, b) => a.partition - b.partition).map((n) => n.leaderEpoch)
    return this.#lastGood.get(topic)?.partitions.map((p) => p.leaderEpoch) ?? []
  }

  /** The cached answer for `name` becomes `t` (a newer one than the lookup had). */
  #replace(name: string, t: TopicMetadata): void {
    const p = Promise.resolve(t)
    this.#topics.set(name, p)
    this.#settled.add(p)
    this.#lastGood.set(name, t)
  }

  /** Calls and removes the watches of `name` whose partition's newest leader epoch passed theirs. */
  #notifyMoved(name: string, newest: readonly NewestLeader[]): void {
    const set = this.#watches.get(name)
    if (set === undefined) return
    for (const w of [...set]) {
      const n = newest.find((x) => x.partition === w.partition)
      if (n === undefined || n.leaderEpoch <= w.pastEpoch) continue
      set.delete(w)
      w.onMoved()
    }
    if (set.size === 0) this.#watches.delete(name)
  }

  /**
   * The cached answer may be stale (a leader moved, a connection dropped): the next lookup asks again. With `seen`
   * (the partition and leader epoch a failed request used), an answer that already names a newer leader epoch for
   * that partition is kept: it is what the failure asked for.
   */
  invalidate(name: string, seen?: { readonly partition: number; readonly leaderEpoch: number }): void {
    const p = this.#topics.get(name)
    if (p === undefined || !this.#settled.has(p)) return
    if (seen !== undefined) {
      const cached = this.#lastGood.get(name)?.partitions.find((x) => x.partition === seen.partition)
      if (cached !== undefined && cached.leaderEpoch > seen.leaderEpoch) return
    }
    this.#settled.delete(p)
    this.#topics.delete(name)
  }

  /**
   * The connection to the partition's leader. When that connection is not up (its broker may be gone), waits up to
   * leaderWaitMs for it, then asks metadata again; after requestTimeout-worth of such rounds it returns the
   * connection anyway (requests queue there, and time out as usual).
   */
  async connectionFor(topic: string, partition: number): Promise<Connection> {
    return (await this.route(topic, partition)).conn
  }

  /** connectionFor, with the leader and leader epoch it routed by (a request's answer is that leader's, whatever the cache says by then). */
  async route(topic: string, partition: number): Promise<{ readonly conn: Connection; readonly leader: { readonly leader: number; readonly leaderEpoch: number } }> {
    const started = this.#opts.clock.now()
    for (let attempt = 0; ; attempt++) {
      const t = await this.topic(topic)
      const p = t.partitions.find((x) => x.partition === partition)
      if (p === undefined) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', unknownPartitionMessage(topic, t.partitions.length, partition))
      let conn: Connection
      try {
        conn = this.#pool.connectionFor(p.leader)
      } catch (error) {
        if (this.#opts.clock.now() - started > this.#waitBudgetMs()) throw error
        this.invalidate(topic)
        await this.#sleep(attempt)
        continue
      }
      const routed = { conn, leader: { leader: p.leader, leaderEpoch: p.leaderEpoch } }
      if (conn === this.#pool.bootstrap || conn.state.status === 'connected' || this.#opts.clock.now() - started > this.#waitBudgetMs()) return routed
      conn.connect()
      // A leader elected meanwhile (the leader watch hears of it) ends the wait at once.
      const leaderMoved = (stop: () => void) => this.onLeaderMoved(topic, partition, p.leaderEpoch, stop)
      if (await this.#connectedWithin(conn, this.#opts.leaderWaitMs ?? DEFAULT_LEADER_WAIT_MS, leaderMoved)) return routed
      this.invalidate(topic)
    }
  }

  /** The topic was created or deleted: nothing cached about it holds, not even its partition count. */
  forget(name: string): void {
    this.#lastGood.delete(name)
    this.#newest.delete(name)
    const p = this.#topics.get(name)
    if (p !== undefined) this.#settled.delete(p)
    this.#topics.delete(name)
  }

  /** The partition's leader and leader epoch in the cached metadata (looked up if none is cached); null: no such partition. */
  async leader(topic: string, partition: number): Promise<{ readonly leader: number; readonly leaderEpoch: number } | null> {
    const p = (await this.topic(topic)).partitions.find((x) => x.partition === partition)
    return p === undefined ? null : { leader: p.leader, leaderEpoch: p.leaderEpoch }
  }

  /** The partition's leader epoch in the cached metadata (−1 when unknown). */
  leaderEpoch(topic: string, partition: number): Promise<number> {
    return this.topic(topic).then((t) => t.partitions.find((x) => x.partition === partition)?.leaderEpoch ?? -1)
  }

  /** The time retriers give a partition to get a reachable leader or a known topic. */
  get unknownTopicRetryMs(): number {
    return this.#opts.unknownTopicRetryMs ?? DEFAULT_UNKNOWN_TOPIC_RETRY_MS
  }

  /** True when an UNKNOWN_TOPIC_OR_PARTITION may be metadata still propagating (the cluster has several brokers). */
  get propagates(): boolean {
    return this.#pool.knownBrokers > 1
  }

  #waitBudgetMs(): number {
    return Math.max(this.unknownTopicRetryMs, 10 * (this.#opts.leaderWaitMs ?? DEFAULT_LEADER_WAIT_MS))
  }

  async #lookup(name: string): Promise<TopicMetadata> {
    const started = this.#opts.clock.now()
    for (let attempt = 0; ; attempt++) {
      const res = await this.fetch([name])
      const t = res.topics.find((x) => x.name === name)
      const code = t === undefined ? 3 : t.errorCode
      if (code === 0) return this.#noOlderLeaders(t!)
      if (code === 3) this.#newest.delete(name)
      const error = t === undefined ? new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', unknownTopicMessage(name)) : topicError(name, code)
      const propagating = error.errorName === 'UNKNOWN_TOPIC_OR_PARTITION' ? this.propagates : error.retriable
      if (!propagating || this.#opts.clock.now() - started >= this.unknownTopicRetryMs) throw error
      await this.#sleep(attempt)
    }
  }

  /** The answer with each partition whose leader epoch is below the newest one seen replaced by that newest one. */
  #noOlderLeaders(t: TopicMetadata): TopicMetadata {
    const held = this.#newest.get(t.name)
    const known = held?.length === t.partitions.length ? held : []
    const now = this.#opts.clock.now()
    const holdMs = this.#opts.olderEpochHoldMs ?? DEFAULT_OLDER_EPOCH_HOLD_MS
    const newest: NewestLeader[] = []
    let kept = 0
    const partitions = t.partitions.map((p): PartitionMetadata => {
      const k = known.find((x) => x.partition === p.partition)
      const olderSinceMs = k === undefined || p.leaderEpoch >= k.leaderEpoch ? null : (k.olderSinceMs ?? now)
      if (olderSinceMs === null || now - olderSinceMs >= holdMs) {
        newest.push({ partition: p.partition, leader: p.leader, leaderEpoch: p.leaderEpoch, olderSinceMs: null })
        return p
      }
      kept++
      newest.push({ ...k!, olderSinceMs })
      return { ...p, leader: k!.leader, leaderEpoch: k!.leaderEpoch }
    })
    this.#newest.set(t.name, newest)
    this.#notifyMoved(t.name, newest)
    return kept === 0 ? t : { ...t, partitions }
  }

  #sleep(attempt: number): Promise<void> {
    return new Promise((resolve) => this.#opts.clock.setTimeout(resolve, backoffDelayMs(attempt, RETRY_BACKOFF, this.#opts.random)))
  }

  /** True once `conn` is connected; false after `ms`, when it closes, or when `stopWhen` calls its argument. */
  #connectedWithin(conn: Connection, ms: number, stopWhen: (stop: () => void) => () => void): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false
      let unwatch = () => {}
      const finish = (up: boolean) => {
        if (settled) return
        settled = true
        off()
        unwatch()
        this.#opts.clock.clearTimeout(timer)
        resolve(up)
      }
      const timer = this.#opts.clock.setTimeout(() => finish(false), ms)
      const off = conn.on('status', ({ current }) => {
        if (current.status === 'connected') finish(true)
        else if (current.status === 'closed') finish(false)
      })
      unwatch = stopWhen(() => finish(false))
      if (settled) unwatch()
    })
  }
}

/** A metadata answer carries only a code per topic: the message is the one wording of that condition. */
function topicError(name: string, code: number): SamsaError {
  const kind = errorKindByCode(code)
  if (kind.name === 'UNKNOWN_TOPIC_OR_PARTITION') return new SamsaError(kind, unknownTopicMessage(name))
  return new SamsaError(kind, topicMetadataErrorMessage(name, kind.name))
}
