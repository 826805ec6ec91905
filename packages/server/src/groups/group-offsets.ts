/**
 * @module A group's committed offsets: (topic, partition) → (offset, leader epoch, metadata, commit time), as the
 * last `offset` record of each key in __consumer_offsets says (a tombstone removes the commit). Pure.
 */
import type { GroupRecord, OffsetRecord } from './group-records.js'
import { parsePartitionKey, partitionKey, type PartitionKey } from './partition-set.js'

export interface CommittedOffsetValue {
  readonly offset: number
  readonly leaderEpoch: number
  readonly metadata: string | null
  readonly commitTimestampMs: number
}

export class GroupOffsets {
  readonly groupId: string
  readonly #committed = new Map<PartitionKey, CommittedOffsetValue>()

  constructor(groupId: string) {
    this.groupId = groupId
  }

  get size(): number {
    return this.#committed.size
  }

  get(topic: string, partition: number): CommittedOffsetValue | undefined {
    return this.#committed.get(partitionKey(topic, partition))
  }

  /** Every commit, sorted by topic then partition. */
  all(): { topic: string; partition: number; value: CommittedOffsetValue }[] {
    return [...this.#committed]
      .map(([k, value]) => ({ ...parsePartitionKey(k), value }))
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
  }

  /** The record that commits `value`; applied once the append is acknowledged (`replay`). */
  commitRecord(topic: string, partition: number, value: CommittedOffsetValue): OffsetRecord {
    return { type: 'offset', groupId: this.groupId, topic, partition, value }
  }

  replay(record: Extract<GroupRecord, { type: 'offset' }>): void {
    const key = partitionKey(record.topic, record.partition)
    if (record.value === null) this.#committed.delete(key)
    else this.#committed.set(key, record.value)
  }
}
