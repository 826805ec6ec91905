/**
 * @module Sets of (topic, partition) as string keys `topic:partition` (a topic name holds no colon), and their
 * conversion to and from the wire's topic-partition lists (sorted by topic, then partition, so answers are stable).
 */
import type { TopicPartitions } from '@samsa/shared'

export type PartitionKey = string

export const partitionKey = (topic: string, partition: number): PartitionKey => `${topic}:${partition}`

export function parsePartitionKey(key: PartitionKey): { topic: string; partition: number } {
  const at = key.lastIndexOf(':')
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) }
}

export function toPartitionSet(list: readonly TopicPartitions[]): Set<PartitionKey> {
  const out = new Set<PartitionKey>()
  for (const t of list) for (const p of t.partitions) out.add(partitionKey(t.topic, p))
  return out
}

export function toTopicPartitions(set: Iterable<PartitionKey>): TopicPartitions[] {
  const byTopic = new Map<string, number[]>()
  for (const key of set) {
    const { topic, partition } = parsePartitionKey(key)
    const list = byTopic.get(topic) ?? []
    list.push(partition)
    byTopic.set(topic, list)
  }
  return [...byTopic.keys()].sort().map((topic) => ({ topic, partitions: byTopic.get(topic)!.sort((a, b) => a - b) }))
}

export function difference(a: ReadonlySet<PartitionKey>, b: ReadonlySet<PartitionKey>): Set<PartitionKey> {
  const out = new Set<PartitionKey>()
  for (const k of a) if (!b.has(k)) out.add(k)
  return out
}

export function intersects(a: ReadonlySet<PartitionKey>, b: ReadonlySet<PartitionKey>): boolean {
  for (const k of a) if (b.has(k)) return true
  return false
}

export function sameSet(a: ReadonlySet<PartitionKey>, b: ReadonlySet<PartitionKey>): boolean {
  return a.size === b.size && difference(a, b).size === 0
}
