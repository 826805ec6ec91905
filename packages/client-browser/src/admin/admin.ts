/** @module Admin operations over the client's bootstrap connection (listOffsets, and a cluster's offsets in describeTopic: the partition leader's): create, delete, list and describe topics; list offsets. */
import { OffsetSpec, SamsaError, createTopicClientSide as createTopic, deleteTopicClientSide as deleteTopic, listOffsetsClientSide as listOffsets, metadataClientSide as metadata, type PartitionMetadata } from '@samsa/shared'
import type { Connection } from '../connection/connection.js'
import type { MetadataCache } from '../metadata/metadata-cache.js'
import { check, checkShape, integer, nonEmptyString, optional } from '../validation/check.js'
import { checkCreateTopicOptions, type CreateTopicOptions } from '../validation/admin-arguments.js'

/** A topic name argument: its type is checked here; the naming rules are the broker's (INVALID_TOPIC_EXCEPTION). */
const checkTopic = (call: string, arg: string, v: unknown) => check(call, arg, v, nonEmptyString)

export interface TopicDescription {
  readonly name: string
  /** Per partition: leader, leaderEpoch, logStartOffset ≤ highWatermark ≤ logEndOffset. */
  readonly partitions: readonly PartitionMetadata[]
}

export type OffsetQuery = 'earliest' | 'latest' | { readonly timestamp: number }

export interface ListedOffset {
  readonly offset: number
  /** −1 unless found by timestamp. */
  readonly timestamp: number
  readonly leaderEpoch: number
}

export class Admin {
  readonly #conn: Connection
  readonly #metadata: MetadataCache

  constructor(conn: Connection, metadata: MetadataCache) {
    this.#conn = conn
    this.#metadata = metadata
  }

  /** Every method checks its arguments first and rejects with a TypeError naming the bad one. */
  async createTopic(name: string, opts: CreateTopicOptions = {}): Promise<{ name: string; partitions: number }> {
    const call = 'createTopic(name, options)'
    checkTopic(call, 'name', name)
    const { partitions = 1, replicationFactor, minInsyncReplicas, configs } = checkCreateTopicOptions(call, opts)
    const replication = replicationFactor === undefined ? {} : { replicationFactor, ...(minInsyncReplicas === undefined ? {} : { minInsyncReplicas }) }
    const res = await this.#conn.request(createTopic, { name, partitions, ...replication, ...(configs === undefined ? {} : { configs }) })
    this.#metadata.forget(name)
    return res
  }

  async deleteTopic(name: string): Promise<void> {
    checkTopic('deleteTopic(name)', 'name', name)
    await this.#conn.request(deleteTopic, { name })
    this.#metadata.forget(name)
  }

  async listTopics(): Promise<string[]> {
    const res = await this.#metadata.fetch(null)
    return res.topics.map((t) => t.name).sort()
  }

  /**
   * Fresh from the broker (not the cache); rejects with UNKNOWN_TOPIC_OR_PARTITION for a missing topic. In a cluster
   * every broker answers offsets of its own replica (a follower learns the high watermark with its next fetch), so
   * each partition's offsets are asked of its leader; a leader that cannot be asked leaves the first answer's.
   */
  async describeTopic(name: string): Promise<TopicDescription> {
    checkTopic('describeTopic(name)', 'name', name)
    this.#metadata.invalidate(name)
    const t = await this.#metadata.topic(name)
    if (!t.partitions.some((p) => p.replicas !== undefined)) return { name: t.name, partitions: t.partitions }
    const asked = new Map<Connection, Promise<readonly PartitionMetadata[]>>()
    const partitions = await Promise.all(
      t.partitions.map(async (p) => {
        if (p.leader < 0) return p
        try {
          const conn = await this.#metadata.connectionFor(name, p.partition)
          let answer = asked.get(conn)
          if (answer === undefined) asked.set(conn, (answer = conn.request(metadata, { topics: [name] }).then((r) => r.topics[0]?.partitions ?? [])))
          const own = (await answer).find((x) => x.partition === p.partition && x.leader === p.leader && x.leaderEpoch === p.leaderEpoch)
          return own === undefined ? p : { ...p, logStartOffset: own.logStartOffset, highWatermark: own.highWatermark, logEndOffset: own.logEndOffset }
        } catch {
          return p
        }
      }),
    )
    return { name: t.name, partitions }
  }

  async listOffsets(topic: string, partition: number, query: OffsetQuery): Promise<ListedOffset> {
    const call = 'listOffsets(topic, partition, query)'
    checkTopic(call, 'topic', topic)
    check(call, 'partition', partition, integer(0))
    if (query !== 'earliest' && query !== 'latest') {
      check(call, 'query', query, (v) => (typeof v === 'object' && v !== null ? undefined : "'earliest', 'latest' or { timestamp } (ms since the epoch)"))
      checkShape(call, 'query', query, { timestamp: integer(0) })
    }
    const timestamp = query === 'earliest' ? OffsetSpec.EARLIEST : query === 'latest' ? OffsetSpec.LATEST : query.timestamp
    // Asked of the partition's leader; a leader that moved meanwhile is followed a few times.
    for (let attempt = 0; ; attempt++) {
      const conn = await this.#metadata.connectionFor(topic, partition)
      try {
        return await conn.request(listOffsets, { topic, partition, timestamp })
      } catch (error) {
        const stale = error instanceof SamsaError && (error.errorName === 'NOT_LEADER_OR_FOLLOWER' || error.errorName === 'FENCED_LEADER_EPOCH')
        if (!stale || attempt >= 5) throw error
        this.#metadata.invalidate(topic)
      }
    }
  }
}
