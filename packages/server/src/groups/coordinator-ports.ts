/**
 * @module What the group coordinator needs of its broker (broker/group-ports.ts builds it from the Broker's public
 * operations): the offsets topic and its leaders, reads of this broker's replica, appends with acks all, topic sizes
 * and high watermarks for assignments and lag. The coordinator holds no registry and opens no log itself.
 */
import type { BrokerConfig } from '../broker/broker-config.js'
import type { Clock, Logger } from '../clock.js'
import type { BrokerMetrics } from '../observability/broker-metrics.js'

export interface OffsetsPartitionLeader {
  readonly brokerId: number
  readonly url: string
}

/** The broker settings the coordinator reads: the same fields as the broker's (one place per setting). */
export type CoordinatorSettings = Pick<
  BrokerConfig,
  'brokerId' | 'offsetsTopicPartitions' | 'offsetsTopicReplicationFactor' | 'groupSessionTimeoutMs' | 'groupHeartbeatIntervalMs' | 'maxMembersPerGroup' | 'maxGroups'
>

export interface CoordinatorPorts {
  readonly clock: Clock
  readonly logger: Logger
  readonly metrics: Pick<BrokerMetrics, 'groupRebalanced' | 'groupRefused'>
  readonly settings: CoordinatorSettings
  /** The offsets topic's partition count, or null when it does not exist. */
  offsetsTopicPartitions(): number | null
  /** Creates the offsets topic (compacted) unless it exists; resolves once this broker knows it. */
  createOffsetsTopic(partitions: number, replicationFactor: number): Promise<void>
  /** The leader of the offsets topic's partition, or null when it has none. */
  leaderOf(partition: number): OffsetsPartitionLeader | null
  /** This broker's leader epoch of the offsets partition, or null when it does not lead it. */
  leaderEpoch(partition: number): number | null
  /** This broker's replica of the offsets partition: its start and end, and whole batches from an offset up to its end. */
  localRange(partition: number): { readonly logStartOffset: number; readonly logEndOffset: number }
  readLocal(partition: number, offset: number, maxBytes: number): Promise<Uint8Array>
  /** Appends one batch to the offsets partition this broker leads; resolves once the ISR has it (acks all). */
  append(partition: number, batch: Uint8Array): Promise<void>
  /** Runs `listener` when this broker stops leading a partition of the offsets topic; returns the unregister function. */
  onResigned(listener: (partition: number) => void): () => void
  /** A topic's partition count, null when it does not exist. */
  partitionCount(topic: string): number | null
  /** A partition's log start and high watermark as this broker's replica has them, null when it holds none. */
  partitionOffsets(topic: string, partition: number): { readonly logStartOffset: number; readonly highWatermark: number } | null
}
