/**
 * @module The Broker's port to its cluster (cluster/cluster-node.ts implements it; at the edge, a namespace's catalog:
 * adapters/cloudflare/edge-catalog.ts). Absent on a single node: the
 * broker then keeps topics and producer-id blocks itself, exactly as before. Present: metadata answers come from the
 * metadata image, topic create/delete become controller proposals, producer-id blocks come from the metadata log,
 * and broker-to-broker requests reach the active controller.
 */
import type {
  AllocateProducerIdsRequest, AllocateProducerIdsResponse, AlterPartitionExchangeRequest, AlterPartitionExchangeResponse, BrokerHeartbeatRequest, BrokerHeartbeatResponse, BrokerRegistrationRequest,
  BrokerRegistrationResponse, CreateTopicRequest, FetchMetadataRequest, FetchMetadataResponse, MetadataWait,
} from '@samsa/shared'
import type { MetadataImage } from '../controller/metadata/index.js'

export interface BrokerClusterPort {
  /** The committed metadata image as this broker has applied it. */
  image(): MetadataImage
  /**
   * Which brokers a metadata answer lists: every unfenced one (absent or 'all': a cluster's clients fail over among
   * them), or only this broker and the leaders of the answer's partitions ('leaders': the edge, where each topic is a
   * broker of its own and a client should learn, and connect to, only the objects of the topics it uses).
   */
  readonly metadataBrokers?: 'all' | 'leaders'
  /**
   * A leader watch: resolves once the image differs from what the client knows of `topics` (metadata-waits.ts), after
   * `wait.maxWaitMs`, or when `onCancel` fires (its connection closed).
   */
  waitForMetadata(topics: readonly string[], wait: MetadataWait, onCancel: (cancel: () => void) => () => void): Promise<void>
  /**
   * Creates a topic through the active controller; resolves once this broker has applied it (and opened its local
   * replicas). `fromPeer`: the request was forwarded by another broker, so it is not forwarded again.
   */
  createTopic(req: CreateTopicRequest, fromPeer: boolean): Promise<{ name: string; partitions: number }>
  deleteTopic(name: string, fromPeer: boolean): Promise<void>
  /** A block of producer ids for this broker, from the metadata log. */
  allocateProducerIds(): Promise<{ firstProducerId: number; size: number }>
  /** Broker-to-broker requests, answered only by the active controller (NOT_CONTROLLER otherwise). */
  brokerRegistration(req: BrokerRegistrationRequest): Promise<BrokerRegistrationResponse>
  brokerHeartbeat(req: BrokerHeartbeatRequest): Promise<BrokerHeartbeatResponse>
  allocateProducerIdsFor(req: AllocateProducerIdsRequest): Promise<AllocateProducerIdsResponse>
  alterPartitionFor(req: AlterPartitionExchangeRequest): Promise<AlterPartitionExchangeResponse>
  /** A broker-only node's long poll of the committed metadata log, answered by any controller voter. */
  fetchMetadata(req: FetchMetadataRequest): Promise<FetchMetadataResponse>
}
