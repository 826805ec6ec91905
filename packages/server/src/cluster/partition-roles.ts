/**
 * @module PartitionRoleListener: the port through which a clustered broker learns, from its metadata image, which
 * partition replicas it now leads, follows or no longer hosts (controller/metadata/metadata-delta.ts). The replica
 * manager (replication/replica-manager.ts) implements it.
 *
 * Invariants: calls arrive in metadata log order, one per image change (its changes may be empty: a change elsewhere,
 * such as a broker unfenced, matters to the partitions this broker leads), with the image they were computed
 * against; an implementation may act asynchronously but must act on them in that order.
 * The first call (once the broker has caught up with the metadata log) is `complete`: its changes are from the empty
 * image, so they name every replica this broker hosts, and any other local replica is stray (its topic was deleted,
 * or deleted and created again elsewhere, while the broker was down).
 */
import type { LocalPartitionChanges, MetadataImage } from '../controller/metadata/index.js'

export interface PartitionRoleListener {
  /** A returned promise settles once these changes are acted on; its rejection is the caller's to log. */
  onLocalChanges(changes: LocalPartitionChanges, image: MetadataImage, opts?: { readonly complete?: boolean }): void | Promise<void>
}
