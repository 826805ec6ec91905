/**
 * @module MetadataImage: the cluster's metadata (brokers, topics, partitions, producer-id blocks) as an immutable
 * value, built on every node by applying the metadata log's records in log order.
 *
 * `applyRecord` never mutates its argument: it returns a new image sharing the unchanged parts. It checks every
 * record against the image and throws MetadataImageError on one that breaks an invariant (a leader outside the
 * ISR, an election from outside the previous ISR, a fenced leader, a leader change without a new leader epoch,
 * a skipped partition epoch, overlapping producer ids). The active controller only proposes records that pass;
 * these checks are the last line of defence, and since every node applies the same log they fail identically.
 */
import { NO_LEADER, type MetadataRecord, type PartitionChangeRecord, type TopicConfig } from './metadata-records.js'
import type { TopicConfigs } from '@samsa/shared'

export interface BrokerRegistration {
  readonly brokerId: number
  readonly brokerEpoch: number
  readonly advertisedUrl: string
  readonly rack: string | null
  /** A fenced broker leads no partition and is in no ISR, except as the last member of an offline partition's. */
  readonly fenced: boolean
  /** The metadata offset of its registerBroker record: the broker may be unfenced once it has applied this far. */
  readonly registeredAtOffset: number
}

export interface PartitionRegistration {
  /** NO_LEADER (-1) or a member of `isr` that is registered and unfenced. */
  readonly leader: number
  readonly leaderEpoch: number
  readonly replicas: readonly number[]
  /** A subset of `replicas`; empty only offline, after its last member came back incomplete (partition-elections.ts). */
  readonly isr: readonly number[]
  readonly partitionEpoch: number
}

export interface TopicImage {
  readonly name: string
  readonly topicId: string | null
  /** With the name, the topic's identity: a topic deleted and created again under its name is another topic. */
  readonly createdAtOffset: number
  readonly replicationFactor: number
  readonly config: TopicConfig
  /** cleanup.policy and delete.retention.ms (a topicCleanup record); absent: the defaults (defaultTopicConfigs). */
  readonly cleanup?: TopicConfigs
  /** Index = partition number. */
  readonly partitions: readonly PartitionRegistration[]
}

export interface MetadataImage {
  /** The offset of the last applied record; -1 for the empty image. */
  readonly offset: number
  readonly brokers: ReadonlyMap<number, BrokerRegistration>
  readonly topics: ReadonlyMap<string, TopicImage>
  /** The first producer id of the next block; every id below it has been handed out once. */
  readonly nextProducerId: number
  /** The epoch the next registerBroker must use at least; epochs never repeat, across broker ids and restarts. */
  readonly nextBrokerEpoch: number
}

export const EMPTY_METADATA_IMAGE: MetadataImage = {
  offset: -1,
  brokers: new Map(),
  topics: new Map(),
  nextProducerId: 0,
  nextBrokerEpoch: 1,
}

/** A partition created by createTopic and not yet given its first partitionChange (both travel in one batch). */
const UNASSIGNED: PartitionRegistration = { leader: NO_LEADER, leaderEpoch: -1, replicas: [], isr: [], partitionEpoch: -1 }

/** A record inconsistent with the image: a controller bug or a damaged log, never a client error. */
export class MetadataImageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MetadataImageError'
  }
}

function check(ok: boolean, message: () => string): asserts ok {
  if (!ok) throw new MetadataImageError(message())
}

/** Applies the records of one batch (one log entry) at `offset`. */
export function applyBatch(image: MetadataImage, records: readonly MetadataRecord[], offset: number): MetadataImage {
  check(offset > image.offset, () => `batch at offset ${offset} does not follow offset ${image.offset}`)
  let next = image
  for (const record of records) next = applyRecord(next, record, offset)
  return next.offset === offset ? next : { ...next, offset }
}

/** Several records of one batch share its offset, so `offset` may equal the image's. */
export function applyRecord(image: MetadataImage, record: MetadataRecord, offset: number): MetadataImage {
  check(Number.isSafeInteger(offset) && offset >= image.offset && offset >= 0, () => `record at offset ${offset} does not follow offset ${image.offset}`)
  const next = applyOne(image, record, offset)
  return { ...next, offset }
}

function applyOne(image: MetadataImage, rec: MetadataRecord, offset: number): MetadataImage {
  switch (rec.type) {
    case 'registerBroker': {
      check(rec.brokerId >= 0, () => `broker id ${rec.brokerId} is negative`)
      check(rec.brokerEpoch >= image.nextBrokerEpoch, () => `broker ${rec.brokerId} registers with epoch ${rec.brokerEpoch}, below ${image.nextBrokerEpoch}`)
      const old = image.brokers.get(rec.brokerId)
      check(!old || old.fenced, () => `broker ${rec.brokerId} registers again while its epoch ${old!.brokerEpoch} is unfenced`)
      const reg: BrokerRegistration = { brokerId: rec.brokerId, brokerEpoch: rec.brokerEpoch, advertisedUrl: rec.advertisedUrl, rack: rec.rack, fenced: true, registeredAtOffset: offset }
      return { ...image, brokers: withEntry(image.brokers, rec.brokerId, reg), nextBrokerEpoch: rec.brokerEpoch + 1 }
    }
    case 'fenceBroker': {
      const b = currentBroker(image, rec.brokerId, rec.brokerEpoch)
      check(!b.fenced, () => `broker ${rec.brokerId} is already fenced`)
      const led = partitionsWhere(image, (p) => p.leader === rec.brokerId)
      check(led.length === 0, () => `broker ${rec.brokerId} is fenced while it still leads ${led.join(', ')}`)
      return { ...image, brokers: withEntry(image.brokers, rec.brokerId, { ...b, fenced: true }) }
    }
    case 'unfenceBroker': {
      const b = currentBroker(image, rec.brokerId, rec.brokerEpoch)
      check(b.fenced, () => `broker ${rec.brokerId} is not fenced`)
      return { ...image, brokers: withEntry(image.brokers, rec.brokerId, { ...b, fenced: false }) }
    }
    case 'unregisterBroker': {
      const b = currentBroker(image, rec.brokerId, rec.brokerEpoch)
      check(b.fenced, () => `broker ${rec.brokerId} is unregistered while unfenced`)
      const brokers = new Map(image.brokers)
      brokers.delete(rec.brokerId)
      return { ...image, brokers }
    }
    case 'createTopic': {
      check(!image.topics.has(rec.name), () => `topic ${rec.name} already exists`)
      check(rec.partitions >= 1 && rec.replicationFactor >= 1, () => `topic ${rec.name} has ${rec.partitions} partitions × ${rec.replicationFactor} replicas`)
      const topic: TopicImage = {
        name: rec.name,
        topicId: rec.topicId,
        createdAtOffset: offset,
        replicationFactor: rec.replicationFactor,
        config: rec.config,
        partitions: new Array<PartitionRegistration>(rec.partitions).fill(UNASSIGNED),
      }
      return { ...image, topics: withEntry(image.topics, rec.name, topic) }
    }
    case 'topicCleanup': {
      const t = image.topics.get(rec.name)
      check(t !== undefined, () => `topic ${rec.name} does not exist`)
      return { ...image, topics: withEntry(image.topics, rec.name, { ...t, cleanup: { cleanupPolicy: rec.cleanupPolicy, deleteRetentionMs: rec.deleteRetentionMs } }) }
    }
    case 'deleteTopic': {
      check(image.topics.has(rec.name), () => `topic ${rec.name} does not exist`)
      const topics = new Map(image.topics)
      topics.delete(rec.name)
      return { ...image, topics }
    }
    case 'partitionChange':
      return applyPartitionChange(image, rec)
    case 'producerIdsBlock': {
      currentBroker(image, rec.brokerId, rec.brokerEpoch)
      check(rec.firstProducerId === image.nextProducerId, () => `producer-id block at ${rec.firstProducerId}, expected ${image.nextProducerId}`)
      check(rec.size >= 1 && Number.isSafeInteger(rec.firstProducerId + rec.size), () => `producer-id block of ${rec.size} ids`)
      return { ...image, nextProducerId: rec.firstProducerId + rec.size }
    }
  }
}

function applyPartitionChange(image: MetadataImage, rec: PartitionChangeRecord): MetadataImage {
  const where = `${rec.topic}/${rec.partition}`
  const topic = image.topics.get(rec.topic)
  check(topic !== undefined, () => `partition change for unknown topic ${rec.topic}`)
  const prev = topic.partitions[rec.partition]
  check(prev !== undefined, () => `partition change for ${where}, beyond the topic's ${topic.partitions.length} partitions`)
  check(rec.replicas.length >= 1 && unique(rec.replicas) && rec.replicas.every((r) => r >= 0), () => `${where}: replicas [${rec.replicas.join(',')}]`)
  check(unique(rec.isr) && rec.isr.every((r) => rec.replicas.includes(r)), () => `${where}: isr [${rec.isr.join(',')}] is not a subset of replicas [${rec.replicas.join(',')}]`)
  // Empty only offline: its last member came back incomplete (partition-elections.ts).
  check(rec.isr.length >= 1 || rec.leader === NO_LEADER, () => `${where}: leader ${rec.leader} with an empty isr`)
  check(rec.partitionEpoch === prev.partitionEpoch + 1, () => `${where}: partition epoch ${rec.partitionEpoch} after ${prev.partitionEpoch}`)
  if (rec.leader !== NO_LEADER) {
    check(rec.isr.includes(rec.leader), () => `${where}: leader ${rec.leader} is not in the isr`)
    check(image.brokers.get(rec.leader)?.fenced === false, () => `${where}: leader ${rec.leader} is not a registered unfenced broker`)
  }
  if (prev.partitionEpoch === UNASSIGNED.partitionEpoch) {
    check(rec.leaderEpoch >= 0, () => `${where}: first leader epoch ${rec.leaderEpoch}`)
  } else if (rec.leader !== prev.leader) {
    check(rec.leaderEpoch > prev.leaderEpoch, () => `${where}: leader ${prev.leader} → ${rec.leader} without a new leader epoch`)
    check(rec.leader === NO_LEADER || prev.isr.includes(rec.leader), () => `${where}: unclean election of ${rec.leader}, outside the isr [${prev.isr.join(',')}]`)
  } else {
    check(rec.leaderEpoch >= prev.leaderEpoch, () => `${where}: leader epoch ${rec.leaderEpoch} below ${prev.leaderEpoch}`)
  }
  const partitions = topic.partitions.slice()
  partitions[rec.partition] = { leader: rec.leader, leaderEpoch: rec.leaderEpoch, replicas: rec.replicas, isr: rec.isr, partitionEpoch: rec.partitionEpoch }
  return { ...image, topics: withEntry(image.topics, rec.topic, { ...topic, partitions }) }
}

function currentBroker(image: MetadataImage, brokerId: number, brokerEpoch: number): BrokerRegistration {
  const b = image.brokers.get(brokerId)
  check(b !== undefined, () => `broker ${brokerId} is not registered`)
  check(b.brokerEpoch === brokerEpoch, () => `broker ${brokerId} epoch ${brokerEpoch} is not the registered ${b.brokerEpoch}`)
  return b
}

function withEntry<K, V>(map: ReadonlyMap<K, V>, key: K, value: V): Map<K, V> {
  const m = new Map(map)
  m.set(key, value)
  return m
}

function unique(xs: readonly number[]): boolean {
  return new Set(xs).size === xs.length
}

/** `topic/partition` names of the partitions matching `pred`. */
export function partitionsWhere(image: MetadataImage, pred: (p: PartitionRegistration) => boolean): string[] {
  const out: string[] = []
  for (const t of image.topics.values()) t.partitions.forEach((p, i) => pred(p) && out.push(`${t.name}/${i}`))
  return out
}

/** Every partition of the image, in topic insertion order. */
export function* allPartitions(image: MetadataImage): Generator<{ topic: TopicImage; partition: number; registration: PartitionRegistration }> {
  for (const topic of image.topics.values()) {
    for (let i = 0; i < topic.partitions.length; i++) yield { topic, partition: i, registration: topic.partitions[i]! }
  }
}

/** Registered, unfenced broker ids, ascending. */
export function unfencedBrokerIds(image: MetadataImage): number[] {
  return [...image.brokers.values()].filter((b) => !b.fenced).map((b) => b.brokerId).sort((a, b) => a - b)
}
