/**
 * @module MetadataView: what a broker's cluster side (ClusterNode, its ControllerChannel, the replica logs, metrics)
 * needs of the metadata log on its node: the committed image and its changes, and who the active controller is.
 * A controller voter has it from its own Raft log (MetadataNode); a broker-only node from a voter's answers
 * (cluster/metadata-observer.ts). Both apply committed batches through AppliedMetadata.
 */
import type { RaftDriverStatus } from './raft-driver.js'
import type { ImageListener } from './applied-metadata.js'
import type { MetadataImage, QuorumControllerConfig } from './metadata/index.js'

export interface ControllerState {
  /** This node is the active controller and takes decisions (never on a broker-only node). */
  readonly active: boolean
  /** This node's Raft role, or `observer` on a broker-only node (it follows the metadata log and never votes). */
  readonly role: RaftDriverStatus['role'] | 'observer'
  readonly term: number
  /** The controller leader this node knows; 0 when unknown. */
  readonly leaderId: number
  /** The offset (Raft index) of the last metadata batch applied here; -1 before any. */
  readonly metadataOffset: number
  /** The Raft index this node has applied (on an observer: its metadata offset, or -1 before any). */
  readonly appliedIndex: number
}

export interface MetadataView {
  /** The committed image as this node has applied it. */
  readonly image: MetadataImage
  /** The session timeout brokers heartbeat against (every third of it). */
  readonly config: Pick<QuorumControllerConfig, 'sessionTimeoutMs'>
  /** Runs `listener` after each change of the committed image; returns the unregister function. */
  onImage(listener: ImageListener): () => void
  /** Resolves once the committed image satisfies `pred`; REQUEST_TIMED_OUT after timeoutMs. */
  waitFor(pred: (image: MetadataImage) => boolean, timeoutMs: number, what: string): Promise<void>
  state(): ControllerState
  /** When the active controller last heard from a broker: known only on the active controller itself. */
  lastHeartbeatMs(brokerId: number): number | undefined
}
