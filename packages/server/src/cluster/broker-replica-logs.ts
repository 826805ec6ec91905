/**
 * @module ReplicaLogs over the broker's local replicas, for the ReplicaManager of a clustered node: opening a replica
 * opens (creating when new) just that partition's log, and deleting one closes and deletes just that partition's
 * directory (broker/replica-registry.ts); partitions this broker does not host have no files. The controller moves no
 * replica (no reassignment), so a replica goes only when its topic is deleted, and the ReplicaManager applies
 * removals before it opens anything of the same delta (a topic deleted and created again under its name starts
 * empty). The broker is reached lazily: the ReplicaManager exists before it (it is the broker's leadership port).
 */
import type { PartitionLog } from '../log/partition-log.js'
import type { ReplicaLogs } from '../replication/replica-manager.js'

/** What the broker offers for its local replicas. */
export interface LocalReplicaOps {
  openLocalReplica(topic: string, partition: number): Promise<PartitionLog>
  reopenLocalReplica(topic: string, partition: number): Promise<PartitionLog>
  removeLocalReplica(topic: string, partition: number): Promise<void>
}

export function brokerReplicaLogs(broker: () => LocalReplicaOps): ReplicaLogs {
  return {
    open: (topic, partition) => broker().openLocalReplica(topic, partition),
    reopen: (topic, partition) => broker().reopenLocalReplica(topic, partition),
    delete: (topic, partition) => broker().removeLocalReplica(topic, partition),
  }
}
