/**
 * @module Broker: the broker core, of a single node or of a cluster node. Owns the local topic registry, producer
 * ids, connection accounting and its lifecycle (start, retention, shutdown), and gives its callers (sessions,
 * transport, metrics, the cluster node) operations, never the registries. Each request's semantics live beside it:
 * topic-operations.ts (create/delete/list/metadata), partition-serving.ts (who serves a partition),
 * produce-path.ts, fetch-path.ts.
 *
 * Invariants: every client request on a partition passes servedPartition before it touches a log; once shutdown
 * begins no connection is opened and no produce accepted; open connections ≤ maxConnections. No sockets, timers
 * of its own beyond the injected clock, or runtime globals: adapters give it storage, a clock, a logger and metrics.
 */
import { PushReadsRegistry } from '../sessions/push-reads.js'
import {
  ErrorCodes, ErrorMessages, SamsaError, deletesOldSegments, parseTopicConfigs, topicConfigEntries,
  type FetchRequest, type FetchResponse, type ListOffsetsRequest, type ListOffsetsResponse,
  type Crc32cFn, type InitProducerIdResponse, type MetadataResponse, type MetadataWait, type ProduceRequest, type ProduceResponse,
  type OffsetForLeaderEpochRequest, type OffsetForLeaderEpochResponse, type AllocateProducerIdsRequest,
  type AllocateProducerIdsResponse, type BrokerHeartbeatRequest, type BrokerHeartbeatResponse, type BrokerRegistrationRequest,
  type BrokerRegistrationResponse, type AlterPartitionExchangeRequest, type AlterPartitionExchangeResponse,
} from '@samsa/shared'
import type { FetchMetadataRequest, FetchMetadataResponse } from '@samsa/shared'
import type { Clock, Logger, Timer } from '../clock.js'
import type { LogStorage } from '../log/log-storage.js'
import type { PartitionLog } from '../log/partition-log.js'
import { noopMetrics, type BrokerMetrics } from '../observability/broker-metrics.js'
import type { Authenticator, PeerAuthenticator } from '../security/authentication/authenticator.js'
import { ConfigError, type BrokerConfig } from './broker-config.js'
import type { BrokerClusterPort } from './cluster-port.js'
import { consumerFetch, listOffsets, replicaFetch, type FetchContext, type FetchOutput, type OnGone } from './fetch-path.js'
import type { PartitionLeadership, Resignation } from './partition-leadership.js'
import { AppendGuards, type AppendGuard } from './append-guards.js'
import { servedPartition, type ServedPartition } from './partition-serving.js'
import { appendProduced, type ProduceContext } from './produce-path.js'
import { ProducerIdAllocator } from './producer-id-allocator.js'
import type { LocalLogs } from './local-logs.js'
import { ReplicaRegistry } from './replica-registry.js'
import { BrokerQuotas } from '../security/quotas/broker-quotas.js'
import type { ReplicaOwner } from './replica-identity.js'
import { LogCleaning } from './log-cleaning.js'
import { GroupCoordinator } from '../groups/group-coordinator.js'
import { brokerGroupPorts } from './group-ports.js'
import { TopicRegistry } from './topic-registry.js'
import { AccessControl } from '../security/authorization/access-control.js'
import { Authorizer } from '../security/authorization/authorizer.js'
import { ANONYMOUS, type Principal } from '../security/principal.js'
import {
  createTopic, deleteTopic, listTopics, metadataAnswer, topicConfigsOf, type CreateTopicOptions, type TopicDescription, type TopicScope, type TopicSummary,
} from './topic-operations.js'


export type { AppendGuard } from './append-guards.js'

export type { FetchOutput } from './fetch-path.js'
export type { TopicDescription, TopicSummary } from './topic-operations.js'

export interface BrokerDeps {
  readonly storage: LogStorage
  readonly clock: Clock
  readonly logger: Logger
  readonly metrics?: BrokerMetrics
  /** CRC-32C for verifying produced batches (and, on a replica, fetched and served ones); default the pure-JS one in @samsa/shared. */
  readonly crc32c?: Crc32cFn
  /**
   * Replication: who leads each partition (the ReplicaManager). With it, the broker holds only the replicas it is
   * given (openLocalReplica/removeLocalReplica: ReplicaRegistry), their high watermarks are set by replication,
   * produce/fetch/listOffsets/subscribe to a partition this broker does not lead answer NOT_LEADER_OR_FOLLOWER, and
   * replica fetches are served. Without it the broker holds whole topics (TopicRegistry) and leads every partition.
   */
  readonly leadership?: PartitionLeadership
  /** Verifies client tokens; required when config.authEnabled, unused otherwise. */
  readonly authenticator?: Authenticator
  /** Verifies cluster peers' hello tokens (the cluster secret); without it a peer is recognised by its cluster id alone. */
  readonly peerAuthenticator?: PeerAuthenticator
  /** Who may do what (security/authorization); default: authorization off, everything allowed. */
  readonly authorizer?: Authorizer
}

/** What a connection needs to know of the broker's limits, and what hello tells the client. */
const CONNECTION_LIMITS = [
  'brokerId', 'clusterId', 'maxFrameBytes', 'maxBatchBytes', 'maxRecordBytes', 'maxConnections', 'maxSubscriptionsPerConnection',
  'maxInFlightRequestsPerConnection', 'helloTimeoutMs', 'idleTimeoutMs', 'maxCreditBytes', 'maxPushBytes', 'maxBufferedBytes', 'slowConsumerTimeoutMs',
  'authEnabled', 'allowAnonymous',
] as const satisfies readonly (keyof BrokerConfig)[]
export type ConnectionLimits = Pick<BrokerConfig, (typeof CONNECTION_LIMITS)[number]>

/** One partition's offsets, for gauges. */
export interface PartitionOffsets {
  readonly topic: string
  readonly partition: number
  readonly logStartOffset: number
  readonly highWatermark: number
  readonly logEndOffset: number
  /** Idempotent producer ids whose state the partition holds (until they expire). */
  readonly producerIds: number
}

/**
 * Callers (sessions, transport, metrics) get operations, never the registries: each operation is the one place a
 * cluster will route through its controller or a partition's leader.
 */
export class Broker {
  readonly #config: BrokerConfig
  /** A single node's topics, held whole; null on a replicating broker. */
  readonly #topics: TopicRegistry | null
  /** A replicating broker's hosted replicas; null on a single node. */
  readonly #replicas: ReplicaRegistry | null
  /** Whichever of the two holds this broker's partition logs. */
  readonly #logs: LocalLogs
  readonly #producerIds: ProducerIdAllocator
  readonly limits: ConnectionLimits
  readonly clock: Clock
  readonly logger: Logger
  readonly metrics: BrokerMetrics
  /** Per-principal and per-address quotas (rates and connection counts), shared by every connection. */
  readonly quotas: BrokerQuotas
  /** Client token verification: present exactly when limits.authEnabled. */
  readonly authenticator: Authenticator | undefined
  readonly peerAuthenticator: PeerAuthenticator | undefined
  /** Every authorization check of the sessions and the REST API goes through it. */
  readonly access: AccessControl
  /** Subscriptions' reads and push frames, shared between those at the same position of a partition (fan-out). */
  readonly pushReads: PushReadsRegistry
  /** Consumer groups this broker coordinates (groups/), working through the broker's own operations. */
  readonly groups: GroupCoordinator
  /** What the produce and fetch paths need of the broker. */
  readonly #paths: ProduceContext & FetchContext
  readonly #leadership: PartitionLeadership | undefined
  /** Open connections; invariant: ≤ config.maxConnections. */
  #connections = 0
  /** Each open connection's output budget, for the queued-bytes gauge. */
  readonly #outputs = new Set<{ readonly queuedBytes: number }>()
  #retentionTimer: Timer | null = null
  readonly #cleaning: LogCleaning
  #shuttingDown = false
  /** Refusals of appends a layer above decides (a closed Durable Stream); each answers an error or null. */
  readonly #appendGuards = new AppendGuards()
  /** `#leaderOf` as a function made once (produce hands it to the append guards on every request). */
  readonly #leaderFor = (topic: string, partition: number): ServedPartition => this.#leaderOf(topic, partition)
  /** Set once in clustered mode (useCluster); null on a single node. */
  #cluster: BrokerClusterPort | null = null

  private constructor(config: BrokerConfig, deps: BrokerDeps, logs: TopicRegistry | ReplicaRegistry, producerIds: ProducerIdAllocator) {
    this.#config = config
    this.limits = Object.freeze(Object.fromEntries(CONNECTION_LIMITS.map((k) => [k, config[k]])) as unknown as ConnectionLimits)
    this.clock = deps.clock
    this.logger = deps.logger
    this.metrics = deps.metrics ?? noopMetrics
    this.quotas = new BrokerQuotas(config, deps.clock, this.metrics)
    this.authenticator = config.authEnabled ? deps.authenticator : undefined
    this.peerAuthenticator = deps.peerAuthenticator
    this.access = new AccessControl(deps.authorizer ?? Authorizer.OFF, deps.logger, this.metrics, deps.clock)
    this.pushReads = new PushReadsRegistry()
    this.#paths = { config, clock: deps.clock, metrics: this.metrics, crc32c: deps.crc32c }
    this.#leadership = deps.leadership
    this.#topics = logs instanceof TopicRegistry ? logs : null
    this.#replicas = logs instanceof ReplicaRegistry ? logs : null
    this.#logs = logs
    this.#producerIds = producerIds
    this.groups = new GroupCoordinator(brokerGroupPorts(this, config))
    this.#cleaning = new LogCleaning({ logs, topicConfigs: (t) => topicConfigsOf(this.#topicScope(), t), clock: deps.clock, logger: deps.logger, metrics: this.metrics, intervalMs: config.logCleanerIntervalMs, bytesPerSecond: config.logCleanerBytesPerSecond, indexIntervalBytes: config.log.indexIntervalBytes })
  }

  static async start(config: BrokerConfig, deps: BrokerDeps): Promise<Broker> {
    if (config.authEnabled && !deps.authenticator) throw new ConfigError('authEnabled needs an authenticator (a verification key, a JWKS file or a JWKS URL)')
    const metrics = deps.metrics ?? noopMetrics
    const opener = { storage: deps.storage, logConfig: config.log, clock: deps.clock, logger: deps.logger, maxOpenSegmentFiles: config.maxOpenSegmentFiles, tailCacheBytes: config.tailCacheBytes, metrics, ...(deps.crc32c ? { crc32c: deps.crc32c } : {}) }
    const logs = deps.leadership
      ? await ReplicaRegistry.open({ ...opener, highWatermark: 'set-by-partition' })
      : await TopicRegistry.open({ ...opener, maxPartitionsPerTopic: config.maxPartitionsPerTopic, maxTopics: config.maxTopics, maxPartitions: config.maxPartitions })
    const producerIds = await ProducerIdAllocator.open(deps.storage, { tracked: (n) => metrics.producerEpochsTracked(n) })
    const broker = new Broker(config, deps, logs, producerIds)
    broker.#scheduleRetention()
    broker.#cleaning.start()
    broker.groups.start()
    return broker
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown
  }

  get connectionCount(): number {
    return this.#connections
  }

  /** Reserves a connection slot; false when the broker is full or shutting down. */
  tryOpenConnection(): boolean {
    if (this.#shuttingDown || this.#connections >= this.#config.maxConnections) return false
    this.#connections++
    this.metrics.connectionOpened()
    return true
  }

  connectionClosed(): void {
    this.#connections--
    this.metrics.connectionClosed()
  }

  /** Counts a connection's queued output in queuedOutputBytes until the returned function is called. */
  trackOutput(output: { readonly queuedBytes: number }): () => void {
    this.#outputs.add(output)
    return () => void this.#outputs.delete(output)
  }

  /** Bytes held by the partitions' tail caches (≤ config.tailCacheBytes). */
  get tailCacheBytes(): number {
    return this.#logs.tailCacheBytes
  }

  /** Bytes queued for all connections (send buffers and reservations for output being read). */
  get queuedOutputBytes(): number {
    let sum = 0
    for (const o of this.#outputs) sum += o.queuedBytes
    return sum
  }

  /**
   * Clustered mode, before serving anyone: metadata, topics and producer-id blocks come from the cluster from now
   * on. Replicas already on disk stay open; the cluster's partition roles decide which are served.
   */
  useCluster(cluster: BrokerClusterPort): void {
    if (this.#cluster) throw new Error('the broker already has a cluster')
    this.#cluster = cluster
    this.#producerIds.useBlockSource(() => cluster.allocateProducerIds())
  }

  get clustered(): boolean {
    return this.#cluster !== null
  }

  /**
   * Checks its arguments (parseCreateTopic: INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS), so untrusted input may be
   * passed as is. In a cluster the create is a controller proposal (forwarded unless `opts.fromPeer`); a single node
   * takes replication factor 1 only.
   */
  createTopic(name: unknown, partitions: unknown, opts: CreateTopicOptions = {}): Promise<TopicSummary> {
    return createTopic(this.#topicScope(), name, partitions, opts)
  }

  /** UNKNOWN_TOPIC_OR_PARTITION when there is no such topic. In a cluster, a controller proposal. */
  deleteTopic(name: string, opts: { fromPeer?: boolean } = {}): Promise<void> {
    return deleteTopic(this.#topicScope(), name, opts)
  }

  /**
   * A clustered broker without replication (the edge's topic objects, adapters/cloudflare) holds whole topics: its
   * cluster places a topic on it through this, after the topic's registration is in the cluster's image.
   */
  async createLocalTopic(name: string, partitions: number, configs?: Readonly<Record<string, string>>): Promise<void> {
    await singleNodeRegistry(this.#topics).create(name, partitions, parseTopicConfigs(configs ?? {}))
  }

  /** The reverse of createLocalTopic: closes and deletes the topic's logs (UNKNOWN_TOPIC_OR_PARTITION when not held). */
  deleteLocalTopic(name: string): Promise<void> {
    return singleNodeRegistry(this.#topics).delete(name)
  }

  /**
   * Replication: opens (creating when new) this broker's replica of a partition for `owner`'s topic (the
   * ReplicaManager's ReplicaLogs); a replica recorded for another topic is deleted and created again empty.
   */
  openLocalReplica(topic: string, partition: number, owner: ReplicaOwner): Promise<PartitionLog> {
    return this.#replicaRegistry().openReplica(topic, partition, owner)
  }

  /** Replication: closes this broker's replica of a partition and opens it again through recovery (read-time damage). */
  reopenLocalReplica(topic: string, partition: number): Promise<PartitionLog> {
    return this.#replicaRegistry().reopenReplica(topic, partition)
  }

  /** Replication: closes and deletes this broker's replica of a partition, if it holds one. */
  removeLocalReplica(topic: string, partition: number): Promise<void> {
    return this.#replicaRegistry().removeReplica(topic, partition)
  }

  #replicaRegistry(): ReplicaRegistry {
    if (!this.#replicas) throw new Error('a single node holds whole topics: local replicas belong to a broker with a leadership port')
    return this.#replicas
  }

  /** Broker-to-broker: served only by the active controller of a cluster. */
  brokerRegistration(req: BrokerRegistrationRequest): Promise<BrokerRegistrationResponse> {
    return this.#requireCluster().brokerRegistration(req)
  }

  brokerHeartbeat(req: BrokerHeartbeatRequest): Promise<BrokerHeartbeatResponse> {
    return this.#requireCluster().brokerHeartbeat(req)
  }

  allocateProducerIds(req: AllocateProducerIdsRequest): Promise<AllocateProducerIdsResponse> {
    return this.#requireCluster().allocateProducerIdsFor(req)
  }

  alterPartition(req: AlterPartitionExchangeRequest): Promise<AlterPartitionExchangeResponse> {
    return this.#requireCluster().alterPartitionFor(req)
  }

  /** Broker-to-broker: served by any controller voter of a cluster (a broker-only node's metadata log). */
  fetchMetadata(req: FetchMetadataRequest): Promise<FetchMetadataResponse> {
    return this.#requireCluster().fetchMetadata(req)
  }

  #requireCluster(): BrokerClusterPort {
    if (!this.#cluster) throw new SamsaError('NOT_CONTROLLER', 'this broker runs as a single node: it has no controller quorum')
    return this.#cluster
  }

  /**
   * Runs `listener` with the name of each topic deleted from now on (a single node's; on a replicating broker a
   * removed replica's subscriptions end through onResigned); returns the unregister function.
   */
  onTopicDeleted(listener: (name: string) => void): () => void {
    return this.#topics?.onDeleted(listener) ?? (() => {})
  }

  /** Runs `listener` each time this broker stops leading a partition (never for a single node); returns the unregister function. */
  onResigned(listener: (resigned: Resignation) => void): () => void {
    return this.#leadership?.onResigned(listener) ?? (() => {})
  }

  /** Every topic, by name. */
  listTopics(): TopicSummary[] {
    return listTopics(this.#topicScope())
  }

  /** The topic's partitions with leader and offsets; UNKNOWN_TOPIC_OR_PARTITION when there is no such topic. */
  describeTopic(name: string): TopicDescription {
    const meta = this.metadata([name]).topics[0]
    if (!meta || meta.errorCode !== 0) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', ErrorMessages.unknownTopic(name))
    return { name: meta.name, partitions: meta.partitions, configs: topicConfigEntries(topicConfigsOf(this.#topicScope(), name)) }
  }

  /** Offsets of every partition on this broker. */
  *partitionOffsets(): Iterable<PartitionOffsets> {
    for (const { topic, partition, log } of this.#logs.logs()) {
      yield { topic, partition, logStartOffset: log.logStartOffset, highWatermark: log.highWatermark, logEndOffset: log.logEndOffset, producerIds: log.producerIdCount }
    }
  }

  /**
   * A partition's log, for subscriptions to read and wait on; UNKNOWN_TOPIC_OR_PARTITION / INVALID_TOPIC_EXCEPTION,
   * and in a cluster NOT_LEADER_OR_FOLLOWER when this broker does not lead it.
   */
  partition(topic: string, partition: number): PartitionLog {
    return this.#leaderOf(topic, partition).log
  }

  /**
   * This broker's replica of a partition whatever its role (for the replication layer); NOT_LEADER_OR_FOLLOWER when
   * a replicating broker holds none, UNKNOWN_TOPIC_OR_PARTITION on a single node.
   */
  localReplica(topic: string, partition: number): PartitionLog {
    return this.#logs.partition(topic, partition)
  }

  /**
   * producerId −1: a new id at epoch 0; the current (id, epoch) pair: the id at the next epoch (ProducerIdAllocator.init).
   * While authorization is on, the id is bound to `principal` (producer-id-binding.ts) and only it may bump it: another
   * principal's id is refused with INVALID_PRODUCER_ID_MAPPING before the allocator is asked, exists or not.
   */
  async initProducerId(producerId: number, producerEpoch: number, principal: Principal = ANONYMOUS, via: 'ws' | 'http' = 'ws'): Promise<InitProducerIdResponse> {
    this.access.requireProducerId(principal, producerId, 'initProducerId', via)
    const r = await this.#producerIds.init(producerId, producerEpoch)
    return { producerId: this.access.bind(principal, r.producerId), producerEpoch: r.producerEpoch }
  }

  /**
   * Each distinct name once, in request order. The answer's size is computed before any of it is built, so a
   * request costs O(names) and allocates at most maxResponseBytes (else RESPONSE_TOO_LARGE).
   */
  metadata(names: readonly string[] | null): MetadataResponse {
    return metadataAnswer(this.#topicScope(), names)
  }

  /**
   * A metadata request with a wait (a leader watch): answered once this broker's image differs from what the client
   * knows, or at its maxWaitMs. A single node's leaders never move, so it answers at once.
   */
  async metadataWhenChanged(names: readonly string[], wait: MetadataWait, onCancel: (cancel: () => void) => () => void): Promise<MetadataResponse> {
    if (this.#cluster) await this.#cluster.waitForMetadata(names, wait, onCancel)
    return this.metadata(names)
  }

  #topicScope(): TopicScope {
    return { topics: this.#topics, logs: this.#logs, cluster: this.#cluster, config: this.#config }
  }

  /** Whether this broker serves the partition as its leader (partition-serving.ts). */
  #leaderOf(topic: string, partition: number, currentLeaderEpoch?: number): ServedPartition {
    return servedPartition({ brokerId: this.#config.brokerId, logs: this.#logs, cluster: this.#cluster, leadership: this.#leadership }, topic, partition, currentLeaderEpoch)
  }

  /**
   * Registers a refusal of appends (the one place every produce, WebSocket, HTTP or a peer's, is checked against
   * it, after leadership); returns the unregister function.
   */
  useAppendGuard(guard: AppendGuard): () => void {
    return this.#appendGuards.use(guard)
  }

  /** Validates and appends one batch; resolves once it satisfies acks (produce-acks.ts) or rejects with a SamsaError. */
  async produce(req: ProduceRequest): Promise<ProduceResponse> {
    if (this.#shuttingDown) throw new SamsaError(ErrorCodes.BROKER_SHUTTING_DOWN)
    if (req.acks !== -1 && req.acks !== 0 && req.acks !== 1) throw new SamsaError('INVALID_REQUIRED_ACKS', `acks must be -1, 0 or 1, got ${req.acks}`)
    const guarded = this.#appendGuards.check(req.topic, req.partition, this.#leaderFor)
    const { log, leader } = guarded instanceof Promise ? await guarded : guarded
    return appendProduced(this.#paths, req, log, leader)
  }

  /**
   * A consumer's fetch (a long poll up to the high watermark), or a follower's replica fetch when req.replicaId is
   * set (fetch-path.ts). `onGone` registers a callback for when the requester's connection closes; `output` is the
   * connection's output budget.
   */
  async fetch(req: FetchRequest, onGone?: OnGone, output?: FetchOutput): Promise<FetchResponse> {
    if (req.replicaId !== undefined) return replicaFetch(this.#paths, req, this.#logs.partition(req.topic, req.partition), this.#leadership, onGone, output)
    const { log } = this.#leaderOf(req.topic, req.partition)
    return consumerFetch(this.#paths, req, log, onGone, output)
  }

  /**
   * OffsetsForLeaderEpoch, answered by the partition leader to a follower (peer `replicaId`, checked by the session)
   * or to a consumer validating its position (KIP-320). A single node leads every partition at epoch 0.
   */
  offsetForLeaderEpoch(req: OffsetForLeaderEpochRequest): OffsetForLeaderEpochResponse {
    const { log } = this.#leaderOf(req.topic, req.partition, req.currentLeaderEpoch)
    const r = log.endOffsetForEpoch(req.leaderEpoch)
    return { leaderEpoch: r.epoch, endOffset: r.endOffset }
  }

  /** -2: the log start; -1: the high watermark; a time: the first offset at or after it (fetch-path.ts). */
  async listOffsets(req: ListOffsetsRequest): Promise<ListOffsetsResponse> {
    const { log } = this.#leaderOf(req.topic, req.partition)
    return listOffsets(req, log)
  }

  #scheduleRetention(): void {
    if (this.#shuttingDown) return
    this.#retentionTimer = this.clock.setTimeout(() => {
      this.#logs
        .applyRetention((t) => deletesOldSegments(topicConfigsOf(this.#topicScope(), t)))
        .then((n) => n > 0 && this.logger.info({ segments: n }, 'retention deleted segments'))
        .catch((err: unknown) => this.logger.error({ err }, 'retention failed'))
        .finally(() => this.#scheduleRetention())
    }, this.#config.retentionCheckIntervalMs)
  }

  /** Stops accepting work, then flushes and closes every log. */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true
    this.groups.stop()
    if (this.#retentionTimer) this.clock.clearTimeout(this.#retentionTimer)
    await this.#cleaning.stop()
    await this.#logs.close()
  }
}

function singleNodeRegistry(topics: TopicRegistry | null): TopicRegistry {
  if (!topics) throw new Error('a replicating broker holds replicas, not whole topics: it has no local topics to create')
  return topics
}
