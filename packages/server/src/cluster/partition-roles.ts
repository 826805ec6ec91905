/**
 * @module PartitionRoleListener: the port through which a clustered broker learns, from its metadata image, which
 * partition replicas it now leads, follows or no longer hosts (controller/metadata/metadata-delta.ts). The replica
 * manager (replication/) implements it; until then LocalPartitionLogs (local-partition-logs.ts) does the minimum:
 * open the local logs and take leadership at the new leader epoch.
 *
 * Invariants: calls arrive in metadata log order, one per image change that touches this broker's replicas, with the
 * image they were computed against; an implementation may act asynchronously but must act on them in that order.
 */
import type { LocalPartitionChanges, MetadataImage } from '../controller/metadata/index.js'

export interface PartitionRoleListener {
  onLocalChanges(changes: LocalPartitionChanges, image: MetadataImage): void
}

/** True when the changes ask for nothing. */
export function noLocalChanges(c: LocalPartitionChanges): boolean {
  return c.leaders.length === 0 && c.followers.length === 0 && c.removed.length === 0
}
