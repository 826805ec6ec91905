/**
 * @module The local replicas a starting broker names in its registration as incomplete: those whose log recovery
 * found committed records damaged or missing (PartitionLog.incompleteAtOpen). Read once, after the broker opened its
 * logs and before it registers; the controller takes the broker out of their ISRs (partition-elections.ts).
 */
import type { PartitionLog } from '../log/partition-log.js'

export interface LocalReplicas {
  partitionOffsets(): Iterable<{ readonly topic: string; readonly partition: number }>
  localReplica(topic: string, partition: number): Pick<PartitionLog, 'incompleteAtOpen'>
}

export function incompleteReplicas(broker: LocalReplicas): { topic: string; partition: number }[] {
  const out: { topic: string; partition: number }[] = []
  for (const { topic, partition } of broker.partitionOffsets()) {
    if (broker.localReplica(topic, partition).incompleteAtOpen !== null) out.push({ topic, partition })
  }
  return out
}
