/**
 * @module ClusterNode: one cluster node's cluster side, pure. It ties the node's MetadataView (a voter's MetadataNode:
 * the metadata log, and the active controller when this node leads the quorum; a broker-only node's MetadataObserver)
 * to the broker: it registers and heartbeats
 * (BrokerLifecycle), hands each image change's `localPartitionChanges` for this broker to the PartitionRoleListener,
 * but only once this broker has caught up with the metadata log (Kafka/KRaft: partition roles are applied only after
 * the broker's metadata offset has reached the controller's, i.e. once its registration is unfenced): the first
 * unfencing hands over the changes from the empty image to the current one in one go (`complete`: any other local
 * replica is stray), and every change after it follows. Until then the listener holds no roles, so produce/fetch/subscribe answer NOT_LEADER_OR_FOLLOWER and a
 * restarted former leader never acts on the stale leadership its replayed local log still names.
 * routes topic create/delete and producer-id blocks through the active controller (ControllerChannel), and serves
 * the broker-to-broker requests when this node is the active controller (NOT_CONTROLLER on a broker-only node). It
 * implements the Broker's cluster port.
 */
import { SamsaError, silentLogger, type Logger, type MetadataWait } from '@samsa/shared'
import type { BrokerClusterPort } from '../broker/cluster-port.js'
import type { Clock } from '../clock.js'
import { localPartitionChanges, type MetadataImage, type PartitionRegistration } from '../controller/metadata/index.js'
import type { AlterPartitionRequest } from '../replication/leader-partition.js'
import type { MetadataView } from '../controller/metadata-view.js'
import { BrokerLifecycle } from './broker-lifecycle.js'
import { MetadataWaits } from './metadata-waits.js'
import { ControllerChannel, controllerRequests, notAController, type ControllerDecisions, type ControllerHandlers, type PeerRequester } from './controller-channel.js'
import type { PartitionRoleListener } from './partition-roles.js'

export interface ClusterNodeOptions {
  readonly brokerId: number
  readonly clusterId: string
  readonly advertisedUrl: string
  readonly rack?: string | null
  readonly metadata: MetadataView
  /** A controller voter's decisions (its MetadataNode, also its `metadata`); absent on a broker-only node. */
  readonly controller?: ControllerDecisions
  readonly peers: PeerRequester
  readonly clock: Clock
  readonly logger?: Logger
  /** How long a topic create/delete may wait for a controller and for this broker to apply the result. */
  readonly requestTimeoutMs: number
  /** Local replicas recovered incomplete at start (see BrokerLifecycle): named in the registration. */
  readonly incompleteReplicas?: readonly { readonly topic: string; readonly partition: number }[]
}

export interface ClusterNodeStatus {
  readonly brokerId: number
  readonly brokerEpoch: number
  readonly fenced: boolean
  readonly controller: { readonly active: boolean; readonly role: string; readonly term: number; readonly leaderId: number | null }
  readonly metadataOffset: number
  readonly nodes: readonly { readonly id: number; readonly url: string; readonly fenced: boolean; readonly brokerEpoch: number; readonly rack: string | null; readonly lastHeartbeatAgoMs: number | null }[]
}

export class ClusterNode implements BrokerClusterPort {
  readonly #o: ClusterNodeOptions
  readonly #logger: Logger
  readonly #handlers: ControllerHandlers
  readonly channel: ControllerChannel
  readonly lifecycle: BrokerLifecycle
  /** Clients' leader watches, answered from this node's image (see metadata-waits.ts). */
  readonly metadataWaits: MetadataWaits
  #roles: PartitionRoleListener | null = null
  #settled: () => Promise<void> = () => Promise.resolve()
  #unlisten: (() => void) | null = null
  /** Whether the role listener follows the image: false until the first unfencing, then true for good. */
  #following = false

  constructor(opts: ClusterNodeOptions) {
    this.#o = opts
    this.#logger = opts.logger ?? silentLogger
    this.#handlers = opts.controller ? controllerRequests(opts.controller, opts.clusterId) : notAController(opts.brokerId, opts.metadata)
    this.channel = new ControllerChannel({ nodeId: opts.brokerId, metadata: opts.metadata, handlers: this.#handlers, peers: opts.peers, clock: opts.clock })
    this.metadataWaits = new MetadataWaits(() => opts.metadata.image, opts.clock)
    this.lifecycle = new BrokerLifecycle({
      brokerId: opts.brokerId,
      clusterId: opts.clusterId,
      advertisedUrl: opts.advertisedUrl,
      rack: opts.rack ?? null,
      channel: this.channel,
      clock: opts.clock,
      logger: this.#logger,
      heartbeatIntervalMs: Math.max(50, Math.floor(opts.metadata.config.sessionTimeoutMs / 3)),
      ...(opts.incompleteReplicas ? { incompleteReplicas: opts.incompleteReplicas } : {}),
      metadataOffset: () => opts.metadata.image.offset,
      onFencedChange: (fenced) => {
        if (!fenced) this.#caughtUpWithMetadata()
      },
    })
  }

  /**
   * Starts registering; once the controller unfences this broker (it has caught up with the metadata log), `roles`
   * is given the changes since the empty image (so replicas this broker already holds are opened in their current
   * roles) and then follows every image change. `settled` resolves once `roles` has acted on everything handed to it
   * (so a create can answer after its local replicas exist).
   */
  start(roles: PartitionRoleListener, settled: () => Promise<void>): void {
    this.#roles = roles
    this.#settled = settled
    const { metadata, brokerId } = this.#o
    this.#unlisten = metadata.onImage((before, after) => {
      if (this.#following) this.#imageChanged(before, after)
      this.metadataWaits.imageChanged(after)
    })
    this.lifecycle.start()
    this.#logger.info({ brokerId }, 'cluster member started; partition roles wait until it has caught up with the metadata log')
  }

  /** Whether partition roles follow the metadata image yet (this broker has been unfenced once). */
  get caughtUp(): boolean {
    return this.#following
  }

  #caughtUpWithMetadata(): void {
    if (this.#following || !this.#roles) return
    this.#following = true
    const now = this.#o.metadata.image
    this.#logger.info({ brokerId: this.#o.brokerId, metadataOffset: now.offset }, 'caught up with the metadata log; applying partition roles')
    this.#imageChanged({ ...now, offset: -1, brokers: new Map(), topics: new Map() }, now, true)
  }

  #imageChanged(before: MetadataImage, after: MetadataImage, complete = false): void {
    const changes = localPartitionChanges(before, after, this.#o.brokerId)
    const acted = this.#roles?.onLocalChanges(changes, after, complete ? { complete } : undefined)
    acted?.catch((err: unknown) => this.#logger.error({ err: String(err), offset: after.offset }, 'acting on partition role changes failed'))
  }

  image(): MetadataImage {
    return this.#o.metadata.image
  }

  async createTopic(req: { name: string; partitions: number; replicationFactor?: number; minInsyncReplicas?: number; configs?: Readonly<Record<string, string>> }, fromPeer: boolean): Promise<{ name: string; partitions: number }> {
    const r = await this.channel.call('createTopic', req, fromPeer ? 0 : this.#o.requestTimeoutMs / 2)
    await this.#o.metadata.waitFor((img) => img.topics.has(req.name), this.#o.requestTimeoutMs / 2, `topic ${req.name}`)
    await this.#settled()
    return r
  }

  async deleteTopic(name: string, fromPeer: boolean): Promise<void> {
    await this.channel.call('deleteTopic', { name }, fromPeer ? 0 : this.#o.requestTimeoutMs / 2)
    await this.#o.metadata.waitFor((img) => !img.topics.has(name), this.#o.requestTimeoutMs / 2, `the deletion of topic ${name}`)
    await this.#settled()
  }

  async allocateProducerIds(): Promise<{ firstProducerId: number; size: number }> {
    const brokerEpoch = this.lifecycle.brokerEpoch
    if (brokerEpoch < 0) throw new SamsaError('NOT_CONTROLLER', 'this broker has not registered with the controller yet; retry')
    return this.channel.call('allocateProducerIds', { brokerId: this.#o.brokerId, brokerEpoch }, this.#o.requestTimeoutMs / 2)
  }

  brokerRegistration = (req: Parameters<ControllerHandlers['brokerRegistration']>[0]) => this.#handlers.brokerRegistration(req)
  brokerHeartbeat = (req: Parameters<ControllerHandlers['brokerHeartbeat']>[0]) => this.#handlers.brokerHeartbeat(req)
  allocateProducerIdsFor = (req: Parameters<ControllerHandlers['allocateProducerIds']>[0]) => this.#handlers.allocateProducerIds(req)
  alterPartitionFor = (req: Parameters<ControllerHandlers['alterPartition']>[0]) => this.#handlers.alterPartition(req)
  fetchMetadata = (req: Parameters<ControllerHandlers['fetchMetadata']>[0]) => this.#handlers.fetchMetadata(req)

  /**
   * The replication layer's AlterPartition port: a leader's ISR change, sent to the active controller with this
   * broker's id and epoch; resolves with the committed registration.
   */
  async alterPartition(req: AlterPartitionRequest): Promise<PartitionRegistration> {
    const brokerEpoch = this.lifecycle.brokerEpoch
    if (brokerEpoch < 0) throw new SamsaError('NOT_CONTROLLER', 'this broker has not registered with the controller yet; retry')
    const r = await this.channel.call('alterPartition', { ...req, brokerId: this.#o.brokerId, brokerEpoch }, this.#o.requestTimeoutMs / 2)
    return { leader: r.leader, leaderEpoch: r.leaderEpoch, partitionEpoch: r.partitionEpoch, replicas: r.replicas, isr: r.isr }
  }

  /** The replication layer's report of a local replica found damaged while running (see BrokerLifecycle). */
  reportIncompleteReplica(topic: string, partition: number): void {
    this.lifecycle.reportIncomplete(topic, partition)
  }

  status(): ClusterNodeStatus {
    const { metadata } = this.#o
    const s = metadata.state()
    const life = this.lifecycle.state()
    const nowMs = this.#o.clock.nowMs()
    return {
      brokerId: this.#o.brokerId,
      brokerEpoch: life.brokerEpoch,
      fenced: life.fenced,
      controller: { active: s.active, role: s.role, term: s.term, leaderId: s.leaderId === 0 ? null : s.leaderId },
      metadataOffset: s.metadataOffset,
      nodes: [...metadata.image.brokers.values()]
        .sort((a, b) => a.brokerId - b.brokerId)
        .map((b) => {
          const last = metadata.lastHeartbeatMs(b.brokerId)
          return { id: b.brokerId, url: b.advertisedUrl, fenced: b.fenced, brokerEpoch: b.brokerEpoch, rack: b.rack, lastHeartbeatAgoMs: last === undefined ? null : Math.max(0, nowMs - last) }
        }),
    }
  }

  /** Controlled shutdown (bounded by timeoutMs), then stops following the image. */
  async close(timeoutMs: number): Promise<void> {
    await this.lifecycle.shutdown(timeoutMs)
    this.#unlisten?.()
    this.metadataWaits.close()
  }

  waitForMetadata(topics: readonly string[], wait: MetadataWait, onCancel: (cancel: () => void) => () => void): Promise<void> {
    return this.metadataWaits.wait(topics, wait, onCancel)
  }
}
