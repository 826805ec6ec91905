/**
 * @module GroupCoordinator: the broker's side of consumer groups. Group G lives in partition groupPartition(G, n) of
 * `__consumer_offsets`; the broker leading that partition coordinates G: it loads the partition's groups (GroupShard)
 * at its current leader epoch on the first request or sweep after it became leader (a request waits up to 2 s for the
 * load, then gets COORDINATOR_LOAD_IN_PROGRESS), and drops them when it stops leading (NOT_COORDINATOR to later
 * requests, so clients find the new coordinator).
 *
 * Invariants: a request is served only by a shard loaded at the leader epoch this broker holds now; every answer
 * waits until the state it reveals is durable in the partition (GroupShard.barrier); group state changes are
 * synchronous, so two requests never interleave inside one; a failed append drops the shard (reloaded from the log).
 * Time comes from the injected clock: a sweep every min(1 s, heartbeat interval) expires members and loads the
 * partitions this broker leads.
 */
import {
  ErrorMessages, SamsaError,
  type ConsumerGroupHeartbeatRequest, type ConsumerGroupHeartbeatResponse, type DescribeGroupsResponse, type FindCoordinatorResponse,
  type GroupListing, type OffsetCommitRequest, type OffsetCommitResponse, type OffsetFetchRequest, type OffsetFetchResponse,
} from '@samsa/shared'
import type { Timer } from '../clock.js'
import type { ConsumerGroup, GroupSettings } from './consumer-group.js'
import type { CoordinatorPorts } from './coordinator-ports.js'
import { describeGroup } from './describe-group.js'
import type { OffsetRecord } from './group-records.js'
import { groupPartition, OFFSETS_TOPIC } from './group-partition.js'
import { GroupShard } from './group-shard.js'

/** What /metrics and the REST API read of the coordinator. */
export interface CoordinatorStats {
  readonly groups: number
  readonly rebalances: number
  readonly refusedMembers: number
  readonly refusedGroups: number
}

const PRINTABLE = /^[\x20-\x7e]{1,249}$/
/** How long a request waits for its group's partition to load before COORDINATOR_LOAD_IN_PROGRESS. */
const LOAD_WAIT_MS = 2_000

export function checkGroupId(groupId: string): void {
  if (!PRINTABLE.test(groupId)) throw new SamsaError('INVALID_GROUP_ID', ErrorMessages.invalidGroupId(groupId))
}

export class GroupCoordinator {
  readonly #ports: CoordinatorPorts
  readonly #groupSettings: GroupSettings
  readonly #shards = new Map<number, { shard: GroupShard; loaded: Promise<void> }>()
  #creating: Promise<void> | null = null
  #timer: Timer | null = null
  #stopped = false
  #unsubscribe: (() => void) | null = null
  #rebalances = 0
  #refusedMembers = 0
  #refusedGroups = 0

  constructor(ports: CoordinatorPorts) {
    this.#ports = ports
    const s = ports.settings
    this.#groupSettings = { sessionTimeoutMs: s.groupSessionTimeoutMs, heartbeatIntervalMs: s.groupHeartbeatIntervalMs, maxMembers: s.maxMembersPerGroup }
  }

  start(): void {
    this.#unsubscribe = this.#ports.onResigned((p) => this.#drop(p))
    this.#schedule()
  }

  stop(): void {
    this.#stopped = true
    this.#unsubscribe?.()
    if (this.#timer) this.#ports.clock.clearTimeout(this.#timer)
    this.#shards.clear()
  }

  get stats(): CoordinatorStats {
    let groups = 0
    for (const { shard } of this.#shards.values()) groups += shard.groups.size
    return { groups, rebalances: this.#rebalances, refusedMembers: this.#refusedMembers, refusedGroups: this.#refusedGroups }
  }

  /** Any broker answers: the leader of the group's partition, creating `__consumer_offsets` on first need. */
  async findCoordinator(groupId: string): Promise<FindCoordinatorResponse> {
    checkGroupId(groupId)
    let n = this.#ports.offsetsTopicPartitions()
    if (n === null) {
      await this.#createOffsetsTopic()
      n = this.#ports.offsetsTopicPartitions()
    }
    if (n === null) throw new SamsaError('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC} is being created`)
    const leader = this.#ports.leaderOf(groupPartition(groupId, n))
    if (!leader) throw new SamsaError('COORDINATOR_NOT_AVAILABLE', `partition ${groupPartition(groupId, n)} of ${OFFSETS_TOPIC} has no leader at the moment`)
    return leader
  }

  async heartbeat(req: ConsumerGroupHeartbeatRequest, clientHost: string): Promise<ConsumerGroupHeartbeatResponse> {
    checkGroupId(req.groupId)
    const shard = await this.#shardFor(req.groupId)
    let group = shard.group(req.groupId)
    if (!group) {
      if (req.memberEpoch !== 0) throw new SamsaError('UNKNOWN_MEMBER_ID', ErrorMessages.unknownMember(req.groupId, req.memberId))
      group = this.#newGroup(shard, req.groupId)
    }
    const before = group.rebalances
    let res: ConsumerGroupHeartbeatResponse
    try {
      res = group.heartbeat(req, { nowMs: this.#ports.clock.monotonicMs(), clientHost, partitionCount: (t) => this.#ports.partitionCount(t) })
    } catch (e) {
      if (e instanceof SamsaError && e.code === 81) {
        this.#refusedMembers++
        this.#ports.metrics.groupRefused('members')
      }
      throw e
    }
    this.#counted(group.rebalances - before)
    await this.#write(shard, this.#changes(shard, group))
    return res
  }

  async commit(req: OffsetCommitRequest): Promise<OffsetCommitResponse> {
    checkGroupId(req.groupId)
    const shard = await this.#shardFor(req.groupId)
    const admin = req.memberId === '' && req.memberEpoch === -1
    let group = shard.group(req.groupId)
    if (!group) {
      if (!admin) throw new SamsaError('UNKNOWN_MEMBER_ID', ErrorMessages.unknownMember(req.groupId, req.memberId))
      group = this.#newGroup(shard, req.groupId)
    }
    group.validateMemberEpoch(req.memberId, req.memberEpoch, true)
    const owns = (topic: string, partition: number) => admin || group.owns(req.memberId, topic, partition)
    const now = this.#ports.clock.nowMs()
    const records: OffsetRecord[] = []
    const topics = req.topics.map((t) => {
      const count = this.#ports.partitionCount(t.topic)
      return {
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          if (count === null || p.partition < 0 || p.partition >= count) return { partition: p.partition, errorCode: 3 }
          if (p.offset < 0) return { partition: p.partition, errorCode: 42 }
          // Not (or no longer) the member's: STALE_MEMBER_EPOCH, so a late commit cannot move the owner's offset.
          if (!owns(t.topic, p.partition)) return { partition: p.partition, errorCode: 113 }
          records.push(group.offsets.commitRecord(t.topic, p.partition, { offset: p.offset, leaderEpoch: p.leaderEpoch, metadata: p.metadata, commitTimestampMs: now }))
          return { partition: p.partition, errorCode: 0 }
        }),
      }
    })
    await this.#write(shard, records)
    for (const r of records) group.offsets.replay(r)
    return { topics }
  }

  async fetchOffsets(req: OffsetFetchRequest): Promise<OffsetFetchResponse> {
    checkGroupId(req.groupId)
    const shard = await this.#shardFor(req.groupId)
    const group = shard.group(req.groupId)
    const admin = req.memberId === '' && req.memberEpoch === -1
    if (!admin) {
      if (!group) throw new SamsaError('UNKNOWN_MEMBER_ID', ErrorMessages.unknownMember(req.groupId, req.memberId))
      group.validateMemberEpoch(req.memberId, req.memberEpoch, false)
    }
    await shard.barrier()
    const none = { offset: -1, leaderEpoch: -1, metadata: null, errorCode: 0 }
    if (req.topics === null) {
      const byTopic = new Map<string, OffsetFetchResponse['topics'][number]['partitions'][number][]>()
      for (const c of group?.offsets.all() ?? []) {
        const list = byTopic.get(c.topic) ?? []
        list.push({ partition: c.partition, offset: c.value.offset, leaderEpoch: c.value.leaderEpoch, metadata: c.value.metadata, errorCode: 0 })
        byTopic.set(c.topic, list)
      }
      return { topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) }
    }
    return {
      topics: req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((partition) => {
          const c = group?.offsets.get(t.topic, partition)
          return c ? { partition, offset: c.offset, leaderEpoch: c.leaderEpoch, metadata: c.metadata, errorCode: 0 } : { partition, ...none }
        }),
      })),
    }
  }

  /** The groups of every `__consumer_offsets` partition this broker leads (loading those not loaded yet). */
  async listGroups(): Promise<GroupListing[]> {
    const out: GroupListing[] = []
    for (const shard of await this.#ledShards()) {
      await shard.barrier()
      for (const g of shard.groups.values()) out.push({ groupId: g.groupId, state: g.state, memberCount: g.members.size, groupEpoch: g.groupEpoch })
    }
    return out.sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0))
  }

  async describeGroup(groupId: string): Promise<DescribeGroupsResponse> {
    checkGroupId(groupId)
    const shard = await this.#shardFor(groupId)
    await shard.barrier()
    const group = shard.group(groupId)
    if (!group || (group.members.size === 0 && group.offsets.size === 0)) throw new SamsaError('GROUP_ID_NOT_FOUND', ErrorMessages.groupNotFound(groupId))
    return describeGroup(group, this.#ports)
  }

  /** Every loaded group this broker coordinates now (for metrics), without waiting. */
  *loadedGroups(): Iterable<ConsumerGroup> {
    for (const { shard } of this.#shards.values()) yield* shard.groups.values()
  }

  /** A loaded group's description (metrics at scrape time), without waiting for pending writes. */
  describeLoaded(group: ConsumerGroup): DescribeGroupsResponse {
    return describeGroup(group, this.#ports)
  }

  #counted(rebalances: number): void {
    this.#rebalances += rebalances
    for (let i = 0; i < rebalances; i++) this.#ports.metrics.groupRebalanced()
  }

  /** What changed in the group, plus its deletion (a metadata tombstone) once it has no members and no commits left. */
  #changes(shard: GroupShard, group: ConsumerGroup) {
    const records = group.drainChanges()
    if (group.members.size > 0 || group.offsets.size > 0) return records
    shard.groups.delete(group.groupId)
    return [...records, { type: 'metadata' as const, groupId: group.groupId, value: null }]
  }

  #newGroup(shard: GroupShard, groupId: string): ConsumerGroup {
    if (this.stats.groups >= this.#ports.settings.maxGroups) {
      this.#refusedGroups++
      this.#ports.metrics.groupRefused('groups')
      throw new SamsaError('POLICY_VIOLATION', ErrorMessages.tooManyGroups(this.#ports.settings.maxGroups))
    }
    return shard.groupOrNew(groupId)
  }

  async #write(shard: GroupShard, records: Parameters<GroupShard['write']>[0]): Promise<void> {
    try {
      await shard.write(records)
    } catch (e) {
      this.#drop(shard.partition, shard)
      const lost = e instanceof SamsaError && (e.code === 6 || e.code === 74)
      throw lost
        ? new SamsaError('NOT_COORDINATOR', `this broker stopped leading partition ${shard.partition} of ${OFFSETS_TOPIC}`)
        : new SamsaError('COORDINATOR_NOT_AVAILABLE', `the group's state could not be written to ${OFFSETS_TOPIC}: ${e instanceof Error ? e.message : String(e)}`)
    }
  }

  #createOffsetsTopic(): Promise<void> {
    if (!this.#creating) {
      const s = this.#ports.settings
      this.#creating = this.#ports.createOffsetsTopic(s.offsetsTopicPartitions, s.offsetsTopicReplicationFactor).finally(() => {
        this.#creating = null
      })
    }
    return this.#creating
  }

  /** The loaded shard holding `groupId`: NOT_COORDINATOR when this broker does not lead its partition. */
  async #shardFor(groupId: string): Promise<GroupShard> {
    const n = this.#ports.offsetsTopicPartitions()
    if (n === null) throw new SamsaError('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC} does not exist yet: ask findCoordinator`)
    const shard = await this.#loadedShard(groupPartition(groupId, n))
    if (!shard) throw new SamsaError('NOT_COORDINATOR', ErrorMessages.notCoordinator(groupId))
    return shard
  }

  /** The shard of partition `p` loaded at this broker's current leader epoch; null when it does not lead `p`. */
  async #loadedShard(p: number): Promise<GroupShard | null> {
    const epoch = this.#ports.leaderEpoch(p)
    if (epoch === null) {
      this.#drop(p)
      return null
    }
    let entry = this.#shards.get(p)
    if (!entry || entry.shard.leaderEpoch !== epoch || entry.shard.failed) {
      const shard = new GroupShard(p, epoch, {
        readLocal: (offset, max) => this.#ports.readLocal(p, offset, max),
        localRange: () => this.#ports.localRange(p),
        append: (batch) => this.#ports.append(p, batch),
      }, { clock: this.#ports.clock, logger: this.#ports.logger, settings: this.#groupSettings })
      entry = { shard, loaded: shard.load() }
      this.#shards.set(p, entry)
      this.#ports.logger.info({ partition: p, leaderEpoch: epoch }, 'loading consumer groups')
    }
    const current = entry
    try {
      await this.#withinLoadWait(current.loaded, p)
    } catch (e) {
      if (e instanceof SamsaError && e.code === 14) throw e
      this.#drop(p, current.shard)
      throw new SamsaError('COORDINATOR_LOAD_IN_PROGRESS', `partition ${p} of ${OFFSETS_TOPIC} could not be loaded yet: ${e instanceof Error ? e.message : String(e)}`)
    }
    if (this.#shards.get(p) !== current) return this.#loadedShard(p)
    return current.shard
  }

  /** The load, or COORDINATOR_LOAD_IN_PROGRESS (retriable) when it takes longer than LOAD_WAIT_MS (it goes on). */
  #withinLoadWait(loaded: Promise<void>, p: number): Promise<void> {
    let timer: Timer | null = null
    const slow = new Promise<never>((_, reject) => {
      timer = this.#ports.clock.setTimeout(() => reject(new SamsaError('COORDINATOR_LOAD_IN_PROGRESS', `partition ${p} of ${OFFSETS_TOPIC} is still loading`)), LOAD_WAIT_MS)
    })
    slow.catch(() => {})
    return Promise.race([loaded, slow]).finally(() => {
      if (timer) this.#ports.clock.clearTimeout(timer)
    })
  }

  async #ledShards(): Promise<GroupShard[]> {
    const n = this.#ports.offsetsTopicPartitions()
    if (n === null) return []
    const out: GroupShard[] = []
    for (let p = 0; p < n; p++) {
      if (this.#ports.leaderEpoch(p) === null) {
        this.#drop(p)
        continue
      }
      const shard = await this.#loadedShard(p).catch(() => null)
      if (shard) out.push(shard)
    }
    return out
  }

  #drop(p: number, only?: GroupShard): void {
    const entry = this.#shards.get(p)
    if (!entry || (only && entry.shard !== only)) return
    this.#shards.delete(p)
    this.#ports.logger.info({ partition: p, leaderEpoch: entry.shard.leaderEpoch }, 'unloaded consumer groups')
  }

  #schedule(): void {
    if (this.#stopped) return
    const ms = Math.min(1_000, this.#ports.settings.groupHeartbeatIntervalMs)
    this.#timer = this.#ports.clock.setTimeout(() => {
      this.#sweep()
        .catch((err: unknown) => this.#ports.logger.warn({ err: String(err) }, 'consumer group sweep failed'))
        .finally(() => this.#schedule())
    }, ms)
  }

  /** Expires silent members of every loaded group, after loading the partitions this broker now leads. */
  async #sweep(): Promise<void> {
    const now = this.#ports.clock.monotonicMs()
    for (const shard of await this.#ledShards()) {
      for (const group of shard.groups.values()) {
        const before = group.rebalances
        const gone = group.expire(now, { partitionCount: (t) => this.#ports.partitionCount(t) })
        this.#counted(group.rebalances - before)
        const records = this.#changes(shard, group)
        if (gone.length > 0) this.#ports.logger.info({ groupId: group.groupId, members: gone }, 'removed consumer group members (session or rebalance timeout)')
        // Not awaited: a slow append (acks all waiting for its ISR) must not hold the other groups' expiry; the shard keeps the order.
        if (records.length > 0) this.#write(shard, records).catch(() => {})
      }
    }
  }
}
