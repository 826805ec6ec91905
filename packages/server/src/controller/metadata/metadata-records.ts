/**
 * @module The metadata log's records (KRaft's metadata records) and their binary codec.
 *
 * The controller proposes a batch of records as one Raft entry, so a batch applies atomically (a topic and all
 * its partitions, a fence and every leader it moves). Every node decodes the same bytes and applies them in
 * log order to its MetadataImage.
 *
 * Batch:   version u8 (= 0), count u32, then `count` records
 * Record:  type u8, then the fields of its type, big-endian:
 *   1 registerBroker    brokerId i32, brokerEpoch i64, advertisedUrl string, rack nullableString
 *   2 fenceBroker       brokerId i32, brokerEpoch i64
 *   3 unfenceBroker     brokerId i32, brokerEpoch i64
 *   4 unregisterBroker  brokerId i32, brokerEpoch i64
 *   5 createTopic       name string, topicId nullableString, partitions i32, replicationFactor i16,
 *                       minInsyncReplicas i16, retentionMs opt-i64, retentionBytes opt-i64, segmentBytes opt-i64
 *   6 deleteTopic       name string
 *   7 partitionChange   topic string, partition i32, leader i32 (-1: none), leaderEpoch i32,
 *                       replicas u32 count + i32 each, isr u32 count + i32 each, partitionEpoch i32
 *   8 producerIdsBlock  brokerId i32, brokerEpoch i64, firstProducerId i64, size i32
 *   9 topicCleanup      name string, cleanupPolicy u8 (0 delete, 1 compact, 2 compact,delete), deleteRetentionMs i64
 *                       (right after its createTopic, only when not the defaults; a topic without one has them)
 * opt-i64: u8 presence (0 absent / 1 present), then i64 when present.
 * Strings are u16 length + UTF-8; nullableString is i16 length (-1: null) + UTF-8.
 */
import { ByteReader, ByteWriter, ProtocolError, type CleanupPolicy } from '@samsa/shared'

export const METADATA_RECORD_VERSION = 0

/** A partition without a leader (every ISR member fenced: the partition is offline until one returns). */
export const NO_LEADER = -1

/** Per-topic settings carried in the log; null means "the broker default". */
export interface TopicConfig {
  /** acks=all fails with NOT_ENOUGH_REPLICAS while the ISR is smaller than this. 1..replicationFactor. */
  readonly minInsyncReplicas: number
  readonly retentionMs: number | null
  readonly retentionBytes: number | null
  readonly segmentBytes: number | null
}

export interface RegisterBrokerRecord {
  readonly type: 'registerBroker'
  readonly brokerId: number
  /** Unique across the cluster's history (a counter in the image): a process holding an older epoch is a zombie. */
  readonly brokerEpoch: number
  readonly advertisedUrl: string
  readonly rack: string | null
}
export interface FenceBrokerRecord {
  readonly type: 'fenceBroker'
  readonly brokerId: number
  readonly brokerEpoch: number
}
export interface UnfenceBrokerRecord {
  readonly type: 'unfenceBroker'
  readonly brokerId: number
  readonly brokerEpoch: number
}
export interface UnregisterBrokerRecord {
  readonly type: 'unregisterBroker'
  readonly brokerId: number
  readonly brokerEpoch: number
}
export interface CreateTopicRecord {
  readonly type: 'createTopic'
  readonly name: string
  readonly topicId: string | null
  readonly partitions: number
  readonly replicationFactor: number
  readonly config: TopicConfig
}
export interface DeleteTopicRecord {
  readonly type: 'deleteTopic'
  readonly name: string
}
/** The full new state of one partition (also its first state, right after its createTopic). */
export interface PartitionChangeRecord {
  readonly type: 'partitionChange'
  readonly topic: string
  readonly partition: number
  readonly leader: number
  /** Bumped on every leader change (including to and from NO_LEADER). */
  readonly leaderEpoch: number
  /** In preference order: replicas[0] is the preferred leader. */
  readonly replicas: readonly number[]
  readonly isr: readonly number[]
  /** Bumped on every change of the partition; AlterPartition requests must name the current one. */
  readonly partitionEpoch: number
}
export interface ProducerIdsBlockRecord {
  readonly type: 'producerIdsBlock'
  readonly brokerId: number
  readonly brokerEpoch: number
  /** Always the image's nextProducerId at apply time, so blocks never overlap. */
  readonly firstProducerId: number
  readonly size: number
}

/** A topic's cleanup configs (topic-configs.ts in @samsa/shared), in the batch of its createTopic. */
export interface TopicCleanupRecord {
  readonly type: 'topicCleanup'
  readonly name: string
  readonly cleanupPolicy: CleanupPolicy
  readonly deleteRetentionMs: number
}

export type MetadataRecord =
  | RegisterBrokerRecord
  | FenceBrokerRecord
  | UnfenceBrokerRecord
  | UnregisterBrokerRecord
  | CreateTopicRecord
  | DeleteTopicRecord
  | PartitionChangeRecord
  | ProducerIdsBlockRecord
  | TopicCleanupRecord

export type MetadataRecordType = MetadataRecord['type']

const TYPE_CODES: Record<MetadataRecordType, number> = {
  registerBroker: 1,
  fenceBroker: 2,
  unfenceBroker: 3,
  unregisterBroker: 4,
  createTopic: 5,
  deleteTopic: 6,
  partitionChange: 7,
  producerIdsBlock: 8,
  topicCleanup: 9,
}
const CLEANUP_POLICIES: readonly CleanupPolicy[] = ['delete', 'compact', 'compact,delete']
const TYPES_BY_CODE = new Map(Object.entries(TYPE_CODES).map(([name, code]) => [code, name as MetadataRecordType]))

/** The smallest encoding of one record (deleteTopic with an empty name: type + u16 length); bounds a batch's count before any allocation. */
const MIN_RECORD_BYTES = 3

function optI64(w: ByteWriter, v: number | null): void {
  if (v === null) w.u8(0)
  else w.u8(1).i64(v)
}
function readOptI64(r: ByteReader): number | null {
  const present = r.u8()
  if (present === 0) return null
  if (present !== 1) throw new ProtocolError(`optional int64 presence byte is ${present}`)
  return r.i64()
}
function int32s(w: ByteWriter, xs: readonly number[]): void {
  w.u32(xs.length)
  for (const x of xs) w.i32(x)
}
function readInt32s(r: ByteReader): number[] {
  const n = r.count(4)
  const xs = new Array<number>(n)
  for (let i = 0; i < n; i++) xs[i] = r.i32()
  return xs
}

export function encodeTopicConfig(w: ByteWriter, c: TopicConfig): void {
  w.i16(c.minInsyncReplicas)
  optI64(w, c.retentionMs)
  optI64(w, c.retentionBytes)
  optI64(w, c.segmentBytes)
}
export function decodeTopicConfig(r: ByteReader): TopicConfig {
  return { minInsyncReplicas: r.i16(), retentionMs: readOptI64(r), retentionBytes: readOptI64(r), segmentBytes: readOptI64(r) }
}

/** A topicCleanup record's fields (also the snapshot's cleanup tail). */
export function encodeTopicCleanup(w: ByteWriter, rec: TopicCleanupRecord): void {
  w.string(rec.name).u8(CLEANUP_POLICIES.indexOf(rec.cleanupPolicy)).i64(rec.deleteRetentionMs)
}
export function decodeTopicCleanup(r: ByteReader): TopicCleanupRecord {
  const name = r.string()
  const code = r.u8()
  const cleanupPolicy = CLEANUP_POLICIES[code]
  if (cleanupPolicy === undefined) throw new ProtocolError(`unknown cleanup policy code ${code}`)
  return { type: 'topicCleanup', name, cleanupPolicy, deleteRetentionMs: r.i64() }
}

export function encodeRecord(w: ByteWriter, rec: MetadataRecord): void {
  w.u8(TYPE_CODES[rec.type])
  switch (rec.type) {
    case 'registerBroker':
      w.i32(rec.brokerId).i64(rec.brokerEpoch).string(rec.advertisedUrl).nullableString(rec.rack)
      return
    case 'fenceBroker':
    case 'unfenceBroker':
    case 'unregisterBroker':
      w.i32(rec.brokerId).i64(rec.brokerEpoch)
      return
    case 'createTopic':
      w.string(rec.name).nullableString(rec.topicId).i32(rec.partitions).i16(rec.replicationFactor)
      encodeTopicConfig(w, rec.config)
      return
    case 'deleteTopic':
      w.string(rec.name)
      return
    case 'partitionChange':
      w.string(rec.topic).i32(rec.partition).i32(rec.leader).i32(rec.leaderEpoch)
      int32s(w, rec.replicas)
      int32s(w, rec.isr)
      w.i32(rec.partitionEpoch)
      return
    case 'producerIdsBlock':
      w.i32(rec.brokerId).i64(rec.brokerEpoch).i64(rec.firstProducerId).i32(rec.size)
      return
    case 'topicCleanup':
      encodeTopicCleanup(w, rec)
      return
  }
}

export function decodeRecord(r: ByteReader): MetadataRecord {
  const code = r.u8()
  const type = TYPES_BY_CODE.get(code)
  switch (type) {
    case 'registerBroker':
      return { type, brokerId: r.i32(), brokerEpoch: r.i64(), advertisedUrl: r.string(), rack: r.nullableString() }
    case 'fenceBroker':
    case 'unfenceBroker':
    case 'unregisterBroker':
      return { type, brokerId: r.i32(), brokerEpoch: r.i64() }
    case 'createTopic':
      return { type, name: r.string(), topicId: r.nullableString(), partitions: r.i32(), replicationFactor: r.i16(), config: decodeTopicConfig(r) }
    case 'deleteTopic':
      return { type, name: r.string() }
    case 'partitionChange':
      return { type, topic: r.string(), partition: r.i32(), leader: r.i32(), leaderEpoch: r.i32(), replicas: readInt32s(r), isr: readInt32s(r), partitionEpoch: r.i32() }
    case 'producerIdsBlock':
      return { type, brokerId: r.i32(), brokerEpoch: r.i64(), firstProducerId: r.i64(), size: r.i32() }
    case 'topicCleanup':
      return decodeTopicCleanup(r)
    case undefined:
      throw new ProtocolError(`unknown metadata record type ${code}`)
  }
}

/** One Raft entry's data: a batch of records applied atomically. */
export function encodeMetadataBatch(records: readonly MetadataRecord[]): Uint8Array {
  const w = new ByteWriter()
  w.u8(METADATA_RECORD_VERSION).u32(records.length)
  for (const rec of records) encodeRecord(w, rec)
  return w.finish().slice()
}

/** Throws ProtocolError (and nothing else) on bytes that are not a whole batch of this version. */
export function decodeMetadataBatch(bytes: Uint8Array): MetadataRecord[] {
  const r = new ByteReader(bytes)
  const version = r.u8()
  if (version !== METADATA_RECORD_VERSION) throw new ProtocolError(`metadata batch version ${version}; this node reads ${METADATA_RECORD_VERSION}`)
  const n = r.count(MIN_RECORD_BYTES)
  const records: MetadataRecord[] = []
  for (let i = 0; i < n; i++) records.push(decodeRecord(r))
  r.end()
  return records
}
