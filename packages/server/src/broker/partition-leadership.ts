/**
 * @module PartitionLeadership: the port through which a replicating broker asks who leads a partition (the
 * replication layer's ReplicaManager implements it). Without it the broker is a single node that leads everything.
 */
import type { InsyncView } from './produce-acks.js'

/** This broker's leadership of one partition at one leader epoch. */
export interface LeaderHandle extends InsyncView {
  readonly leaderEpoch: number
  /** Whether `brokerId` is a follower replica of the partition. */
  isReplica(brokerId: number): boolean
}

export interface PartitionLeadership {
  /**
   * This broker's leadership of the partition. NOT_LEADER_OR_FOLLOWER (details: leaderId, leaderEpoch when known) when
   * it does not lead it; with `currentLeaderEpoch` ≥ 0, FENCED_LEADER_EPOCH when that is older than the partition's
   * and UNKNOWN_LEADER_EPOCH when newer.
   */
  leader(topic: string, partition: number, currentLeaderEpoch?: number): LeaderHandle
  /**
   * Runs `listener` each time this broker stops leading a partition (it follows, or no longer hosts it), with the new
   * leader and leader epoch when known; returns the unregister function.
   */
  onResigned(listener: (resigned: Resignation) => void): () => void
  /** A replica fetch from follower `replicaId` at `fetchOffset` (its log end): updates its state, the ISR and the high watermark. */
  replicaFetched(topic: string, partition: number, replicaId: number, fetchOffset: number): void
}

/** This broker stopped leading `topic`/`partition`; `leaderId`/`leaderEpoch`: the new leader, when known. */
export interface Resignation {
  readonly topic: string
  readonly partition: number
  readonly leaderId?: number
  readonly leaderEpoch?: number
}
