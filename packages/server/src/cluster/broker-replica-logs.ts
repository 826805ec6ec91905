/**
 * @module ReplicaLogs over the broker's topic registry, for the ReplicaManager of a clustered node. The registry holds
 * topics whole, so opening a replica opens (creating when missing) every partition log of its topic, sized from the
 * metadata image; partitions this broker does not host stay empty and are never served (the ReplicaManager leads or
 * follows only its own). Deleting a replica deletes the topic's local logs: the controller moves no replica
 * (no reassignment), so a replica goes only when its topic is deleted, and the ReplicaManager applies removals
 * before it opens anything of the same delta (a topic deleted and created again under its name starts empty).
 */
import { SamsaError } from '@samsa/shared'
import type { MetadataImage } from '../controller/metadata/index.js'
import type { PartitionLog } from '../log/partition-log.js'
import type { ReplicaLogs } from '../replication/replica-manager.js'

/** What the broker offers for its local replicas. */
export interface LocalTopicOps {
  openLocalTopic(name: string, partitions: number): Promise<void>
  removeLocalTopic(name: string): Promise<void>
  localReplica(topic: string, partition: number): PartitionLog
}

export function brokerReplicaLogs(broker: () => LocalTopicOps, image: () => MetadataImage): ReplicaLogs {
  return {
    open: async (topic, partition) => {
      const t = image().topics.get(topic)
      if (!t) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topic} is not in the metadata image`)
      await broker().openLocalTopic(topic, t.partitions.length)
      return broker().localReplica(topic, partition)
    },
    delete: (topic) => broker().removeLocalTopic(topic),
  }
}
