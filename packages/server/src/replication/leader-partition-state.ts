/**
 * @module LeaderPartitionState: what a partition leader knows of its followers (Kafka's Partition + Replica state on
 * the leader), as a pure value driven by the caller with times and log ends; no I/O, no clock.
 *
 * - Each follower's log end is the offset of its latest fetch (a follower fetches from its own log end, and its
 *   appends resolve only once durable per its fsync policy, so that offset is durable on it).
 * - lastCaughtUpMs (Kafka's rule): a fetch at or past the leader's log end at that moment catches the follower up at
 *   the fetch time; a fetch at or past the leader's log end as of the follower's previous fetch catches it up at that
 *   previous fetch time.
 * - High watermark = the minimum log end over the ISR, counting replicas whose addition is pending (Kafka's
 *   "maximal ISR", KIP-497): a replica being added holds it back, a replica being removed still counts until the
 *   controller commits the removal. It never moves backwards.
 * - ISR changes go to the controller one at a time; the committed ISR arrives back through metadata (applyIsr).
 * - A follower whose addition the controller refused as ineligible (fenced or unregistered: INELIGIBLE_REPLICA) is
 *   not proposed again before a backoff that doubles from 100 ms up to `expansionRetryMaxMs`, unless the metadata
 *   image shows it unfenced since (`followerUnfenced`): then its next caught-up fetch proposes it. Joining the ISR
 *   clears its backoff.
 */

/** The first wait after an expansion refused as ineligible; it doubles with each refusal. */
const EXPANSION_RETRY_BASE_MS = 100
/** The default cap of that wait: the default ISR check interval. */
const DEFAULT_EXPANSION_RETRY_MAX_MS = 5_000

export interface LeaderPartitionStateArgs {
  readonly localBrokerId: number
  readonly leaderEpoch: number
  readonly partitionEpoch: number
  readonly replicas: readonly number[]
  readonly isr: readonly number[]
  /** Log end (durable) of the leader when it took over; the offset this leader epoch starts at. */
  readonly leaderEpochStartOffset: number
  /** The high watermark the partition had when this broker became leader. */
  readonly highWatermark: number
  readonly replicaLagTimeMaxMs: number
  readonly nowMs: number
  /** Cap of the wait before re-proposing a follower refused as ineligible; default 5 000 (the ISR check interval). */
  readonly expansionRetryMaxMs?: number
}

interface FollowerState {
  /** Offset of its latest fetch: its log end as far as this leader knows; -1 before its first fetch. */
  logEndOffset: number
  lastFetchMs: number
  /** The leader's log end at the follower's previous fetch. */
  lastFetchLeaderLogEnd: number
  lastCaughtUpMs: number
}

/** An ISR the leader asks the controller for, based on `partitionEpoch`. */
export interface IsrProposal {
  readonly newIsr: readonly number[]
  readonly partitionEpoch: number
  readonly leaderEpoch: number
}

export class LeaderPartitionState {
  readonly localBrokerId: number
  readonly leaderEpoch: number
  readonly leaderEpochStartOffset: number
  readonly #replicas: readonly number[]
  readonly #lagMaxMs: number
  /** The ISR the controller committed; always holds this leader. */
  #isr: readonly number[]
  #partitionEpoch: number
  /** An ISR change sent to the controller and not yet answered; at most one. */
  #pending: IsrProposal | null = null
  readonly #followers = new Map<number, FollowerState>()
  readonly #expansionRetryMaxMs: number
  /** Followers whose addition was refused as ineligible: not proposed before retryAtMs (unless unfenced since). */
  readonly #refused = new Map<number, { retryAtMs: number; backoffMs: number }>()
  /** Never decreases. */
  #highWatermark: number

  constructor(args: LeaderPartitionStateArgs) {
    this.localBrokerId = args.localBrokerId
    this.leaderEpoch = args.leaderEpoch
    this.leaderEpochStartOffset = args.leaderEpochStartOffset
    this.#replicas = args.replicas
    this.#lagMaxMs = args.replicaLagTimeMaxMs
    this.#isr = args.isr
    this.#partitionEpoch = args.partitionEpoch
    this.#highWatermark = args.highWatermark
    this.#expansionRetryMaxMs = args.expansionRetryMaxMs ?? DEFAULT_EXPANSION_RETRY_MAX_MS
    // Kafka: a new leader gives every follower a full lag window from the moment it takes over.
    for (const r of args.replicas) {
      if (r !== args.localBrokerId) this.#followers.set(r, { logEndOffset: -1, lastFetchMs: args.nowMs, lastFetchLeaderLogEnd: -1, lastCaughtUpMs: args.nowMs })
    }
  }

  get isr(): readonly number[] {
    return this.#isr
  }

  get partitionEpoch(): number {
    return this.#partitionEpoch
  }

  get highWatermark(): number {
    return this.#highWatermark
  }

  get pendingIsrChange(): IsrProposal | null {
    return this.#pending
  }

  /** A follower's log end as last reported by its fetch; -1 before it fetched under this leader epoch. */
  followerLogEnd(brokerId: number): number {
    return this.#followers.get(brokerId)?.logEndOffset ?? -1
  }

  isReplica(brokerId: number): boolean {
    return this.#followers.has(brokerId)
  }

  /**
   * A fetch from follower `brokerId` at `fetchOffset` when the leader's log ends at `leaderLogEnd`. Returns an
   * expansion to propose when the follower has caught up and is not in the ISR (and no change is pending).
   */
  onFollowerFetch(brokerId: number, fetchOffset: number, leaderLogEnd: number, nowMs: number): IsrProposal | null {
    const f = this.#followers.get(brokerId)
    if (!f) return null
    if (fetchOffset >= leaderLogEnd) f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, nowMs)
    else if (fetchOffset >= f.lastFetchLeaderLogEnd && f.lastFetchLeaderLogEnd >= 0) f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, f.lastFetchMs)
    f.logEndOffset = fetchOffset
    f.lastFetchLeaderLogEnd = leaderLogEnd
    f.lastFetchMs = nowMs
    if (this.#pending || this.#isr.includes(brokerId)) return null
    // Kafka's isFollowerInSync: it holds everything up to the high watermark and everything this epoch wrote before.
    if (fetchOffset < this.#highWatermark || fetchOffset < this.leaderEpochStartOffset) return null
    if (nowMs < (this.#refused.get(brokerId)?.retryAtMs ?? -Infinity)) return null
    return this.#propose([...this.#isr, brokerId])
  }

  /** ISR members other than the leader that have not caught up within replicaLagTimeMaxMs; a shrink to propose, or null. */
  maybeShrinkIsr(nowMs: number): IsrProposal | null {
    if (this.#pending) return null
    const lagging = this.#isr.filter((r) => {
      if (r === this.localBrokerId) return false
      const f = this.#followers.get(r)
      return f === undefined || nowMs - f.lastCaughtUpMs > this.#lagMaxMs
    })
    if (lagging.length === 0) return null
    return this.#propose(this.#isr.filter((r) => !lagging.includes(r)))
  }

  /** The controller committed (or metadata shows) this ISR at this partition epoch; clears a pending change. */
  applyIsr(isr: readonly number[], partitionEpoch: number): void {
    if (partitionEpoch < this.#partitionEpoch) return
    this.#isr = isr
    this.#partitionEpoch = partitionEpoch
    this.#pending = null
    for (const r of isr) this.#refused.delete(r)
  }

  /** The controller refused the pending change (or it failed): the next fetch or check may propose again. */
  abandonPendingIsrChange(): void {
    this.#pending = null
  }

  /**
   * The controller refused the pending change because a follower it adds is fenced or unregistered
   * (INELIGIBLE_REPLICA): the change is dropped and each follower it was adding waits out a doubled backoff.
   */
  ineligibleReplicaRefused(nowMs: number): void {
    const refused = this.#pending
    this.#pending = null
    if (refused === null) return
    for (const r of refused.newIsr) {
      if (this.#isr.includes(r)) continue
      const previous = this.#refused.get(r)
      const backoffMs = Math.min(previous ? previous.backoffMs * 2 : EXPANSION_RETRY_BASE_MS, this.#expansionRetryMaxMs)
      this.#refused.set(r, { retryAtMs: nowMs + backoffMs, backoffMs })
    }
  }

  /** The metadata image shows this broker unfenced (again): a refusal no longer holds its next proposal back. */
  followerUnfenced(brokerId: number): void {
    this.#refused.delete(brokerId)
  }

  /**
   * Recomputes the high watermark from the leader's durable log end: the minimum over the ISR and any replica being
   * added. Returns the new high watermark (unchanged when the minimum is not above it).
   */
  updateHighWatermark(leaderDurableEnd: number): number {
    let min = leaderDurableEnd
    const members = new Set([...this.#isr, ...(this.#pending?.newIsr ?? [])])
    for (const r of members) {
      if (r === this.localBrokerId) continue
      const end = this.#followers.get(r)?.logEndOffset ?? -1
      if (end < min) min = end
    }
    if (min > this.#highWatermark) this.#highWatermark = min
    return this.#highWatermark
  }

  #propose(newIsr: readonly number[]): IsrProposal {
    const ordered = this.#replicas.filter((r) => newIsr.includes(r))
    this.#pending = { newIsr: ordered, partitionEpoch: this.#partitionEpoch, leaderEpoch: this.leaderEpoch }
    return this.#pending
  }
}
