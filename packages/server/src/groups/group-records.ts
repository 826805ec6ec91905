/**
 * @module The records of `__consumer_offsets` (key and value of one record each), enough for a new coordinator to
 * rebuild every group of a partition after a failover. The key's first byte is its type, so compaction (latest
 * value per key) keeps exactly the latest state of each thing:
 *   0 offset    (group, topic, partition) → offset i64, leaderEpoch i32, metadata nullable string, commitTimestamp i64
 *   1 metadata  (group) → groupEpoch i32, assignmentEpoch i32, assignor string, count u32, [topic string, partitions i32]…
 *   2 member    (group, memberId) → instanceId nullable string, clientHost string, topics (count u32, [string]…),
 *               serverAssignor nullable string, rebalanceTimeoutMs i32, memberEpoch i32, previousMemberEpoch i32,
 *               state u8 (0 stable, 1 unrevoked, 2 unreleased), left bool, assigned list, pendingRevocation list,
 *               reportedOwned nullable list (what the member last said it owns)
 *   3 target    (group, memberId) → target list
 * Each key starts with a version byte 0 after the type; lists are the wire's topic-partition lists. A null value is
 * a tombstone (the member left, the commit was deleted).
 */
import { ByteReader, ByteWriter, GROUP_ASSIGNORS, ProtocolError, readNullableTopicPartitions, readTopicPartitions, writeNullableTopicPartitions, writeTopicPartitions } from '@samsa/shared'
import type { GroupMetadata } from './consumer-group.js'
import type { MemberState, PersistedMember } from './group-member.js'
import type { CommittedOffsetValue } from './group-offsets.js'
import { toPartitionSet, toTopicPartitions, type PartitionKey } from './partition-set.js'

export interface OffsetRecord { readonly type: 'offset'; readonly groupId: string; readonly topic: string; readonly partition: number; readonly value: CommittedOffsetValue | null }
export interface MetadataRecord { readonly type: 'metadata'; readonly groupId: string; readonly value: GroupMetadata | null }
export interface MemberRecord { readonly type: 'member'; readonly groupId: string; readonly memberId: string; readonly value: PersistedMember | null }
export interface TargetRecord { readonly type: 'target'; readonly groupId: string; readonly memberId: string; readonly value: ReadonlySet<PartitionKey> | null }
export type GroupRecord = OffsetRecord | MetadataRecord | MemberRecord | TargetRecord

const TYPES = ['offset', 'metadata', 'member', 'target'] as const
const STATES: readonly MemberState[] = ['stable', 'unrevoked', 'unreleased']
const KEY_VERSION = 0

export function encodeGroupKey(r: GroupRecord): Uint8Array {
  const w = new ByteWriter().u8(TYPES.indexOf(r.type)).u8(KEY_VERSION).string(r.groupId)
  if (r.type === 'offset') w.string(r.topic).i32(r.partition)
  if (r.type === 'member' || r.type === 'target') w.string(r.memberId)
  return w.finish()
}

export function encodeGroupValue(r: GroupRecord): Uint8Array | null {
  if (r.value === null) return null
  const w = new ByteWriter()
  switch (r.type) {
    case 'offset':
      w.i64(r.value.offset).i32(r.value.leaderEpoch).nullableString(r.value.metadata).i64(r.value.commitTimestampMs)
      break
    case 'metadata':
      w.i32(r.value.groupEpoch).i32(r.value.assignmentEpoch).string(r.value.assignor).u32(r.value.partitionCounts.size)
      for (const [t, n] of r.value.partitionCounts) w.string(t).i32(n)
      break
    case 'member': {
      const m = r.value
      w.nullableString(m.instanceId).string(m.clientHost).u32(m.subscribedTopics.length)
      for (const t of m.subscribedTopics) w.string(t)
      w.nullableString(m.serverAssignor).i32(m.rebalanceTimeoutMs).i32(m.memberEpoch).i32(m.previousMemberEpoch).u8(STATES.indexOf(m.state)).bool(m.left)
      writeTopicPartitions(w, toTopicPartitions(m.assigned))
      writeTopicPartitions(w, toTopicPartitions(m.pendingRevocation))
      writeNullableTopicPartitions(w, m.reportedOwned && toTopicPartitions(m.reportedOwned))
      break
    }
    case 'target':
      writeTopicPartitions(w, toTopicPartitions(r.value))
      break
  }
  return w.finish()
}

/** Decodes one record; throws ProtocolError for bytes that are not a group record of a known version. */
export function decodeGroupRecord(key: Uint8Array, value: Uint8Array | null): GroupRecord {
  const k = new ByteReader(key)
  const type = TYPES[k.u8()]
  if (type === undefined) throw new ProtocolError('not a __consumer_offsets record: unknown key type')
  if (k.u8() !== KEY_VERSION) throw new ProtocolError('a __consumer_offsets record of an unknown key version')
  const groupId = k.string()
  if (type === 'offset') {
    const topic = k.string()
    const partition = k.i32()
    k.end()
    if (value === null) return { type, groupId, topic, partition, value: null }
    const v = new ByteReader(value)
    const out = { type, groupId, topic, partition, value: { offset: v.i64(), leaderEpoch: v.i32(), metadata: v.nullableString(), commitTimestampMs: v.i64() } }
    v.end()
    return out
  }
  if (type === 'metadata') {
    k.end()
    if (value === null) return { type, groupId, value: null }
    const v = new ByteReader(value)
    const groupEpoch = v.i32()
    const assignmentEpoch = v.i32()
    const assignorName = v.string()
    const assignor = GROUP_ASSIGNORS.find((a) => a === assignorName)
    if (assignor === undefined) throw new ProtocolError(`a __consumer_offsets group record names an unknown assignor "${assignorName}"`)
    const partitionCounts = new Map(Array.from({ length: v.count(6) }, () => [v.string(), v.i32()] as const))
    v.end()
    return { type, groupId, value: { groupEpoch, assignmentEpoch, assignor, partitionCounts } }
  }
  const memberId = k.string()
  k.end()
  if (value === null) return type === 'member' ? { type, groupId, memberId, value: null } : { type, groupId, memberId, value: null }
  const v = new ByteReader(value)
  if (type === 'target') {
    const out = { type, groupId, memberId, value: toPartitionSet(readTopicPartitions(v)) }
    v.end()
    return out
  }
  const instanceId = v.nullableString()
  const clientHost = v.string()
  const subscribedTopics = Array.from({ length: v.count(2) }, () => v.string())
  const serverAssignor = v.nullableString()
  const rebalanceTimeoutMs = v.i32()
  const memberEpoch = v.i32()
  const previousMemberEpoch = v.i32()
  const state = STATES[v.u8()]
  if (state === undefined) throw new ProtocolError('a __consumer_offsets member record has an unknown state')
  const left = v.bool()
  const assigned = toPartitionSet(readTopicPartitions(v))
  const pendingRevocation = toPartitionSet(readTopicPartitions(v))
  const reported = readNullableTopicPartitions(v)
  v.end()
  const reportedOwned = reported && toPartitionSet(reported)
  return { type, groupId, memberId, value: { memberId, instanceId, clientHost, subscribedTopics, serverAssignor, rebalanceTimeoutMs, memberEpoch, previousMemberEpoch, state, left, assigned, pendingRevocation, reportedOwned } }
}
