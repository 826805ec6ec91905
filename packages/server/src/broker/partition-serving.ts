/**
 * @module The one place that decides whether this broker serves a partition as its leader, for every client request
 * on a partition (produce, fetch, listOffsets, offsetForLeaderEpoch, subscribe).
 *
 * Invariants: with replication the PartitionLeadership port (the ReplicaManager) decides and gives the leader's
 * in-sync view, and is asked before the local log is looked up (a replica whose roles are not applied yet answers
 * NOT_LEADER_OR_FOLLOWER); a clustered broker without it follows the metadata image; a single node leads every
 * partition it has. In a cluster a topic the image does not know is not served, even if local logs of it are left
 * (from before, or being removed). NOT_LEADER_OR_FOLLOWER carries details.leaderId and details.leaderEpoch when the
 * leader is known.
 */
import { ErrorMessages, SamsaError } from '@samsa/shared'
import type { PartitionLog } from '../log/partition-log.js'
import type { BrokerClusterPort } from './cluster-port.js'
import type { LeaderHandle, PartitionLeadership } from './partition-leadership.js'
import type { LocalLogs } from './local-logs.js'
import { assertTopicName } from './topic-registry.js'

/** A partition this broker leads: its log, and with replication its leadership at the current epoch. */
export interface ServedPartition {
  readonly log: PartitionLog
  readonly leader: LeaderHandle | undefined
}

export interface ServingScope {
  readonly brokerId: number
  readonly logs: LocalLogs
  readonly cluster: BrokerClusterPort | null
  readonly leadership: PartitionLeadership | undefined
}

/** UNKNOWN_TOPIC_OR_PARTITION / INVALID_TOPIC_EXCEPTION / NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH. */
export function servedPartition(scope: ServingScope, topic: string, partition: number, currentLeaderEpoch?: number): ServedPartition {
  const { cluster, brokerId, leadership } = scope
  if (cluster) {
    const t = cluster.image().topics.get(topic)
    if (!t) {
      assertTopicName(topic)
      throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', ErrorMessages.unknownTopic(topic))
    }
    const reg = t.partitions[partition]
    if (!reg) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', ErrorMessages.unknownPartition(topic, t.partitions.length, partition))
    if (!leadership && reg.leader !== brokerId) {
      throw new SamsaError('NOT_LEADER_OR_FOLLOWER', `broker ${brokerId} does not lead ${topic}/${partition}` + (reg.leader >= 0 ? `; broker ${reg.leader} does` : '; it has no leader now'), {
        leaderId: reg.leader,
        leaderEpoch: reg.leaderEpoch,
      })
    }
  }
  // Leadership first: a replica whose roles are not applied yet (not caught up) answers NOT_LEADER_OR_FOLLOWER.
  const leader = leadership?.leader(topic, partition, currentLeaderEpoch)
  return { log: scope.logs.partition(topic, partition), leader }
}
