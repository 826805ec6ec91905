/**
 * @module ReplicaManager: this broker's role in every partition it hosts (Kafka's ReplicaManager), driven by the
 * metadata log's local changes: become leader (PartitionLog.becomeLeader at the new leader epoch, then track the
 * followers), become follower (truncate by leader epoch, then fetch from the leader), removed (stop, close, delete).
 * It is the broker's PartitionLeadership: who leads what, replica fetches, the ISR through AlterPartition.
 * Changes are applied one metadata delta at a time, in order; after each, every leader hears of the brokers the
 * image shows unfenced since the previous one. Time comes from the Clock port.
 * A replica is opened for its topic's identity in the image (broker/replica-identity.ts: a replica left by an earlier
 * topic of the same name starts empty), and the first, complete delta deletes every local replica it does not name.
 *
 * Damage found at read time (a batch a leader was about to serve fails its CRC on storage, PartitionLog.onReadDamage):
 * the partition stops being served at once, then in the delta order the role ends, the log is reopened through
 * recovery (cut at the damage) and the replica is reported incomplete (the controller takes it out of the ISR and
 * elects another member). Until an image shows this broker out of that ISR it does not lead the partition again; it
 * follows whoever does, and rejoins the ISR the usual way (caught up, proposed by the leader).
 */
import { SamsaError } from '@samsa/shared'
import type { ReplicaOwner } from '../broker/replica-identity.js'
import type { LeaderHandle, PartitionLeadership, Resignation } from '../broker/partition-leadership.js'
import type { Clock, Logger, Timer } from '../clock.js'
import type { LocalPartition, LocalPartitionChanges } from '../controller/metadata/metadata-delta.js'
import type { MetadataImage } from '../controller/metadata/metadata-image.js'
import type { PartitionLog } from '../log/partition-log.js'
import type { ReadDamage } from '../log/served-batches.js'
import type { PartitionRoleListener } from '../cluster/partition-roles.js'
import { FollowerFetcher, type FollowerFetcherConfig, type LeaderLink } from './follower-fetcher.js'
import { LeaderPartition, type AlterPartition } from './leader-partition.js'

/** This broker's replica logs. */
export interface ReplicaLogs {
  /**
   * The local replica's log (its high watermark set by replication) for `owner`'s topic, created when new; a replica
   * recorded for another topic is deleted and created again empty.
   */
  open(topic: string, partition: number, owner: ReplicaOwner): Promise<PartitionLog>
  /** Closes the local replica's log and opens it again through recovery (which cuts a replica at damage in place). */
  reopen(topic: string, partition: number): Promise<PartitionLog>
  /** Closes and deletes the local replica. */
  delete(topic: string, partition: number): Promise<void>
  /** Every local replica, with a role or not. */
  hosted(): Iterable<{ readonly topic: string; readonly partition: number }>
}

/** Replicas this broker found incomplete while running, for the active controller (sent until it accepts them). */
export interface IncompleteReplicaReports {
  reportIncomplete(topic: string, partition: number): void
}

/** Connections to other brokers, for followers to reach their leader. */
export interface ReplicaLinks {
  link(brokerId: number, advertisedUrl: string): LeaderLink
}

export interface ReplicaManagerConfig {
  /** A follower that has not caught up for this long leaves the ISR (Kafka's replica.lag.time.max.ms). */
  readonly replicaLagTimeMaxMs: number
  /** How often leaders check their ISR for lagging followers and checkpoint their high watermark. */
  readonly isrCheckIntervalMs: number
  readonly fetcher: Partial<FollowerFetcherConfig>
}

export const defaultReplicaManagerConfig: ReplicaManagerConfig = { replicaLagTimeMaxMs: 30_000, isrCheckIntervalMs: 5_000, fetcher: {} }

export interface ReplicaManagerDeps {
  readonly brokerId: number
  readonly logs: ReplicaLogs
  readonly links: ReplicaLinks
  readonly alterPartition: AlterPartition
  readonly incompleteReplicas: IncompleteReplicaReports
  readonly clock: Clock
  readonly logger: Logger
}

type Role =
  | { readonly kind: 'leader'; readonly leader: LeaderPartition; readonly log: PartitionLog; offDamage: () => void }
  | { readonly kind: 'follower'; readonly leaderId: number; readonly leaderEpoch: number; readonly fetcher: FollowerFetcher | null; readonly log: PartitionLog }

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`

export class ReplicaManager implements PartitionRoleListener, PartitionLeadership {
  readonly #config: ReplicaManagerConfig
  readonly #deps: ReplicaManagerDeps
  readonly #roles = new Map<string, Role>()
  /** Each delta is applied after the previous one. */
  #applying: Promise<void> = Promise.resolve()
  #timer: Timer | null = null
  #stopped = false
  readonly #resignListeners = new Set<(r: Resignation) => void>()
  #leaderElections = 0
  /** Broker registrations of the last image applied: an unfencing between two images is told to every leader. */
  #brokers: MetadataImage['brokers'] = new Map()
  /** The image of the delta applied last (a repaired replica takes its role from it). */
  #image: MetadataImage | null = null
  /** Replicas found damaged while leading: not led again until an image shows this broker out of their ISR. */
  readonly #damaged = new Set<string>()

  constructor(config: Partial<ReplicaManagerConfig>, deps: ReplicaManagerDeps) {
    this.#config = { ...defaultReplicaManagerConfig, ...config }
    this.#deps = deps
    this.#schedule()
  }

  onLocalChanges(changes: LocalPartitionChanges, image: MetadataImage, opts?: { readonly complete?: boolean }): Promise<void> {
    const run = this.#applying.then(() => this.#apply(changes, image, opts?.complete === true))
    this.#applying = run.catch(() => {})
    return run
  }

  /** Resolves once every change handed over so far has been acted on (failed or not). */
  settled(): Promise<void> {
    return this.#applying
  }

  leader(topic: string, partition: number, currentLeaderEpoch?: number): LeaderHandle {
    const role = this.#roles.get(key(topic, partition))
    if (role?.kind !== 'leader') {
      const details: Record<string, number> = role ? { leaderId: role.leaderId, leaderEpoch: role.leaderEpoch } : {}
      throw new SamsaError('NOT_LEADER_OR_FOLLOWER', `this broker does not lead ${topic}/${partition}${role && role.leaderId >= 0 ? `; broker ${role.leaderId} does` : ''}`, details)
    }
    const epoch = role.leader.leaderEpoch
    if (currentLeaderEpoch !== undefined && currentLeaderEpoch >= 0 && currentLeaderEpoch !== epoch) {
      const name = currentLeaderEpoch < epoch ? 'FENCED_LEADER_EPOCH' : 'UNKNOWN_LEADER_EPOCH'
      throw new SamsaError(name, `${topic}/${partition}: leader epoch ${currentLeaderEpoch} is not this leader's ${epoch}`, { leaderEpoch: epoch })
    }
    return role.leader
  }

  onResigned(listener: (r: Resignation) => void): () => void {
    this.#resignListeners.add(listener)
    return () => void this.#resignListeners.delete(listener)
  }

  replicaFetched(topic: string, partition: number, replicaId: number, fetchOffset: number): void {
    const role = this.#roles.get(key(topic, partition))
    if (role?.kind === 'leader') role.leader.replicaFetched(replicaId, fetchOffset)
  }

  /** Partitions this broker leads now, with their replica count and ISR (metrics: ISR size, under-replicated). */
  *leaderships(): Iterable<{ readonly topic: string; readonly partition: number; readonly replicas: number; readonly isr: readonly number[] }> {
    for (const role of this.#roles.values()) {
      if (role.kind === 'leader') yield { topic: role.leader.topic, partition: role.leader.partition, replicas: role.leader.replicaCount, isr: role.leader.isr }
    }
  }

  /** Times this broker became the leader of a partition since it started. */
  get leaderElections(): number {
    return this.#leaderElections
  }

  /** The partition's role here, for tests and metrics. */
  role(topic: string, partition: number): { kind: 'leader'; isr: readonly number[]; leaderEpoch: number } | { kind: 'follower'; leaderId: number; leaderEpoch: number; fetcher: string } | null {
    const role = this.#roles.get(key(topic, partition))
    if (!role) return null
    if (role.kind === 'leader') return { kind: 'leader', isr: role.leader.isr, leaderEpoch: role.leader.leaderEpoch }
    return { kind: 'follower', leaderId: role.leaderId, leaderEpoch: role.leaderEpoch, fetcher: role.fetcher?.state ?? 'none' }
  }

  /** Stops every fetcher and leader role (the logs stay open: the broker closes them). */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) this.#deps.clock.clearTimeout(this.#timer)
    await this.#applying
    for (const [k, role] of this.#roles) {
      this.#roles.delete(k)
      await this.#end(role)
    }
  }

  async #apply(changes: LocalPartitionChanges, image: MetadataImage, complete: boolean): Promise<void> {
    if (this.#stopped) return
    this.#image = image
    for (const p of [...changes.leaders, ...changes.followers]) {
      if (!p.registration.isr.includes(this.#deps.brokerId)) this.#damaged.delete(key(p.topic, p.partition))
    }
    if (complete) await this.#removeStrays(changes)
    for (const p of changes.removed) {
      const k = key(p.topic, p.partition)
      this.#damaged.delete(k)
      const role = this.#roles.get(k)
      this.#roles.delete(k)
      if (role) await this.#end(role, { topic: p.topic, partition: p.partition })
      await this.#deps.logs.delete(p.topic, p.partition).catch((e: unknown) => {
        this.#deps.logger.warn({ topic: p.topic, partition: p.partition, err: String(e) }, 'could not delete a removed replica')
      })
    }
    for (const p of changes.leaders) await this.#becomeLeader(p, image)
    for (const p of changes.followers) await this.#becomeFollower(p, image)
    this.#tellUnfenced(image)
  }

  /** Brokers unfenced since the last image (registered again, or unfenced): leaders may propose them to the ISR at once. */
  #tellUnfenced(image: MetadataImage): void {
    const before = this.#brokers
    this.#brokers = image.brokers
    for (const [id, b] of image.brokers) {
      if (b.fenced || before.get(id)?.fenced === false) continue
      for (const role of this.#roles.values()) if (role.kind === 'leader') role.leader.followerUnfenced(id)
    }
  }

  /** Deletes every local replica that complete changes do not name: its topic is gone, or its replicas moved. */
  async #removeStrays(changes: LocalPartitionChanges): Promise<void> {
    const named = new Set([...changes.leaders, ...changes.followers].map((p) => key(p.topic, p.partition)))
    for (const { topic, partition } of [...this.#deps.logs.hosted()]) {
      if (named.has(key(topic, partition))) continue
      const role = this.#roles.get(key(topic, partition))
      this.#roles.delete(key(topic, partition))
      if (role) await this.#end(role, { topic, partition })
      this.#deps.logger.warn({ topic, partition }, 'deleting a stray replica: the metadata assigns this broker no replica of it (its topic was deleted while the broker was down)')
      await this.#deps.logs.delete(topic, partition).catch((e: unknown) => {
        this.#deps.logger.warn({ topic, partition, err: String(e) }, 'could not delete a stray replica')
      })
    }
  }

  /** What opening the local replica of `p` asks: its topic's identity; a replica without one is kept if it may hold committed records only it has. */
  #owner(p: LocalPartition, image: MetadataImage): ReplicaOwner {
    const topic = image.topics.get(p.topic)
    if (!topic) throw new Error(`${p.topic} is not in the image its changes came from`)
    const reg = p.registration
    return {
      identity: { topicId: topic.topicId, createdAtOffset: topic.createdAtOffset },
      adoptUnmarked: reg.leader === this.#deps.brokerId || reg.isr.includes(this.#deps.brokerId),
    }
  }

  async #becomeLeader(p: LocalPartition, image: MetadataImage): Promise<void> {
    const k = key(p.topic, p.partition)
    const reg = p.registration
    if (this.#damaged.has(k)) {
      this.#deps.logger.warn({ topic: p.topic, partition: p.partition, leaderEpoch: reg.leaderEpoch }, 'not leading a replica found damaged until the controller takes it out of the ISR')
      return
    }
    const current = this.#roles.get(k)
    if (current?.kind === 'leader' && current.leader.leaderEpoch === reg.leaderEpoch) {
      current.leader.applyRegistration(reg)
      return
    }
    if (current) await this.#end(current, { topic: p.topic, partition: p.partition, leaderId: reg.leader, leaderEpoch: reg.leaderEpoch })
    this.#roles.delete(k)
    const log = await this.#deps.logs.open(p.topic, p.partition, this.#owner(p, image))
    await log.becomeLeader(reg.leaderEpoch)
    const minInsyncReplicas = image.topics.get(p.topic)?.config.minInsyncReplicas ?? 1
    const leader = new LeaderPartition({
      topic: p.topic, partition: p.partition, localBrokerId: this.#deps.brokerId, registration: reg, minInsyncReplicas,
      replicaLagTimeMaxMs: this.#config.replicaLagTimeMaxMs, expansionRetryMaxMs: this.#config.isrCheckIntervalMs, log, alterPartition: this.#deps.alterPartition, clock: this.#deps.clock,
      logger: this.#deps.logger.child({ topic: p.topic, partition: p.partition }),
    })
    const role: Role = { kind: 'leader', leader, log, offDamage: () => {} }
    role.offDamage = log.onReadDamage((damage) => this.#onReadDamage(p.topic, p.partition, role, damage))
    this.#roles.set(k, role)
    this.#leaderElections++
    this.#deps.logger.info({ topic: p.topic, partition: p.partition, leaderEpoch: reg.leaderEpoch, isr: reg.isr, logEndOffset: log.logEndOffset }, 'became leader')
  }

  async #becomeFollower(p: LocalPartition, image: MetadataImage): Promise<void> {
    const k = key(p.topic, p.partition)
    const reg = p.registration
    const current = this.#roles.get(k)
    if (current?.kind === 'follower' && current.leaderId === reg.leader && current.leaderEpoch === reg.leaderEpoch && current.fetcher?.state !== 'awaiting-metadata') return
    if (current) await this.#end(current, { topic: p.topic, partition: p.partition, leaderId: reg.leader, leaderEpoch: reg.leaderEpoch })
    this.#roles.delete(k)
    const log = await this.#deps.logs.open(p.topic, p.partition, this.#owner(p, image))
    const url = reg.leader >= 0 ? image.brokers.get(reg.leader)?.advertisedUrl : undefined
    let fetcher: FollowerFetcher | null = null
    if (url !== undefined) {
      fetcher = new FollowerFetcher({
        topic: p.topic, partition: p.partition, log, replicaId: this.#deps.brokerId, leaderId: reg.leader, leaderEpoch: reg.leaderEpoch,
        link: this.#deps.links.link(reg.leader, url), clock: this.#deps.clock, logger: this.#deps.logger.child({ topic: p.topic, partition: p.partition }),
        config: this.#config.fetcher,
      })
      fetcher.start()
    }
    this.#roles.set(k, { kind: 'follower', leaderId: reg.leader, leaderEpoch: reg.leaderEpoch, fetcher, log })
    this.#deps.logger.info({ topic: p.topic, partition: p.partition, leader: reg.leader, leaderEpoch: reg.leaderEpoch }, 'became follower')
  }

  /** A leader's read found its replica damaged on storage: serve it no more, then repair it in the delta order. */
  #onReadDamage(topic: string, partition: number, role: Role, damage: ReadDamage): void {
    const k = key(topic, partition)
    if (this.#roles.get(k) !== role || this.#stopped) return
    this.#roles.delete(k)
    this.#damaged.add(k)
    this.#deps.logger.error({ topic, partition, ...damage }, 'a read found this replica damaged; it stops leading, is reopened through recovery and reported incomplete')
    const ended = this.#end(role, { topic, partition }) // resigns now: subscriptions end, pending acks fail
    const run = this.#applying.then(() => this.#repair(topic, partition, damage, ended))
    this.#applying = run.catch((e: unknown) => this.#deps.logger.error({ topic, partition, err: String(e) }, 'repairing a damaged replica failed'))
  }

  /**
   * Once the damaged replica's role has ended, reopens its log through recovery and reports it incomplete when the
   * damaged batch is gone from it: cut as damage, or as a torn tail when it was the last batch (which recovery cannot
   * tell from a torn write, and under fsync interval/never does not report). When recovery keeps that batch, it was not
   * damaged on storage and the replica may lead again. Then takes the role the latest image gives it (never leading
   * while still in the ISR: see #becomeLeader).
   */
  async #repair(topic: string, partition: number, damage: ReadDamage, damagedRoleEnded: Promise<void>): Promise<void> {
    const k = key(topic, partition)
    await damagedRoleEnded
    const since = this.#roles.get(k) // a role a delta gave it meanwhile (a follower) uses the log about to be reopened
    this.#roles.delete(k)
    if (since) await this.#end(since)
    const image = this.#image
    const t = image?.topics.get(topic)
    const reg = t?.partitions[partition]
    if (this.#stopped || !image || !t || !reg?.replicas.includes(this.#deps.brokerId)) return // deleted meanwhile
    const log = await this.#deps.logs.reopen(topic, partition)
    if (log.incompleteAtOpen === null && log.logEndOffset > damage.offset) this.#damaged.delete(k)
    else this.#deps.incompleteReplicas.reportIncomplete(topic, partition)
    const local: LocalPartition = { topic, topicId: t.topicId, partition, registration: reg, previous: null }
    if (reg.leader === this.#deps.brokerId) await this.#becomeLeader(local, image)
    else await this.#becomeFollower(local, image)
  }

  /** Ends a role; a leader role's end is told to onResigned listeners (`next`: the partition's new leader, if known). */
  async #end(role: Role, next?: Resignation): Promise<void> {
    if (role.kind === 'leader') {
      role.offDamage()
      role.leader.resign()
      if (next) for (const l of this.#resignListeners) l(next)
      await role.log.checkpointHighWatermark().catch(() => {})
    } else {
      await role.fetcher?.stop()
      await role.log.checkpointHighWatermark().catch(() => {})
    }
  }

  #schedule(): void {
    if (this.#stopped) return
    this.#timer = this.#deps.clock.setTimeout(() => {
      this.#timer = null
      this.checkIsr()
      this.#schedule()
    }, this.#config.isrCheckIntervalMs)
  }

  /** Every leader drops followers lagging past replicaLagTimeMaxMs and checkpoints its high watermark. */
  checkIsr(): void {
    for (const role of this.#roles.values()) {
      if (role.kind !== 'leader') continue
      role.leader.checkIsr()
      role.log.checkpointHighWatermark().catch((e: unknown) => this.#deps.logger.warn({ err: String(e) }, 'could not checkpoint the high watermark'))
    }
  }
}
