/**
 * @module ConsumerGroup: one group's state and KIP-848 rules, pure (time is an argument, no I/O). The coordinator
 * persists what `drainChanges` returns after each operation and answers once that is durable.
 *
 * Invariants:
 * - a partition is owned (assigned or pending revocation) by at most one member (`#owners`); it is given to a member
 *   only once no other member owns it, so no partition has two owners in one member epoch;
 * - a member's epoch moves to the assignment epoch only once it owns nothing outside its target;
 * - groupEpoch grows on every change of membership, subscriptions or subscribed topics' partition counts, and the
 *   target assignment is recomputed at once (assignmentEpoch = groupEpoch after every operation);
 * - a member whose session times out, or that does not give up revoked partitions within its rebalance timeout, is
 *   removed (its partitions become free; a later request of it gets UNKNOWN_MEMBER_ID);
 * - a static member that leaves with epoch −2 keeps its partitions, target and epoch until its session timeout; a join
 *   with its instance id takes its place without a new group epoch.
 */
import {
  ErrorMessages, MemberEpochs, SamsaError,
  type ConsumerGroupHeartbeatRequest, type ConsumerGroupHeartbeatResponse, type GroupAssignorName, type GroupState,
} from '@samsa/shared'
import { assign, chooseAssignor, isAssignor } from './assignors.js'
import { newMember, type GroupMember } from './group-member.js'
import type { GroupRecord } from './group-records.js'
import { GroupOffsets } from './group-offsets.js'
import { difference, intersects, partitionKey, sameSet, toPartitionSet, toTopicPartitions, type PartitionKey } from './partition-set.js'

export interface GroupSettings {
  readonly sessionTimeoutMs: number
  readonly heartbeatIntervalMs: number
  readonly maxMembers: number
}

export interface HeartbeatContext {
  readonly nowMs: number
  readonly clientHost: string
  /** Partition count of a topic; null when it does not exist. */
  partitionCount(topic: string): number | null
}

export interface GroupMetadata {
  readonly groupEpoch: number
  readonly assignmentEpoch: number
  readonly assignor: GroupAssignorName
  readonly partitionCounts: ReadonlyMap<string, number>
}

export class ConsumerGroup {
  readonly groupId: string
  readonly #settings: GroupSettings
  readonly members = new Map<string, GroupMember>()
  readonly offsets: GroupOffsets
  #groupEpoch = 0
  #assignmentEpoch = 0
  #assignor: GroupAssignorName = 'uniform'
  /** Partition counts of the subscribed topics when the target was last computed. */
  #partitionCounts = new Map<string, number>()
  readonly #target = new Map<string, Set<PartitionKey>>()
  /** Partition → the member that owns it (assigned or pending revocation). */
  readonly #owners = new Map<PartitionKey, string>()
  #metadataDirty = false
  readonly #dirtyMembers = new Set<string>()
  readonly #removedMembers = new Set<string>()
  /** Rebalances (target recomputations) since the group was created or loaded. */
  rebalances = 0

  constructor(groupId: string, settings: GroupSettings) {
    this.groupId = groupId
    this.#settings = settings
    this.offsets = new GroupOffsets(groupId)
  }

  get groupEpoch(): number {
    return this.#groupEpoch
  }

  get assignmentEpoch(): number {
    return this.#assignmentEpoch
  }

  get assignor(): GroupAssignorName {
    return this.#assignor
  }

  get state(): GroupState {
    if (this.members.size === 0) return 'empty'
    if (this.#assignmentEpoch < this.#groupEpoch) return 'assigning'
    for (const m of this.members.values()) if (m.state !== 'stable' || m.memberEpoch !== this.#assignmentEpoch) return 'reconciling'
    return 'stable'
  }

  targetOf(memberId: string): ReadonlySet<PartitionKey> {
    return this.#target.get(memberId) ?? new Set()
  }

  ownerOf(key: PartitionKey): string | undefined {
    return this.#owners.get(key)
  }

  /** One heartbeat (join, stay, leave); throws SamsaError for a refused one. */
  heartbeat(req: ConsumerGroupHeartbeatRequest, ctx: HeartbeatContext): ConsumerGroupHeartbeatResponse {
    if (req.memberId === '') throw new SamsaError('INVALID_REQUEST', 'memberId must be set: a member chooses a random id (a UUID) and keeps it for its life')
    if (req.serverAssignor !== null && !isAssignor(req.serverAssignor)) throw new SamsaError('UNSUPPORTED_ASSIGNOR', ErrorMessages.unsupportedAssignor(req.serverAssignor))
    if (req.memberEpoch === MemberEpochs.LEAVE || req.memberEpoch === MemberEpochs.STATIC_LEAVE) return this.#leave(req, ctx.nowMs)
    if (req.memberEpoch < 0) throw new SamsaError('INVALID_REQUEST', `memberEpoch ${req.memberEpoch} is not a member epoch (0 joins, −1 leaves, −2 leaves as a static member)`)
    const sent = req.ownedPartitions === null ? null : toPartitionSet(req.ownedPartitions)
    const member = req.memberEpoch === MemberEpochs.JOIN ? this.#join(req, ctx) : this.#existing(req, sent)
    if (sent !== null && (member.reportedOwned === null || !sameSet(sent, member.reportedOwned))) {
      member.reportedOwned = sent
      this.#dirtyMembers.add(member.memberId)
    }
    const owned = member.reportedOwned
    member.clientHost = ctx.clientHost
    member.sessionDeadlineMs = ctx.nowMs + this.#settings.sessionTimeoutMs
    if (req.rebalanceTimeoutMs > 0 && req.rebalanceTimeoutMs !== member.rebalanceTimeoutMs) {
      member.rebalanceTimeoutMs = req.rebalanceTimeoutMs
      this.#dirtyMembers.add(member.memberId)
    }
    if (req.subscribedTopicNames !== null && !sameTopics(req.subscribedTopicNames, member.subscribedTopics)) {
      member.subscribedTopics = [...new Set(req.subscribedTopicNames)].sort()
      this.#dirtyMembers.add(member.memberId)
      this.#bumpGroupEpoch()
    }
    if (req.serverAssignor !== null && req.serverAssignor !== member.serverAssignor) {
      member.serverAssignor = req.serverAssignor
      this.#dirtyMembers.add(member.memberId)
      if (chooseAssignor(this.members.values()) !== this.#assignor) this.#bumpGroupEpoch()
    }
    this.#refreshPartitionCounts(ctx)
    if (this.#assignmentEpoch < this.#groupEpoch) this.#computeTarget()
    this.#reconcile(member, owned, ctx.nowMs)
    return { memberId: member.memberId, memberEpoch: member.memberEpoch, heartbeatIntervalMs: this.#settings.heartbeatIntervalMs, assignment: toTopicPartitions(member.assigned) }
  }

  /** Removes members whose session or revocation deadline passed; returns their ids. */
  expire(nowMs: number, ctx?: Pick<HeartbeatContext, 'partitionCount'>): string[] {
    const gone: string[] = []
    for (const m of this.members.values()) {
      if (nowMs >= m.sessionDeadlineMs || (m.revocationDeadlineMs !== null && nowMs >= m.revocationDeadlineMs)) gone.push(m.memberId)
    }
    for (const id of gone) this.#remove(id)
    if (ctx) this.#refreshPartitionCounts(ctx)
    if (this.#assignmentEpoch < this.#groupEpoch) this.#computeTarget()
    return gone
  }

  /**
   * Checks that a commit or an offset fetch comes from the member at its current epoch, or (memberId "" and epoch −1)
   * from an admin tool: a commit of which is refused while the group has members.
   */
  validateMemberEpoch(memberId: string, memberEpoch: number, forCommit: boolean): void {
    if (memberId === '' && memberEpoch === -1) {
      if (forCommit && this.members.size > 0) throw new SamsaError('NON_EMPTY_GROUP', ErrorMessages.nonEmptyGroup(this.groupId, this.members.size))
      return
    }
    const m = this.members.get(memberId)
    if (!m) throw new SamsaError('UNKNOWN_MEMBER_ID', ErrorMessages.unknownMember(this.groupId, memberId))
    if (memberEpoch > m.memberEpoch) throw new SamsaError('FENCED_MEMBER_EPOCH', ErrorMessages.fencedMemberEpoch(this.groupId, memberId, memberEpoch, m.memberEpoch))
    if (memberEpoch < m.memberEpoch) throw new SamsaError('STALE_MEMBER_EPOCH', ErrorMessages.staleMemberEpoch(this.groupId, memberId, memberEpoch, m.memberEpoch))
  }

  /** Whether the member owns the partition now (assigned, or pending revocation: it may still commit it). */
  owns(memberId: string, topic: string, partition: number): boolean {
    return this.#owners.get(partitionKey(topic, partition)) === memberId
  }

  /** Records describing what changed since the last drain (group metadata, members, targets; tombstones for removed members). */
  drainChanges(): GroupRecord[] {
    const out: GroupRecord[] = []
    if (this.#metadataDirty) out.push({ type: 'metadata', groupId: this.groupId, value: this.metadata() })
    for (const id of this.#removedMembers) {
      out.push({ type: 'member', groupId: this.groupId, memberId: id, value: null })
      out.push({ type: 'target', groupId: this.groupId, memberId: id, value: null })
    }
    for (const id of this.#dirtyMembers) {
      const m = this.members.get(id)
      if (!m) continue
      const { sessionDeadlineMs: _s, revocationDeadlineMs: _r, ...persisted } = m
      out.push({ type: 'member', groupId: this.groupId, memberId: id, value: { ...persisted, assigned: new Set(m.assigned), pendingRevocation: new Set(m.pendingRevocation), subscribedTopics: [...m.subscribedTopics], reportedOwned: m.reportedOwned && new Set(m.reportedOwned) } })
      out.push({ type: 'target', groupId: this.groupId, memberId: id, value: new Set(this.targetOf(id)) })
    }
    this.#metadataDirty = false
    this.#dirtyMembers.clear()
    this.#removedMembers.clear()
    return out
  }

  metadata(): GroupMetadata {
    return { groupEpoch: this.#groupEpoch, assignmentEpoch: this.#assignmentEpoch, assignor: this.#assignor, partitionCounts: new Map(this.#partitionCounts) }
  }

  /** Replays one record of the group from __consumer_offsets (loading); deadlines start at `nowMs`. */
  replay(record: GroupRecord, nowMs: number): void {
    switch (record.type) {
      case 'offset':
        this.offsets.replay(record)
        return
      case 'metadata':
        if (record.value === null) {
          // The group was deleted: whatever follows starts a new one.
          this.#groupEpoch = 0
          this.#assignmentEpoch = 0
          this.#partitionCounts = new Map()
          return
        }
        this.#groupEpoch = record.value.groupEpoch
        this.#assignmentEpoch = record.value.assignmentEpoch
        this.#assignor = record.value.assignor
        this.#partitionCounts = new Map(record.value.partitionCounts)
        return
      case 'target':
        if (record.value === null) this.#target.delete(record.memberId)
        else this.#target.set(record.memberId, new Set(record.value))
        return
      case 'member': {
        const old = this.members.get(record.memberId)
        if (old) for (const k of [...old.assigned, ...old.pendingRevocation]) this.#owners.delete(k)
        if (record.value === null) {
          this.members.delete(record.memberId)
          return
        }
        const m: GroupMember = { ...record.value, assigned: new Set(record.value.assigned), pendingRevocation: new Set(record.value.pendingRevocation), reportedOwned: record.value.reportedOwned && new Set(record.value.reportedOwned), sessionDeadlineMs: nowMs + this.#settings.sessionTimeoutMs, revocationDeadlineMs: null }
        if (m.state === 'unrevoked') m.revocationDeadlineMs = nowMs + m.rebalanceTimeoutMs
        this.members.set(m.memberId, m)
        for (const k of [...m.assigned, ...m.pendingRevocation]) this.#owners.set(k, m.memberId)
        return
      }
    }
  }

  #leave(req: ConsumerGroupHeartbeatRequest, nowMs: number): ConsumerGroupHeartbeatResponse {
    const m = this.members.get(req.memberId)
    if (!m) throw new SamsaError('UNKNOWN_MEMBER_ID', ErrorMessages.unknownMember(this.groupId, req.memberId))
    if (req.memberEpoch === MemberEpochs.STATIC_LEAVE) {
      if (m.instanceId === null) throw new SamsaError('INVALID_REQUEST', 'epoch −2 (a temporary leave) is for static members: this member has no instanceId')
      m.left = true
      m.sessionDeadlineMs = nowMs + this.#settings.sessionTimeoutMs
      this.#dirtyMembers.add(m.memberId)
    } else {
      this.#remove(m.memberId)
      this.#computeTarget()
    }
    return { memberId: m.memberId, memberEpoch: req.memberEpoch, heartbeatIntervalMs: this.#settings.heartbeatIntervalMs, assignment: null }
  }

  #join(req: ConsumerGroupHeartbeatRequest, ctx: HeartbeatContext): GroupMember {
    if (req.subscribedTopicNames === null || req.subscribedTopicNames.length === 0 || req.ownedPartitions === null) {
      throw new SamsaError('INVALID_REQUEST', 'a join (memberEpoch 0) must send subscribedTopicNames (at least one topic) and ownedPartitions')
    }
    const fields = { instanceId: req.instanceId, clientHost: ctx.clientHost, subscribedTopics: [...new Set(req.subscribedTopicNames)].sort(), serverAssignor: req.serverAssignor, rebalanceTimeoutMs: req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : 60_000 }
    if (req.instanceId !== null) {
      const holder = [...this.members.values()].find((m) => m.instanceId === req.instanceId)
      if (holder && holder.memberId !== req.memberId) {
        if (!holder.left) throw new SamsaError('UNRELEASED_INSTANCE_ID', ErrorMessages.unreleasedInstance(this.groupId, req.instanceId))
        return this.#replaceStatic(holder, req.memberId, fields, ctx.nowMs)
      }
    }
    const existing = this.members.get(req.memberId)
    if (existing) {
      // A rejoin of a known member (after a fence): it dropped its partitions, so it starts over owning none.
      this.#release(existing.assigned)
      this.#release(existing.pendingRevocation)
      Object.assign(existing, { assigned: new Set(), pendingRevocation: new Set(), memberEpoch: 0, state: 'stable', left: false, reportedOwned: null, revocationDeadlineMs: null, instanceId: req.instanceId })
      this.#dirtyMembers.add(existing.memberId)
      return existing
    }
    if (this.members.size >= this.#settings.maxMembers) throw new SamsaError('GROUP_MAX_SIZE_REACHED', ErrorMessages.groupFull(this.groupId, this.#settings.maxMembers))
    const m = newMember(req.memberId, fields, ctx.nowMs, this.#settings.sessionTimeoutMs)
    this.members.set(m.memberId, m)
    this.#dirtyMembers.add(m.memberId)
    this.#bumpGroupEpoch()
    return m
  }

  /** A static member's return under a new member id: it takes the old member's place, partitions and epoch. */
  #replaceStatic(old: GroupMember, memberId: string, fields: Pick<GroupMember, 'instanceId' | 'clientHost' | 'subscribedTopics' | 'serverAssignor' | 'rebalanceTimeoutMs'>, nowMs: number): GroupMember {
    const m: GroupMember = { ...old, memberId, clientHost: fields.clientHost, rebalanceTimeoutMs: fields.rebalanceTimeoutMs, left: false, reportedOwned: null, sessionDeadlineMs: nowMs + this.#settings.sessionTimeoutMs }
    this.members.delete(old.memberId)
    this.members.set(memberId, m)
    for (const k of [...m.assigned, ...m.pendingRevocation]) this.#owners.set(k, memberId)
    this.#target.set(memberId, this.#target.get(old.memberId) ?? new Set())
    this.#target.delete(old.memberId)
    this.#removedMembers.add(old.memberId)
    this.#dirtyMembers.delete(old.memberId)
    this.#dirtyMembers.add(memberId)
    return m
  }

  #existing(req: ConsumerGroupHeartbeatRequest, sent: ReadonlySet<PartitionKey> | null): GroupMember {
    const m = this.members.get(req.memberId)
    if (!m) throw new SamsaError('UNKNOWN_MEMBER_ID', ErrorMessages.unknownMember(this.groupId, req.memberId))
    const owned = sent ?? m.reportedOwned
    if (req.instanceId !== null && m.instanceId !== req.instanceId) throw new SamsaError('FENCED_INSTANCE_ID', ErrorMessages.fencedInstance(this.groupId, req.instanceId, req.memberId))
    if (req.memberEpoch > m.memberEpoch) throw new SamsaError('FENCED_MEMBER_EPOCH', ErrorMessages.fencedMemberEpoch(this.groupId, m.memberId, req.memberEpoch, m.memberEpoch))
    if (req.memberEpoch < m.memberEpoch) {
      // The answer that moved it to its epoch may have been lost: its previous epoch is accepted while it owns nothing new.
      const lostAnswer = req.memberEpoch === m.previousMemberEpoch && owned !== null && difference(owned, new Set([...m.assigned, ...m.pendingRevocation])).size === 0
      if (!lostAnswer) throw new SamsaError('FENCED_MEMBER_EPOCH', ErrorMessages.fencedMemberEpoch(this.groupId, m.memberId, req.memberEpoch, m.memberEpoch))
    }
    if (m.left) {
      m.left = false
      this.#dirtyMembers.add(m.memberId)
    }
    return m
  }

  #reconcile(m: GroupMember, owned: ReadonlySet<PartitionKey> | null, nowMs: number): void {
    if (m.state === 'unrevoked') {
      if (owned === null || intersects(owned, m.pendingRevocation)) return
      this.#release(m.pendingRevocation)
      m.pendingRevocation = new Set()
      m.revocationDeadlineMs = null
      m.state = 'stable'
      this.#dirtyMembers.add(m.memberId)
    }
    if (m.memberEpoch === this.#assignmentEpoch && m.state === 'stable') return
    const target = this.targetOf(m.memberId)
    const revoke = difference(m.assigned, target)
    this.#dirtyMembers.add(m.memberId)
    if (revoke.size > 0) {
      m.assigned = difference(m.assigned, revoke)
      m.pendingRevocation = revoke
      m.state = 'unrevoked'
      m.revocationDeadlineMs = nowMs + m.rebalanceTimeoutMs
      return
    }
    for (const k of target) {
      if (m.assigned.has(k)) continue
      const owner = this.#owners.get(k)
      if (owner === undefined) {
        m.assigned.add(k)
        this.#owners.set(k, m.memberId)
      }
    }
    if (m.memberEpoch !== this.#assignmentEpoch) {
      m.previousMemberEpoch = m.memberEpoch
      m.memberEpoch = this.#assignmentEpoch
    }
    m.state = m.assigned.size === target.size ? 'stable' : 'unreleased'
  }

  #remove(memberId: string): void {
    const m = this.members.get(memberId)
    if (!m) return
    this.#release(m.assigned)
    this.#release(m.pendingRevocation)
    this.members.delete(memberId)
    this.#target.delete(memberId)
    this.#dirtyMembers.delete(memberId)
    this.#removedMembers.add(memberId)
    this.#bumpGroupEpoch()
  }

  #release(keys: Iterable<PartitionKey>): void {
    for (const k of keys) this.#owners.delete(k)
  }

  /** At most one new group epoch per target computation: changes made together make one rebalance. */
  #bumpGroupEpoch(): void {
    if (this.#groupEpoch === this.#assignmentEpoch) this.#groupEpoch++
    this.#metadataDirty = true
  }

  #refreshPartitionCounts(ctx: Pick<HeartbeatContext, 'partitionCount'>): void {
    const counts = new Map<string, number>()
    for (const topic of new Set([...this.members.values()].flatMap((m) => m.subscribedTopics))) {
      const n = ctx.partitionCount(topic)
      if (n !== null && n > 0) counts.set(topic, n)
    }
    if (counts.size !== this.#partitionCounts.size || [...counts].some(([t, n]) => this.#partitionCounts.get(t) !== n)) {
      this.#partitionCounts = counts
      this.#bumpGroupEpoch()
    }
  }

  #computeTarget(): void {
    this.#assignor = chooseAssignor(this.members.values())
    const members = [...this.members.values()].map((m) => ({ memberId: m.memberId, subscribedTopics: m.subscribedTopics }))
    const next = assign(this.#assignor, { members, partitionCounts: this.#partitionCounts, current: this.#target })
    this.#target.clear()
    for (const [id, set] of next) {
      this.#target.set(id, set)
      this.#dirtyMembers.add(id)
    }
    this.#assignmentEpoch = this.#groupEpoch
    this.#metadataDirty = true
    this.rebalances++
  }
}

function sameTopics(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a)
  return sa.size === b.length && b.every((t) => sa.has(t))
}
