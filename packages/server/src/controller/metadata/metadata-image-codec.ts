/**
 * @module The MetadataImage as bytes: the data of a Raft snapshot, so the metadata log can be compacted.
 *
 * version u8 (= 0), offset i64, nextProducerId i64, nextBrokerEpoch i64,
 * brokers u32 count, each (ascending id): brokerId i32, brokerEpoch i64, advertisedUrl string, rack nullableString,
 *   fenced bool, registeredAtOffset i64
 * topics u32 count, each (ascending name): name string, topicId nullableString, createdAtOffset i64,
 *   replicationFactor i16, config (as in metadata-records.ts), partitions u32 count, each: leader i32,
 *   leaderEpoch i32, replicas u32 count + i32 each, isr u32 count + i32 each, partitionEpoch i32
 * [cleanup u32 count, each (ascending name): name string, cleanupPolicy u8, deleteRetentionMs i64] (the topics with a
 *   topicCleanup record, as in metadata-records.ts; the tail is absent when there are none, so older snapshots read)
 * Equal images encode to equal bytes (entries are sorted), so two nodes' snapshots of one offset can be compared.
 */
import { ByteReader, ByteWriter, ProtocolError } from '@samsa/shared'
import type { BrokerRegistration, MetadataImage, PartitionRegistration, TopicImage } from './metadata-image.js'
import { decodeTopicCleanup, decodeTopicConfig, encodeTopicCleanup, encodeTopicConfig } from './metadata-records.js'

const SNAPSHOT_VERSION = 0
/** Smallest encodings, bounding counts before allocation: a broker with empty url and null rack; a topic with no partitions; a partition with empty lists. */
const MIN_BROKER_BYTES = 4 + 8 + 2 + 2 + 1 + 8
const MIN_TOPIC_BYTES = 2 + 2 + 8 + 2 + 5 + 4
const MIN_PARTITION_BYTES = 4 + 4 + 4 + 4 + 4
/** name (u16 length), cleanupPolicy u8, deleteRetentionMs i64. */
const MIN_CLEANUP_BYTES = 2 + 1 + 8

export function encodeMetadataImage(image: MetadataImage): Uint8Array {
  const w = new ByteWriter(1024)
  w.u8(SNAPSHOT_VERSION).i64(image.offset).i64(image.nextProducerId).i64(image.nextBrokerEpoch)
  const brokers = [...image.brokers.values()].sort((a, b) => a.brokerId - b.brokerId)
  w.u32(brokers.length)
  for (const b of brokers) {
    w.i32(b.brokerId).i64(b.brokerEpoch).string(b.advertisedUrl).nullableString(b.rack).bool(b.fenced).i64(b.registeredAtOffset)
  }
  const topics = [...image.topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  w.u32(topics.length)
  for (const t of topics) {
    w.string(t.name).nullableString(t.topicId).i64(t.createdAtOffset).i16(t.replicationFactor)
    encodeTopicConfig(w, t.config)
    w.u32(t.partitions.length)
    for (const p of t.partitions) {
      w.i32(p.leader).i32(p.leaderEpoch)
      w.u32(p.replicas.length)
      for (const r of p.replicas) w.i32(r)
      w.u32(p.isr.length)
      for (const r of p.isr) w.i32(r)
      w.i32(p.partitionEpoch)
    }
  }
  const cleanups = topics.filter((t) => t.cleanup !== undefined)
  if (cleanups.length > 0) {
    w.u32(cleanups.length)
    for (const { name, cleanup } of cleanups) if (cleanup) encodeTopicCleanup(w, { type: 'topicCleanup', name, ...cleanup })
  }
  return w.finish().slice()
}

/** Throws ProtocolError (and nothing else) on bytes that are not a snapshot of this version. */
export function decodeMetadataImage(bytes: Uint8Array): MetadataImage {
  const r = new ByteReader(bytes)
  const version = r.u8()
  if (version !== SNAPSHOT_VERSION) throw new ProtocolError(`metadata snapshot version ${version}; this node reads ${SNAPSHOT_VERSION}`)
  const offset = r.i64()
  const nextProducerId = r.i64()
  const nextBrokerEpoch = r.i64()
  const brokers = new Map<number, BrokerRegistration>()
  for (let n = r.count(MIN_BROKER_BYTES); n > 0; n--) {
    const b: BrokerRegistration = { brokerId: r.i32(), brokerEpoch: r.i64(), advertisedUrl: r.string(), rack: r.nullableString(), fenced: r.bool(), registeredAtOffset: r.i64() }
    if (brokers.has(b.brokerId)) throw new ProtocolError(`broker ${b.brokerId} appears twice in the snapshot`)
    brokers.set(b.brokerId, b)
  }
  const topics = new Map<string, TopicImage>()
  for (let n = r.count(MIN_TOPIC_BYTES); n > 0; n--) {
    const name = r.string()
    const topicId = r.nullableString()
    const createdAtOffset = r.i64()
    const replicationFactor = r.i16()
    const config = decodeTopicConfig(r)
    const partitions: PartitionRegistration[] = []
    for (let p = r.count(MIN_PARTITION_BYTES); p > 0; p--) {
      const leader = r.i32()
      const leaderEpoch = r.i32()
      const replicas = int32s(r)
      const isr = int32s(r)
      partitions.push({ leader, leaderEpoch, replicas, isr, partitionEpoch: r.i32() })
    }
    if (topics.has(name)) throw new ProtocolError(`topic ${name} appears twice in the snapshot`)
    topics.set(name, { name, topicId, createdAtOffset, replicationFactor, config, partitions })
  }
  if (r.remaining > 0) {
    for (let n = r.count(MIN_CLEANUP_BYTES); n > 0; n--) {
      const c = decodeTopicCleanup(r)
      const t = topics.get(c.name)
      if (t === undefined) throw new ProtocolError(`cleanup configs of topic ${c.name}, which is not in the snapshot`)
      topics.set(c.name, { ...t, cleanup: { cleanupPolicy: c.cleanupPolicy, deleteRetentionMs: c.deleteRetentionMs } })
    }
  }
  r.end()
  return { offset, brokers, topics, nextProducerId, nextBrokerEpoch }
}

function int32s(r: ByteReader): number[] {
  const out: number[] = []
  for (let n = r.count(4); n > 0; n--) out.push(r.i32())
  return out
}
