/**
 * @module What changed between two metadata images for one broker's replicas (Kafka's TopicsDelta.localChanges):
 * the partitions it now leads, those it now follows, and those it no longer hosts. The replica manager acts on
 * these: become leader at the new leader epoch, become follower and fetch from the new leader, delete the replica.
 */
import { allPartitions, type MetadataImage, type PartitionRegistration, type TopicImage } from './metadata-image.js'

export interface LocalPartition {
  readonly topic: string
  readonly topicId: string | null
  readonly partition: number
  readonly registration: PartitionRegistration
  /** Its registration in the earlier image; null when the replica is new on this broker. */
  readonly previous: PartitionRegistration | null
}

export interface RemovedPartition {
  readonly topic: string
  readonly topicId: string | null
  readonly partition: number
}

export interface LocalPartitionChanges {
  /** Partitions this broker leads whose registration changed (new leadership, a new leader epoch, a new ISR). */
  readonly leaders: readonly LocalPartition[]
  /** Partitions where this broker is a replica but not the leader, whose registration changed (offline ones included). */
  readonly followers: readonly LocalPartition[]
  /** Replicas this broker no longer hosts: the topic was deleted (or deleted and created again), or it left the replicas. */
  readonly removed: readonly RemovedPartition[]
}

const sameTopic = (a: TopicImage | undefined, b: TopicImage): a is TopicImage => a !== undefined && a.createdAtOffset === b.createdAtOffset

export function localPartitionChanges(before: MetadataImage, after: MetadataImage, brokerId: number): LocalPartitionChanges {
  const leaders: LocalPartition[] = []
  const followers: LocalPartition[] = []
  const removed: RemovedPartition[] = []
  for (const { topic, partition, registration: was } of allPartitions(before)) {
    if (!was.replicas.includes(brokerId)) continue
    const now = after.topics.get(topic.name)
    const still = sameTopic(now, topic) ? now.partitions[partition] : undefined
    if (!still?.replicas.includes(brokerId)) removed.push({ topic: topic.name, topicId: topic.topicId, partition })
  }
  for (const { topic, partition, registration } of allPartitions(after)) {
    if (!registration.replicas.includes(brokerId)) continue
    const old = before.topics.get(topic.name)
    const prev = sameTopic(old, topic) ? old.partitions[partition] : undefined
    const previous = prev?.replicas.includes(brokerId) ? prev : null
    if (previous !== null && previous.partitionEpoch === registration.partitionEpoch) continue
    const local = { topic: topic.name, topicId: topic.topicId, partition, registration, previous }
    if (registration.leader === brokerId) leaders.push(local)
    else followers.push(local)
  }
  return { leaders, followers, removed }
}
