/**
 * @module The broker's topic operations: create, delete, list and the metadata answer. On a single node they work
 * on the local TopicRegistry; in a cluster create/delete are controller proposals through the cluster port and
 * list/metadata answer from the metadata image (offsets from the local replica when this broker hosts one).
 *
 * Invariants: arguments are checked before anything is proposed or touches storage; a single node takes
 * replication factor 1 only; a metadata answer's size is computed before any of it is built, so a request costs
 * O(names) and allocates at most maxResponseBytes (else RESPONSE_TOO_LARGE).
 */
import { defaultTopicConfigs, ErrorCodes, parseTopicConfigs, SamsaError, topicConfigEntries, utf8ByteLength, type TopicConfigs, type MetadataResponse, type PartitionMetadata, type TopicMetadata } from '@samsa/shared'
import type { MetadataImage } from '../controller/metadata/index.js'
import type { BrokerConfig } from './broker-config.js'
import type { BrokerClusterPort } from './cluster-port.js'
import { parseCreateTopic } from './create-topic-request.js'
import type { LocalLogs } from './local-logs.js'
import type { TopicRegistry } from './topic-registry.js'

export interface TopicSummary {
  readonly name: string
  readonly partitions: number
}

export interface TopicDescription {
  readonly name: string
  readonly partitions: readonly PartitionMetadata[]
  /** Every per-topic config by name, defaults included (topic-configs.ts). */
  readonly configs: Readonly<Record<string, string>>
}

export interface CreateTopicOptions {
  replicationFactor?: number
  minInsyncReplicas?: number
  /** Per-topic configs by Kafka's names (topic-configs.ts), checked before anything is created. */
  configs?: Readonly<Record<string, string>>
  /** The request was forwarded by another broker, so it is not forwarded again. */
  fromPeer?: boolean
}

/**
 * What the topic operations work on: a single node's registry (null on a replicating broker, whose topics are its
 * cluster's), the local logs, and in a cluster its port.
 */
export interface TopicScope {
  readonly topics: TopicRegistry | null
  readonly logs: LocalLogs
  readonly cluster: BrokerClusterPort | null
  readonly config: Pick<BrokerConfig, 'brokerId' | 'advertisedUrl' | 'maxPartitionsPerTopic' | 'maxResponseBytes'>
}

/** Encoded sizes in a metadata response (see messages/metadata.ts): per topic (name length, error code, count) and per partition. */
const METADATA_TOPIC_BYTES = 2 + 2 + 4
const METADATA_PARTITION_BYTES = 4 + 4 + 4 + 8 + 8 + 8

export async function createTopic(scope: TopicScope, name: unknown, partitions: unknown, opts: CreateTopicOptions): Promise<TopicSummary> {
  const args = parseCreateTopic(name, partitions, scope.config.maxPartitionsPerTopic)
  const { replicationFactor, minInsyncReplicas } = opts
  const configs = parseTopicConfigs(opts.configs ?? {})
  if (scope.cluster) {
    const req = { ...args, ...(replicationFactor !== undefined ? { replicationFactor, minInsyncReplicas: minInsyncReplicas ?? -1 } : {}), ...(opts.configs !== undefined ? { configs: topicConfigEntries(configs) } : {}) }
    return scope.cluster.createTopic(req, opts.fromPeer ?? false)
  }
  if (replicationFactor !== undefined && replicationFactor !== 1) {
    throw new SamsaError('INVALID_REPLICATION_FACTOR', `a single node holds one replica; replication factor ${replicationFactor} needs a cluster`, { liveBrokers: 1 })
  }
  if (minInsyncReplicas !== undefined && minInsyncReplicas !== -1 && minInsyncReplicas !== 1) {
    throw new SamsaError('INVALID_CONFIG', `min.insync.replicas must be 1 on a single node, got ${minInsyncReplicas}`)
  }
  const t = await singleNode(scope).create(args.name, args.partitions, configs)
  return { name: t.name, partitions: t.partitions.length }
}

/** A topic's configs: a single node's from its registry, a cluster's from the metadata image; the defaults when unknown. */
export function topicConfigsOf(scope: TopicScope, topic: string): TopicConfigs {
  if (scope.cluster) return scope.cluster.image().topics.get(topic)?.cleanup ?? defaultTopicConfigs
  return scope.topics?.topicConfigs(topic) ?? defaultTopicConfigs
}

export function deleteTopic(scope: TopicScope, name: string, opts: { fromPeer?: boolean }): Promise<void> {
  if (scope.cluster) return scope.cluster.deleteTopic(name, opts.fromPeer ?? false)
  return singleNode(scope).delete(name)
}

export function listTopics(scope: TopicScope): TopicSummary[] {
  if (scope.cluster) return [...scope.cluster.image().topics.values()].map((t) => ({ name: t.name, partitions: t.partitions.length })).sort((a, b) => a.name.localeCompare(b.name))
  return singleNode(scope).list().map((t) => ({ name: t.name, partitions: t.partitions.length }))
}

/** Each distinct name once, in request order; every topic for null. */
export function metadataAnswer(scope: TopicScope, names: readonly string[] | null): MetadataResponse {
  if (scope.cluster) return clusterMetadata(scope, scope.cluster.image(), names)
  const { config } = scope
  const registry = singleNode(scope)
  const wanted = names === null ? registry.list().map((t) => t.name) : [...new Set(names)]
  let bytes = 16 + utf8ByteLength(config.advertisedUrl)
  for (const name of wanted) {
    bytes += METADATA_TOPIC_BYTES + utf8ByteLength(name) + (registry.get(name)?.partitions.length ?? 0) * METADATA_PARTITION_BYTES
    if (bytes > config.maxResponseBytes) throw responseTooLarge(wanted.length, config.maxResponseBytes)
  }
  const topics: TopicMetadata[] = []
  for (const name of wanted) {
    const t = registry.get(name)
    if (!t) {
      topics.push({ name, errorCode: ErrorCodes.UNKNOWN_TOPIC_OR_PARTITION.code, partitions: [] })
      continue
    }
    topics.push({
      name,
      errorCode: 0,
      partitions: t.partitions.map((log, partition) => ({
        partition,
        leader: config.brokerId,
        leaderEpoch: log.leaderEpoch,
        logStartOffset: log.logStartOffset,
        highWatermark: log.highWatermark,
        logEndOffset: log.logEndOffset,
      })),
    })
  }
  return { brokers: [{ brokerId: config.brokerId, url: config.advertisedUrl }], topics }
}

/** The answer from the metadata image: live brokers, and per partition leader, epoch, replicas, ISR; offsets from the local log when there is one. */
function clusterMetadata(scope: TopicScope, image: MetadataImage, names: readonly string[] | null): MetadataResponse {
  const { maxResponseBytes } = scope.config
  const wanted = names === null ? [...image.topics.keys()].sort() : [...new Set(names)]
  const brokers = [...image.brokers.values()].filter((b) => !b.fenced).sort((a, b) => a.brokerId - b.brokerId).map((b) => ({ brokerId: b.brokerId, url: b.advertisedUrl }))
  let bytes = 16 + brokers.reduce((n, b) => n + 6 + utf8ByteLength(b.url), 0)
  for (const name of wanted) {
    bytes += METADATA_TOPIC_BYTES + utf8ByteLength(name)
    for (const p of image.topics.get(name)?.partitions ?? []) bytes += METADATA_PARTITION_BYTES + 8 + 4 * (p.replicas.length + p.isr.length)
    if (bytes > maxResponseBytes) throw responseTooLarge(wanted.length, maxResponseBytes)
  }
  const topics: TopicMetadata[] = wanted.map((name) => {
    const t = image.topics.get(name)
    if (!t) return { name, errorCode: ErrorCodes.UNKNOWN_TOPIC_OR_PARTITION.code, partitions: [] }
    return {
      name,
      errorCode: 0,
      partitions: t.partitions.map((p, partition) => {
        const log = scope.logs.find(name, partition)
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
  if (scope.cluster?.metadataBrokers !== 'leaders') return { brokers, topics }
  const named = new Set([scope.config.brokerId, ...topics.flatMap((t) => t.partitions.map((p) => p.leader))])
  return { brokers: brokers.filter((b) => named.has(b.brokerId)), topics }
}

/** The single node's registry; a replicating broker not yet given its cluster has no topics to offer (NOT_CONTROLLER, retriable). */
function singleNode(scope: TopicScope): TopicRegistry {
  if (scope.topics) return scope.topics
  throw new SamsaError('NOT_CONTROLLER', 'this broker replicates: its topics come from its cluster, which it has not joined yet')
}

function responseTooLarge(topics: number, maxResponseBytes: number): SamsaError {
  return new SamsaError('RESPONSE_TOO_LARGE', `the metadata of ${topics} topics exceeds maxResponseBytes ${maxResponseBytes}; ask for fewer topics`, { maxResponseBytes })
}
