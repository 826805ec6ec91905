/**
 * @module LocalLogs: the partition logs a broker holds on its own storage, whoever decided which they are — a single
 * node's TopicRegistry (every partition of every topic) or a replicating broker's ReplicaRegistry (the replicas the
 * metadata assigns to it). The Broker reads, retains and closes logs through this port only.
 */
import type { PartitionLog } from '../log/partition-log.js'

export interface LocalPartitionLog {
  readonly topic: string
  readonly partition: number
  readonly log: PartitionLog
}

export interface LocalLogs {
  /**
   * The partition's local log. When there is none: UNKNOWN_TOPIC_OR_PARTITION on a single node (no such topic or
   * partition), NOT_LEADER_OR_FOLLOWER on a replicating broker (it holds no replica of it); INVALID_TOPIC_EXCEPTION
   * for a bad name.
   */
  partition(topic: string, partition: number): PartitionLog
  /** The partition's local log, undefined when there is none. */
  find(topic: string, partition: number): PartitionLog | undefined
  /** Every local log, by topic name then partition. */
  logs(): Iterable<LocalPartitionLog>
  /** Deletes expired segments of every local log of a topic `deletes` names (cleanup.policy with delete); returns how many. */
  applyRetention(deletes: (topic: string) => boolean): Promise<number>
  /** Bytes the logs' tail caches hold together now. */
  readonly tailCacheBytes: number
  /** Flushes and closes every local log. */
  close(): Promise<void>
}
