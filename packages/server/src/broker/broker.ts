/**
 * @module Broker: the single-node broker core. Owns topics, producer ids and connection accounting, and
 * implements every request's semantics over PartitionLogs. No sockets, timers of its own beyond the injected
 * clock, or runtime globals: adapters give it storage, a clock, a logger and metrics.
 */
import {
  ErrorCodes, ErrorMessages, ProtocolError, RecordTooLargeError, SamsaError, batchTotalBytes, utf8ByteLength, verifyBatch,
  type FetchRequest, type FetchResponse, type ListOffsetsRequest, type ListOffsetsResponse,
  type Crc32cFn, type InitProducerIdResponse, type MetadataResponse, type PartitionMetadata, type ProduceRequest, type ProduceResponse,
  type OffsetForLeaderEpochRequest, type OffsetForLeaderEpochResponse, type TopicMetadata, type AllocateProducerIdsRequest,
  type AllocateProducerIdsResponse, type BrokerHeartbeatRequest, type BrokerHeartbeatResponse, type BrokerRegistrationRequest,
  type BrokerRegistrationResponse, type AlterPartitionExchangeRequest, type AlterPartitionExchangeResponse,
} from '@samsa/shared'
import type { FetchMetadataRequest, FetchMetadataResponse } from '@samsa/shared'
import type { Clock, Logger, Timer } from '../clock.js'
import type { LogStorage } from '../log/log-storage.js'
import type { PartitionLog, ReadResult } from '../log/partition-log.js'
import { noopMetrics, type BrokerMetrics } from '../observability/broker-metrics.js'
import type { MetadataImage } from '../controller/metadata/index.js'
import type { BrokerConfig } from './broker-config.js'
import type { BrokerClusterPort } from './cluster-port.js'
import { parseCreateTopic } from './create-topic-request.js'
import { readEnd, waitForBytes, waitForLogEnd } from './fetch-wait.js'
import type { LeaderHandle, PartitionLeadership, Resignation } from './partition-leadership.js'
import { awaitAcks, checkAcksBeforeAppend } from './produce-acks.js'
import { ProducerIdAllocator } from './producer-id-allocator.js'
import { TopicRegistry, assertTopicName } from './topic-registry.js'
import { withTimeout } from './with-timeout.js'

export interface BrokerDeps {
  readonly storage: LogStorage
  readonly clock: Clock
  readonly logger: Logger
  readonly metrics?: BrokerMetrics
  /** CRC-32C for verifying produced batches; default the pure-JS one in @samsa/shared. */
  readonly crc32c?: Crc32cFn
  /**
   * Replication: who leads each partition (the ReplicaManager). With it, partitions' high watermarks are set by
   * replication, produce/fetch/listOffsets/subscribe to a partition this broker does not lead answer
   * NOT_LEADER_OR_FOLLOWER, and replica fetches are served. Without it the broker leads every partition it has.
   */
  readonly leadership?: PartitionLeadership
}

/** What a connection needs to know of the broker's limits, and what hello tells the client. */
const CONNECTION_LIMITS = [
  'brokerId', 'clusterId', 'maxFrameBytes', 'maxBatchBytes', 'maxRecordBytes', 'maxConnections', 'maxSubscriptionsPerConnection',
  'maxInFlightRequestsPerConnection', 'helloTimeoutMs', 'idleTimeoutMs', 'maxCreditBytes', 'maxPushBytes', 'maxBufferedBytes', 'slowConsumerTimeoutMs',
] as const satisfies readonly (keyof BrokerConfig)[]
export type ConnectionLimits = Pick<BrokerConfig, (typeof CONNECTION_LIMITS)[number]>

/** Room in the requesting connection's output budget for a fetch reply: reserved before records are read. */
export interface FetchOutput {
  /** Waits for room for `bytes`; rejects once the connection is closed. */
  reserve(bytes: number): Promise<void>
  /** Gives back what reserve took (no-op when nothing is held). */
  release(): void
}

/** One partition's offsets, for gauges. */
export interface PartitionOffsets {
  readonly topic: string
  readonly partition: number
  readonly logStartOffset: number
  readonly highWatermark: number
  readonly logEndOffset: number
}

export interface TopicSummary {
  readonly name: string
  readonly partitions: number
}

export interface TopicDescription {
  readonly name: string
  readonly partitions: readonly PartitionMetadata[]
}

/**
 * Callers (sessions, transport, metrics) get operations, never the registries: each operation is the one place a
 * cluster will route through its controller or a partition's leader.
 */
export class Broker {
  readonly #config: BrokerConfig
  readonly #topics: TopicRegistry
  readonly #producerIds: ProducerIdAllocator
  readonly limits: ConnectionLimits
  readonly clock: Clock
  readonly logger: Logger
  readonly metrics: BrokerMetrics
  readonly #crc32c: Crc32cFn | undefined
  readonly #leadership: PartitionLeadership | undefined
  /** Open connections; invariant: ≤ config.maxConnections. */
  #connections = 0
  /** Each open connection's output budget, for the queued-bytes gauge. */
  readonly #outputs = new Set<{ readonly queuedBytes: number }>()
  #retentionTimer: Timer | null = null
  #shuttingDown = false
  /** Set once in clustered mode (useCluster); null on a single node. */
  #cluster: BrokerClusterPort | null = null

  private constructor(config: BrokerConfig, deps: BrokerDeps, topics: TopicRegistry, producerIds: ProducerIdAllocator) {
    this.#config = config
    this.limits = Object.freeze(Object.fromEntries(CONNECTION_LIMITS.map((k) => [k, config[k]])) as unknown as ConnectionLimits)
    this.clock = deps.clock
    this.logger = deps.logger
    this.metrics = deps.metrics ?? noopMetrics
    this.#crc32c = deps.crc32c
    this.#leadership = deps.leadership
    this.#topics = topics
    this.#producerIds = producerIds
  }

  static async start(config: BrokerConfig, deps: BrokerDeps): Promise<Broker> {
    const topics = await TopicRegistry.open({
      storage: deps.storage,
      logConfig: config.log,
      clock: deps.clock,
      logger: deps.logger,
      maxPartitionsPerTopic: config.maxPartitionsPerTopic,
      maxTopics: config.maxTopics,
      maxPartitions: config.maxPartitions,
      maxOpenSegmentFiles: config.maxOpenSegmentFiles,
      metrics: deps.metrics ?? noopMetrics,
      ...(deps.leadership && { highWatermark: 'set-by-partition' as const }),
    })
    const metrics = deps.metrics ?? noopMetrics
    const producerIds = await ProducerIdAllocator.open(deps.storage, { tracked: (n) => metrics.producerEpochsTracked(n) })
    const broker = new Broker(config, deps, topics, producerIds)
    broker.#scheduleRetention()
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

  /** Bytes queued for all connections (send buffers and reservations for output being read). */
  get queuedOutputBytes(): number {
    let sum = 0
    for (const o of this.#outputs) sum += o.queuedBytes
    return sum
  }

  /**
   * Clustered mode, before serving anyone: metadata, topics and producer-id blocks come from the cluster from now
   * on. Topic logs already on disk stay open; the cluster's partition roles decide which are served.
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
  async createTopic(name: unknown, partitions: unknown, opts: { replicationFactor?: number; minInsyncReplicas?: number; fromPeer?: boolean } = {}): Promise<TopicSummary> {
    const args = parseCreateTopic(name, partitions, this.#config.maxPartitionsPerTopic)
    const { replicationFactor, minInsyncReplicas } = opts
    if (this.#cluster) {
      const req = { ...args, ...(replicationFactor !== undefined ? { replicationFactor, minInsyncReplicas: minInsyncReplicas ?? -1 } : {}) }
      return this.#cluster.createTopic(req, opts.fromPeer ?? false)
    }
    if (replicationFactor !== undefined && replicationFactor !== 1) {
      throw new SamsaError('INVALID_REPLICATION_FACTOR', `a single node holds one replica; replication factor ${replicationFactor} needs a cluster`, { liveBrokers: 1 })
    }
    if (minInsyncReplicas !== undefined && minInsyncReplicas !== -1 && minInsyncReplicas !== 1) {
      throw new SamsaError('INVALID_CONFIG', `min.insync.replicas must be 1 on a single node, got ${minInsyncReplicas}`)
    }
    const t = await this.#topics.create(args.name, args.partitions)
    return { name: t.name, partitions: t.partitions.length }
  }

  /** UNKNOWN_TOPIC_OR_PARTITION when there is no such topic. In a cluster, a controller proposal. */
  deleteTopic(name: string, opts: { fromPeer?: boolean } = {}): Promise<void> {
    if (this.#cluster) return this.#cluster.deleteTopic(name, opts.fromPeer ?? false)
    return this.#topics.delete(name)
  }

  /** Cluster: opens (creating if missing) this broker's local logs of a topic (PartitionRoleListener's operation). */
  async openLocalTopic(name: string, partitions: number): Promise<void> {
    const t = this.#topics.get(name)
    if (t && t.partitions.length === partitions) return
    if (t) await this.#topics.delete(name)
    await this.#topics.create(name, partitions)
  }

  /** Cluster: deletes this broker's local logs of a topic, if any. */
  async removeLocalTopic(name: string): Promise<void> {
    if (this.#topics.get(name)) await this.#topics.delete(name)
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

  /** Runs `listener` with the name of each topic deleted from now on; returns the unregister function. */
  onTopicDeleted(listener: (name: string) => void): () => void {
    return this.#topics.onDeleted(listener)
  }

  /** Runs `listener` each time this broker stops leading a partition (never for a single node); returns the unregister function. */
  onResigned(listener: (resigned: Resignation) => void): () => void {
    return this.#leadership?.onResigned(listener) ?? (() => {})
  }

  /** Every topic, by name. */
  listTopics(): TopicSummary[] {
    if (this.#cluster) return [...this.#cluster.image().topics.values()].map((t) => ({ name: t.name, partitions: t.partitions.length })).sort((a, b) => a.name.localeCompare(b.name))
    return this.#topics.list().map((t) => ({ name: t.name, partitions: t.partitions.length }))
  }

  /** The topic's partitions with leader and offsets; UNKNOWN_TOPIC_OR_PARTITION when there is no such topic. */
  describeTopic(name: string): TopicDescription {
    const meta = this.metadata([name]).topics[0]
    if (!meta || meta.errorCode !== 0) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', ErrorMessages.unknownTopic(name))
    return { name: meta.name, partitions: meta.partitions }
  }

  /** Offsets of every partition on this broker. */
  *partitionOffsets(): Iterable<PartitionOffsets> {
    for (const t of this.#topics.list()) {
      for (const [partition, log] of t.partitions.entries()) {
        yield { topic: t.name, partition, logStartOffset: log.logStartOffset, highWatermark: log.highWatermark, logEndOffset: log.logEndOffset }
      }
    }
  }

  /**
   * A partition's log, for subscriptions to read and wait on; UNKNOWN_TOPIC_OR_PARTITION / INVALID_TOPIC_EXCEPTION,
   * and in a cluster NOT_LEADER_OR_FOLLOWER when this broker does not lead it.
   */
  partition(topic: string, partition: number): PartitionLog {
    return this.#leaderOf(topic, partition).log
  }

  /** This broker's replica of a partition whatever its role (for the replication layer); UNKNOWN_TOPIC_OR_PARTITION. */
  localReplica(topic: string, partition: number): PartitionLog {
    return this.#topics.partition(topic, partition)
  }

  /** producerId −1: a new id at epoch 0; the current (id, epoch) pair: the id at the next epoch (ProducerIdAllocator.init). */
  initProducerId(producerId: number, producerEpoch: number): Promise<InitProducerIdResponse> {
    return this.#producerIds.init(producerId, producerEpoch)
  }

  /**
   * Each distinct name once, in request order. The answer's size is computed before any of it is built, so a
   * request costs O(names) and allocates at most maxResponseBytes (else RESPONSE_TOO_LARGE).
   */
  metadata(names: readonly string[] | null): MetadataResponse {
    if (this.#cluster) return this.#clusterMetadata(this.#cluster.image(), names)
    const wanted = names === null ? this.#topics.list().map((t) => t.name) : [...new Set(names)]
    const { maxResponseBytes } = this.#config
    let bytes = 16 + utf8ByteLength(this.#config.advertisedUrl)
    for (const name of wanted) {
      bytes += METADATA_TOPIC_BYTES + utf8ByteLength(name) + (this.#topics.get(name)?.partitions.length ?? 0) * METADATA_PARTITION_BYTES
      if (bytes > maxResponseBytes) {
        throw new SamsaError('RESPONSE_TOO_LARGE', `the metadata of ${wanted.length} topics exceeds maxResponseBytes ${maxResponseBytes}; ask for fewer topics`, { maxResponseBytes })
      }
    }
    const topics: TopicMetadata[] = []
    for (const name of wanted) {
      const t = this.#topics.get(name)
      if (!t) {
        topics.push({ name, errorCode: ErrorCodes.UNKNOWN_TOPIC_OR_PARTITION.code, partitions: [] })
        continue
      }
      topics.push({
        name,
        errorCode: 0,
        partitions: t.partitions.map((log, partition) => ({
          partition,
          leader: this.#config.brokerId,
          leaderEpoch: log.leaderEpoch,
          logStartOffset: log.logStartOffset,
          highWatermark: log.highWatermark,
          logEndOffset: log.logEndOffset,
        })),
      })
    }
    return { brokers: [{ brokerId: this.#config.brokerId, url: this.#config.advertisedUrl }], topics }
  }

  /** The answer from the metadata image: live brokers, and per partition leader, epoch, replicas, ISR; offsets from the local log when there is one. */
  #clusterMetadata(image: MetadataImage, names: readonly string[] | null): MetadataResponse {
    const wanted = names === null ? [...image.topics.keys()].sort() : [...new Set(names)]
    const brokers = [...image.brokers.values()].filter((b) => !b.fenced).sort((a, b) => a.brokerId - b.brokerId).map((b) => ({ brokerId: b.brokerId, url: b.advertisedUrl }))
    const { maxResponseBytes } = this.#config
    let bytes = 16 + brokers.reduce((n, b) => n + 6 + utf8ByteLength(b.url), 0)
    for (const name of wanted) {
      bytes += METADATA_TOPIC_BYTES + utf8ByteLength(name)
      for (const p of image.topics.get(name)?.partitions ?? []) bytes += METADATA_PARTITION_BYTES + 8 + 4 * (p.replicas.length + p.isr.length)
      if (bytes > maxResponseBytes) {
        throw new SamsaError('RESPONSE_TOO_LARGE', `the metadata of ${wanted.length} topics exceeds maxResponseBytes ${maxResponseBytes}; ask for fewer topics`, { maxResponseBytes })
      }
    }
    const topics: TopicMetadata[] = wanted.map((name) => {
      const t = image.topics.get(name)
      if (!t) return { name, errorCode: ErrorCodes.UNKNOWN_TOPIC_OR_PARTITION.code, partitions: [] }
      const local = this.#topics.get(name)
      return {
        name,
        errorCode: 0,
        partitions: t.partitions.map((p, partition) => {
          const log = local?.partitions[partition]
          return {
            partition,
            leader: p.leader,
            leaderEpoch: p.leaderEpoch,
            logStartOffset: log?.logStartOffset ?? 0,
            highWatermark: log?.highWatermark ?? 0,
            logEndOffset: log?.logEndOffset ?? 0,
            replicas: p.replicas,
            isr: p.isr,
          }
        }),
      }
    })
    return { brokers, topics }
  }

  /**
   * The one place that decides whether this broker serves a partition as its leader. With replication the
   * PartitionLeadership port (the ReplicaManager) decides and gives the leader's in-sync view; a clustered broker
   * without it follows the metadata image; a single node leads every partition it has. In a cluster a topic the
   * image does not know is not served, even if local logs of it are left (from before, or being removed).
   * NOT_LEADER_OR_FOLLOWER carries details.leaderId and details.leaderEpoch when the leader is known.
   */
  #leaderOf(topic: string, partition: number, currentLeaderEpoch?: number): { log: PartitionLog; leader: LeaderHandle | undefined } {
    const cluster = this.#cluster
    if (cluster) {
      const t = cluster.image().topics.get(topic)
      if (!t) {
        assertTopicName(topic)
        throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', ErrorMessages.unknownTopic(topic))
      }
      const reg = t.partitions[partition]
      if (!reg) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', ErrorMessages.unknownPartition(topic, t.partitions.length, partition))
      if (!this.#leadership && reg.leader !== this.#config.brokerId) {
        throw new SamsaError('NOT_LEADER_OR_FOLLOWER', `broker ${this.#config.brokerId} does not lead ${topic}/${partition}` + (reg.leader >= 0 ? `; broker ${reg.leader} does` : '; it has no leader now'), {
          leaderId: reg.leader,
          leaderEpoch: reg.leaderEpoch,
        })
      }
    }
    // Leadership first: a replica whose roles are not applied yet (not caught up) answers NOT_LEADER_OR_FOLLOWER.
    const leader = this.#leadership?.leader(topic, partition, currentLeaderEpoch)
    return { log: this.#topics.partition(topic, partition), leader }
  }

  /** Validates and appends one batch; resolves once it satisfies acks (produce-acks.ts) or rejects with a SamsaError. */
  async produce(req: ProduceRequest): Promise<ProduceResponse> {
    if (this.#shuttingDown) throw new SamsaError('BROKER_SHUTTING_DOWN')
    if (req.acks !== -1 && req.acks !== 0 && req.acks !== 1) throw new SamsaError('INVALID_REQUIRED_ACKS', `acks must be -1, 0 or 1, got ${req.acks}`)
    const { log, leader } = this.#leaderOf(req.topic, req.partition)
    const { maxBatchBytes, maxRecordBytes } = this.#config
    if (req.batch.length > maxBatchBytes) {
      throw new SamsaError('MESSAGE_TOO_LARGE', `batch of ${req.batch.length} bytes exceeds maxBatchBytes ${maxBatchBytes}`, { batchBytes: req.batch.length, maxBatchBytes })
    }
    let recordCount: number
    try {
      const header = verifyBatch(req.batch, 0, req.batch.length, this.#crc32c ? { maxRecordBytes, crc32c: this.#crc32c } : { maxRecordBytes })
      if (batchTotalBytes(header) !== req.batch.length) throw new ProtocolError(`${req.batch.length - batchTotalBytes(header)} bytes follow the batch; a produce carries exactly one batch`)
      recordCount = header.recordCount
    } catch (e) {
      if (e instanceof RecordTooLargeError) throw new SamsaError('MESSAGE_TOO_LARGE', e.message, { recordBytes: e.recordBytes, maxRecordBytes })
      if (e instanceof ProtocolError) throw new SamsaError('CORRUPT_MESSAGE', `invalid record batch: ${e.message}`)
      throw e
    }
    checkAcksBeforeAppend(req.acks, leader)
    const started = this.clock.monotonicMs()
    const timeoutMs = Math.min(req.timeoutMs || this.#config.requestTimeoutMs, this.#config.requestTimeoutMs)
    let cancelAcks = () => {}
    const appended = log.append(req.batch).then(async (r) => {
      const acks = awaitAcks(req.acks, log, r.lastOffset + 1, leader)
      cancelAcks = acks.cancel
      await acks.done
      return r
    })
    const result = await withTimeout(this.clock, appended, timeoutMs, () =>
      new SamsaError('REQUEST_TIMED_OUT', `the batch was not durable within ${timeoutMs} ms; resend it with the same sequence to learn its offset`),
    ).finally(() => cancelAcks())
    this.metrics.produceLatencyMs(this.clock.monotonicMs() - started)
    if (!result.duplicate) this.metrics.recordsIn(req.topic, recordCount, req.batch.length)
    return { baseOffset: result.baseOffset, logAppendTimeMs: result.logAppendTimeMs, logStartOffset: result.logStartOffset, duplicate: result.duplicate }
  }

  /**
   * Reads whole batches from offset. Waits up to maxWaitMs (bounded by requestTimeoutMs) until minBytes (at most
   * maxBytes) are readable above offset; minBytes 0 answers at once. A read that stops below the high watermark
   * (maxBytes or a segment end) answers at once: more is there. `onGone` registers a callback for when the
   * requester's connection closes: the wait ends at once (no timer or listener outlives the connection) and the
   * fetch fails, since nobody is left to answer. `output` reserves room in the connection's output budget before
   * records are read, and releases it while the fetch waits, so a long poll holds none.
   */
  async fetch(req: FetchRequest, onGone?: (cancel: () => void) => () => void, output?: FetchOutput): Promise<FetchResponse> {
    if (req.replicaId !== undefined) return this.#replicaFetch(req, this.#topics.partition(req.topic, req.partition), onGone, output)
    const { log } = this.#leaderOf(req.topic, req.partition)
    assertOffsetInRange(log, req.offset, req.topic, req.partition)
    const started = this.clock.monotonicMs()
    const maxBytes = Math.max(1, Math.min(req.maxBytes, this.#config.maxPushBytes))
    const minBytes = Math.min(req.minBytes, maxBytes)
    const waitMs = Math.min(req.maxWaitMs, this.#config.requestTimeoutMs)
    const read = async () => {
      await output?.reserve(maxBytes + FETCH_RESPONSE_OVERHEAD_BYTES)
      return log.read(req.offset, maxBytes).catch((e: unknown) => {
        throw inTopicPartition(e, req.topic, req.partition, req.offset)
      })
    }
    // Bytes known readable above offset, as of high watermark position `mark`.
    let have = 0
    let mark = log.highWatermarkPosition
    if (req.offset < log.highWatermark || minBytes === 0 || waitMs === 0) {
      const r = await read()
      if (minBytes === 0 || waitMs === 0 || r.records.length >= minBytes || readEnd(r.records, req.offset) < r.highWatermark) return this.#fetched(r, started)
      output?.release()
      have = r.records.length
      mark = r.highWatermarkPosition
    }
    const remainingMs = have > 0 ? waitMs - (this.clock.monotonicMs() - started) : waitMs
    if (remainingMs > 0 && !(await waitForBytes(this.clock, log, mark, minBytes - have, remainingMs, onGone))) {
      throw new SamsaError('NETWORK_EXCEPTION', 'the connection closed during the fetch wait')
    }
    return this.#fetched(await read(), started)
  }

  /**
   * A follower's fetch (its connection's hello named it peer `replicaId`, checked by the session): checks the leader
   * epoch it follows, records its log end (= offset) with the leader, then reads up to the leader's log end (not only
   * its durable end: the follower copies while the leader fsyncs), waiting up to maxWaitMs for the log to grow past
   * offset.
   */
  async #replicaFetch(req: FetchRequest, log: PartitionLog, onGone?: (cancel: () => void) => () => void, output?: FetchOutput): Promise<FetchResponse> {
    const leadership = this.#leadership
    if (!leadership) throw new SamsaError('INVALID_REQUEST', 'this broker does not replicate: a replica fetch needs a cluster')
    const leader = leadership.leader(req.topic, req.partition, req.currentLeaderEpoch)
    if (!leader.isReplica(req.replicaId ?? -1)) throw new SamsaError('NOT_LEADER_OR_FOLLOWER', `broker ${req.replicaId} is not a follower of ${req.topic}/${req.partition}`)
    const started = this.clock.monotonicMs()
    if (!Number.isSafeInteger(req.offset) || req.offset < log.logStartOffset || req.offset > log.logEndOffset) {
      throw offsetOutOfRange(req.topic, req.partition, req.offset, log.logStartOffset, log.logEndOffset)
    }
    leadership.replicaFetched(req.topic, req.partition, req.replicaId!, req.offset)
    const maxBytes = Math.max(1, Math.min(req.maxBytes, this.#config.maxPushBytes))
    const waitMs = Math.min(req.maxWaitMs, this.#config.requestTimeoutMs)
    if (log.logEndOffset <= req.offset && waitMs > 0 && !(await waitForLogEnd(this.clock, log, req.offset, waitMs, onGone))) {
      throw new SamsaError('NETWORK_EXCEPTION', 'the connection closed during the fetch wait')
    }
    await output?.reserve(maxBytes + FETCH_RESPONSE_OVERHEAD_BYTES)
    const records = await log.readForReplica(req.offset, maxBytes)
    this.metrics.fetchLatencyMs(this.clock.monotonicMs() - started)
    return { highWatermark: log.highWatermark, logStartOffset: log.logStartOffset, records }
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

  #fetched(r: ReadResult, startedMs: number): FetchResponse {
    this.metrics.fetchLatencyMs(this.clock.monotonicMs() - startedMs)
    return { highWatermark: r.highWatermark, logStartOffset: r.logStartOffset, records: r.records }
  }

  async listOffsets(req: ListOffsetsRequest): Promise<ListOffsetsResponse> {
    const { log } = this.#leaderOf(req.topic, req.partition)
    if (req.timestamp === -2) return { offset: log.logStartOffset, timestamp: -1, leaderEpoch: log.leaderEpoch }
    if (req.timestamp === -1) return { offset: log.highWatermark, timestamp: -1, leaderEpoch: log.leaderEpoch }
    if (req.timestamp < 0) throw new SamsaError('INVALID_REQUEST', `timestamp must be -2 (earliest), -1 (latest) or ms since the epoch, got ${req.timestamp}`)
    const found = await log.offsetForTimestamp(req.timestamp)
    if (!found || found.offset >= log.highWatermark) return { offset: log.highWatermark, timestamp: -1, leaderEpoch: log.leaderEpoch }
    return { offset: found.offset, timestamp: found.timestamp, leaderEpoch: log.leaderEpoch }
  }

  #scheduleRetention(): void {
    if (this.#shuttingDown) return
    this.#retentionTimer = this.clock.setTimeout(() => {
      this.#topics
        .applyRetention()
        .then((n) => n > 0 && this.logger.info({ segments: n }, 'retention deleted segments'))
        .catch((err: unknown) => this.logger.error({ err }, 'retention failed'))
        .finally(() => this.#scheduleRetention())
    }, this.#config.retentionCheckIntervalMs)
  }

  /** Stops accepting work, then flushes and closes every log. */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true
    if (this.#retentionTimer) this.clock.clearTimeout(this.#retentionTimer)
    await this.#topics.close()
  }
}

/** Frame header, error code and the two offsets in front of a fetch reply's records. */
const FETCH_RESPONSE_OVERHEAD_BYTES = 8 + 2 + 8 + 8

/** Encoded sizes in a metadata response (see messages/metadata.ts): per topic (name length, error code, count) and per partition. */
const METADATA_TOPIC_BYTES = 2 + 2 + 4
const METADATA_PARTITION_BYTES = 4 + 4 + 4 + 8 + 8 + 8

/**
 * OFFSET_OUT_OF_RANGE, naming the topic-partition, unless logStartOffset ≤ offset ≤ logEndOffset. A position above
 * the high watermark but in the log is valid (a new leader's high watermark may lag what consumers read from the
 * former one): reads there wait for the high watermark.
 */
export function assertOffsetInRange(log: PartitionLog, offset: number, topic: string, partition: number): void {
  if (!Number.isSafeInteger(offset) || offset < log.logStartOffset || offset > log.logEndOffset) {
    throw offsetOutOfRange(topic, partition, offset, log.logStartOffset, log.logEndOffset)
  }
}

export function offsetOutOfRange(topic: string, partition: number, offset: number, logStartOffset: number, logEndOffset: number): SamsaError {
  return new SamsaError('OFFSET_OUT_OF_RANGE', ErrorMessages.offsetOutOfRange(topic, partition, offset, logStartOffset, logEndOffset), { logStartOffset, logEndOffset })
}

/** A partition log's own OFFSET_OUT_OF_RANGE (it does not know its topic) reworded to name the topic-partition; other errors unchanged. */
export function inTopicPartition(err: unknown, topic: string, partition: number, offset: number): unknown {
  if (!(err instanceof SamsaError) || err.errorName !== 'OFFSET_OUT_OF_RANGE') return err
  return offsetOutOfRange(topic, partition, offset, err.details.logStartOffset ?? -1, err.details.logEndOffset ?? -1)
}
