/**
 * @module ReplicaLogs over the broker's local replicas, for the ReplicaManager of a clustered node: opening a replica
 * opens (creating when new) just that partition's log, and deleting one closes and deletes just that partition's
 * directory (broker/replica-registry.ts); partitions this broker does not host have no files. The controller moves no
 * replica (no reassignment), so a replica goes when its topic is deleted, and the ReplicaManager applies removals
 * before it opens anything of the same delta (a topic deleted and created again under its name starts empty); a
 * replica that outlived its topic while the broker was down is found by its recorded identity on open, or as a stray
 * once the broker has caught up with the metadata log. The broker is reached lazily: the ReplicaManager exists before
 * it (it is the broker's leadership port).
 */
import type { ReplicaOwner } from '../broker/replica-identity.js'
import type { PartitionLog } from '../log/partition-log.js'
import type { ReplicaLogs } from '../replication/replica-manager.js'

/** What the broker offers for its local replicas. */
export interface LocalReplicaOps {
  openLocalReplica(topic: string, partition: number, owner: ReplicaOwner): Promise<PartitionLog>
  reopenLocalReplica(topic: string, partition: number): Promise<PartitionLog>
  removeLocalReplica(topic: string, partition: number): Promise<void>
  /** Every partition log this broker holds: its local replicas. */
  partitionOffsets(): Iterable<{ readonly topic: string; readonly partition: number }>
}

export function brokerReplicaLogs(broker: () => LocalReplicaOps): ReplicaLogs {
  return {
    open: (topic, partition, owner) => broker().openLocalReplica(topic, partition, owner),
    reopen: (topic, partition) => broker().reopenLocalReplica(topic, partition),
    delete: (topic, partition) => broker().removeLocalReplica(topic, partition),
    hosted: () => [...broker().partitionOffsets()].map(({ topic, partition }) => ({ topic, partition })),
  }
}
