/** @module Admin operations over the client's connection: create, delete, list and describe topics; list offsets. */
import { OffsetSpec, createTopic, deleteTopic, listOffsets, type PartitionMetadata } from '@samsa/shared'
import type { Connection } from '../connection/connection.js'
import type { MetadataCache } from '../metadata/metadata-cache.js'

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

  async createTopic(name: string, opts: { partitions?: number } = {}): Promise<{ name: string; partitions: number }> {
    const res = await this.#conn.request(createTopic, { name, partitions: opts.partitions ?? 1 })
    this.#metadata.invalidate(name)
    return res
  }

  async deleteTopic(name: string): Promise<void> {
    await this.#conn.request(deleteTopic, { name })
    this.#metadata.invalidate(name)
  }

  async listTopics(): Promise<string[]> {
    const res = await this.#metadata.fetch(null)
    return res.topics.map((t) => t.name).sort()
  }

  /** Fresh from the broker (not the cache); rejects with UNKNOWN_TOPIC_OR_PARTITION for a missing topic. */
  async describeTopic(name: string): Promise<TopicDescription> {
    this.#metadata.invalidate(name)
    const t = await this.#metadata.topic(name)
    return { name: t.name, partitions: t.partitions }
  }

  listOffsets(topic: string, partition: number, query: OffsetQuery): Promise<ListedOffset> {
    const timestamp = query === 'earliest' ? OffsetSpec.EARLIEST : query === 'latest' ? OffsetSpec.LATEST : query.timestamp
    return this.#conn.request(listOffsets, { topic, partition, timestamp })
  }
}
