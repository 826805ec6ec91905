/**
 * @module QuorumController: the active controller's decisions (KRaft's QuorumController and its managers), as pure
 * functions of a MetadataImage that return the records to propose; it never changes the image.
 *
 * The driver passes the controller's latest image: the committed image plus the records it has proposed and not
 * yet seen committed (applied at the offsets they will take), so consecutive decisions build on each other; it
 * proposes each result's records as one Raft entry (one batch, applied atomically), and on losing leadership
 * drops its pending records. A newly elected controller acts only after applying the log up to its own first
 * entry, and calls `activate`. Heartbeat times are soft state (see broker-heartbeats.ts); time arrives as `nowMs`
 * arguments and randomness (replica placement) through `deps.random`.
 */
import { defaultTopicConfigs, SamsaError, topicNameProblem, type TopicConfigs } from '@samsa/shared'
import { BrokerHeartbeats } from './broker-heartbeats.js'
import { unfencedBrokerIds, type MetadataImage, type PartitionRegistration } from './metadata-image.js'
import { type MetadataRecord, type PartitionChangeRecord, type TopicConfig } from './metadata-records.js'
import { changesForIncompleteReplicas, changesForPreferredLeaders, fenceRecords, provisional, unfenceRecords } from './partition-elections.js'
import { placeReplicas } from './partition-placement.js'

export interface QuorumControllerConfig {
  /** A broker unheard of for longer than this is fenced (Kafka's broker.session.timeout.ms). */
  readonly sessionTimeoutMs: number
  /** Producer ids handed to a broker per allocateProducerIds. */
  readonly producerIdBlockSize: number
  readonly maxPartitionsPerTopic: number
  /** Topics in the cluster; a create beyond it fails with POLICY_VIOLATION. */
  readonly maxTopics: number
  /** Partitions over all topics in the cluster (each counted once, whatever its replication factor). */
  readonly maxPartitions: number
  /** Registered brokers; a registration of a new id beyond it fails with POLICY_VIOLATION. */
  readonly maxBrokers: number
}

export const defaultQuorumControllerConfig: QuorumControllerConfig = {
  // Failover after a crash takes about this long (the aim: a new leader and writes flowing within 3 s of a SIGKILL);
  // Kafka uses 9 s. Heartbeats go every third of it, so a GC or CPU stall of ~1.3 s costs a leadership move.
  sessionTimeoutMs: 2_000,
  producerIdBlockSize: 1_000,
  maxPartitionsPerTopic: 1_000,
  maxTopics: 10_000,
  maxPartitions: 100_000,
  maxBrokers: 1_000,
}

export interface QuorumControllerDeps {
  /** Uniform in [0, 1): where a topic's replica placement starts. */
  readonly random: () => number
}

export interface RegisterBrokerRequest {
  readonly brokerId: number
  /** The epoch this process last held, or -1 for a process that never registered. */
  readonly previousBrokerEpoch: number
  readonly advertisedUrl: string
  readonly rack?: string | null
  /**
   * Partitions whose local replica this process recovered without committed records it had (damaged, or cut below
   * its high-watermark checkpoint): the broker leaves their ISRs, even as the last member (see partition-elections.ts).
   */
  readonly incompleteReplicas?: readonly { readonly topic: string; readonly partition: number }[]
}

export interface BrokerHeartbeatRequest {
  readonly brokerId: number
  readonly brokerEpoch: number
  /** The metadata offset the broker has applied. */
  readonly caughtUpToMetadataOffset: number
  /** Controlled shutdown: move leadership away and fence. */
  readonly wantShutDown?: boolean
  /** Local replicas a read found damaged since the last accepted heartbeat (as RegisterBrokerRequest.incompleteReplicas). */
  readonly incompleteReplicas?: readonly { readonly topic: string; readonly partition: number }[]
}

export interface CreateTopicRequest {
  readonly name: string
  readonly partitions: number
  readonly replicationFactor: number
  readonly config?: Partial<TopicConfig>
  /** cleanup.policy and delete.retention.ms, already checked (parseTopicConfigs); absent or the defaults: no record. */
  readonly cleanup?: TopicConfigs
  readonly topicId?: string | null
}

export interface AlterPartitionRequest {
  /** The partition leader asking. */
  readonly brokerId: number
  readonly brokerEpoch: number
  readonly topic: string
  readonly partition: number
  readonly leaderEpoch: number
  /** The partition epoch the leader's ISR view is based on. */
  readonly partitionEpoch: number
  readonly newIsr: readonly number[]
}

export interface ControllerResult {
  /** To propose as one batch; empty when nothing changes. */
  readonly records: MetadataRecord[]
}

const I32_MAX = 0x7fffffff
const MAX_URL_CHARS = 512

export class QuorumController {
  readonly #config: QuorumControllerConfig
  readonly #random: () => number
  readonly #heartbeats = new BrokerHeartbeats()

  constructor(config: Partial<QuorumControllerConfig>, deps: QuorumControllerDeps) {
    this.#config = { ...defaultQuorumControllerConfig, ...config }
    this.#random = deps.random
  }

  /**
   * On becoming the active controller: forget any earlier term's contacts; every broker starts a full session, except
   * the former active controller (`formerController`, the quorum leader this node followed last): its silence is what
   * began this term (a follower campaigns only after an election timeout without hearing from its leader), so its
   * session counts from when this node last heard from it — yet never less than half a session from now, enough for a
   * live former controller (one that only lost its quorum) to heartbeat here, as brokers do every third of a session.
   */
  activate(image: MetadataImage, nowMs: number, formerController?: { readonly brokerId: number; readonly lastContactMs: number }): void {
    this.#heartbeats.clear()
    for (const b of image.brokers.values()) this.#heartbeats.touch(b.brokerId, b.brokerEpoch, nowMs)
    const former = formerController && image.brokers.get(formerController.brokerId)
    if (former) {
      const contactMs = Math.min(nowMs, Math.max(formerController.lastContactMs, nowMs - Math.floor(this.#config.sessionTimeoutMs / 2)))
      this.#heartbeats.touch(former.brokerId, former.brokerEpoch, contactMs)
    }
  }

  /** When the controller last heard from a broker (undefined: not since it became active). */
  lastHeartbeatMs(brokerId: number): number | undefined {
    return this.#heartbeats.peek(brokerId)?.atMs
  }

  /**
   * A new registration with a new broker epoch; the broker starts fenced. While the current registration is live
   * (unfenced and within its session) only the process holding its epoch may register again: an older epoch is a
   * zombie (STALE_BROKER_EPOCH), a fresh process waits for that session to end (DUPLICATE_BROKER_REGISTRATION).
   * The broker leaves the ISR of every replica it reports incomplete, before its registration record.
   */
  registerBroker(image: MetadataImage, req: RegisterBrokerRequest, nowMs: number): ControllerResult & { brokerEpoch: number } {
    if (!isId(req.brokerId)) throw new SamsaError('INVALID_REQUEST', `broker id must be an integer in 0..${I32_MAX}, got ${req.brokerId}`)
    if (typeof req.advertisedUrl !== 'string' || req.advertisedUrl.length === 0 || req.advertisedUrl.length > MAX_URL_CHARS) {
      throw new SamsaError('INVALID_REQUEST', `advertised URL must be 1..${MAX_URL_CHARS} characters`)
    }
    const rack = req.rack ?? null
    if (rack !== null && (rack.length === 0 || rack.length > 255)) throw new SamsaError('INVALID_REQUEST', 'rack must be 1..255 characters')
    const existing = image.brokers.get(req.brokerId)
    const { maxBrokers } = this.#config
    if (!existing && image.brokers.size >= maxBrokers) {
      throw new SamsaError('POLICY_VIOLATION', `the cluster holds its maximum of ${maxBrokers} brokers (maxBrokers); unregister one or raise the limit`, { maxBrokers })
    }
    const records: MetadataRecord[] = []
    if (existing) {
      if (req.previousBrokerEpoch !== existing.brokerEpoch && this.#isLive(image, req.brokerId, nowMs)) {
        const details = { brokerId: req.brokerId, brokerEpoch: existing.brokerEpoch }
        if (req.previousBrokerEpoch >= 0 && req.previousBrokerEpoch < existing.brokerEpoch) {
          throw new SamsaError('STALE_BROKER_EPOCH', `broker ${req.brokerId} epoch ${req.previousBrokerEpoch} was replaced by epoch ${existing.brokerEpoch}`, details)
        }
        throw new SamsaError('DUPLICATE_BROKER_REGISTRATION', `broker ${req.brokerId} is registered by a live process (epoch ${existing.brokerEpoch})`, details)
      }
      records.push(...fenceRecords(image, req.brokerId))
    }
    records.push(...changesForIncompleteReplicas(provisional(image, records), req.brokerId, req.incompleteReplicas ?? []))
    const brokerEpoch = image.nextBrokerEpoch
    records.push({ type: 'registerBroker', brokerId: req.brokerId, brokerEpoch, advertisedUrl: req.advertisedUrl, rack })
    this.#heartbeats.touch(req.brokerId, brokerEpoch, nowMs)
    return { records, brokerEpoch }
  }

  /**
   * Renews the broker's session. A fenced broker that has applied the metadata log up to its own registration is
   * unfenced (and leads the offline partitions it can); one asking to shut down is fenced, its leadership moved. The
   * broker leaves the ISR of every replica it reports incomplete (changesForIncompleteReplicas).
   */
  heartbeat(image: MetadataImage, req: BrokerHeartbeatRequest, nowMs: number): ControllerResult & { fenced: boolean; shouldShutDown: boolean } {
    const b = this.#currentBroker(image, req.brokerId, req.brokerEpoch)
    this.#heartbeats.touch(b.brokerId, b.brokerEpoch, nowMs)
    // Replicas found incomplete leave their ISRs first (another member leads where this one did), as at registration.
    const incomplete = changesForIncompleteReplicas(image, b.brokerId, req.incompleteReplicas ?? [])
    const img = provisional(image, incomplete)
    if (req.wantShutDown) return { records: [...incomplete, ...fenceRecords(img, b.brokerId)], fenced: true, shouldShutDown: true }
    if (b.fenced && req.caughtUpToMetadataOffset >= b.registeredAtOffset) return { records: [...incomplete, ...unfenceRecords(img, b.brokerId)], fenced: false, shouldShutDown: false }
    return { records: incomplete, fenced: b.fenced, shouldShutDown: false }
  }

  /** Fences every unfenced broker whose session has expired at `nowMs`, moving its leadership within the ISRs. */
  tick(image: MetadataImage, nowMs: number): ControllerResult & { fenced: number[] } {
    let img = image
    const records: MetadataRecord[] = []
    const fenced: number[] = []
    for (const b of image.brokers.values()) {
      if (b.fenced || nowMs - this.#heartbeats.lastContactMs(b.brokerId, b.brokerEpoch, nowMs) <= this.#config.sessionTimeoutMs) continue
      const rs = fenceRecords(img, b.brokerId)
      img = provisional(img, rs)
      records.push(...rs)
      fenced.push(b.brokerId)
    }
    return { records, fenced }
  }

  /** Removes a broker from the cluster (fencing it first if it is not). Its replica assignments stay. */
  unregisterBroker(image: MetadataImage, brokerId: number): ControllerResult {
    const b = image.brokers.get(brokerId)
    if (!b) throw new SamsaError('BROKER_ID_NOT_REGISTERED', `broker ${brokerId} is not registered`, { brokerId })
    this.#heartbeats.forget(brokerId)
    return { records: [...fenceRecords(image, brokerId), { type: 'unregisterBroker', brokerId, brokerEpoch: b.brokerEpoch }] }
  }

  /**
   * A topic and its partitions: replicas placed round robin over the unfenced brokers, the first replica leads,
   * the ISR is every replica, leader and partition epochs start at 0.
   */
  createTopic(image: MetadataImage, req: CreateTopicRequest): ControllerResult & { replicas: number[][] } {
    const problem = typeof req.name === 'string' ? topicNameProblem(req.name) : 'topic name must be a string'
    if (problem) throw new SamsaError('INVALID_TOPIC_EXCEPTION', problem)
    if (image.topics.has(req.name)) throw new SamsaError('TOPIC_ALREADY_EXISTS', `topic ${req.name} already exists`)
    const max = this.#config.maxPartitionsPerTopic
    if (!Number.isInteger(req.partitions) || req.partitions < 1 || req.partitions > max) {
      throw new SamsaError('INVALID_PARTITIONS', `partitions must be an integer in 1..${max}, got ${req.partitions}`, { maxPartitionsPerTopic: max })
    }
    const { maxTopics, maxPartitions } = this.#config
    if (image.topics.size >= maxTopics) {
      throw new SamsaError('POLICY_VIOLATION', `the cluster holds its maximum of ${maxTopics} topics (maxTopics); delete a topic or raise the limit`, { maxTopics })
    }
    const total = [...image.topics.values()].reduce((n, t) => n + t.partitions.length, 0)
    if (total + req.partitions > maxPartitions) {
      throw new SamsaError('POLICY_VIOLATION', `${req.partitions} more partitions would bring the cluster to ${total + req.partitions}, above its maximum of ${maxPartitions} (maxPartitions)`, { maxPartitions, partitions: total })
    }
    const live = unfencedBrokerIds(image)
    const rf = req.replicationFactor
    if (!Number.isInteger(rf) || rf < 1 || rf > live.length) {
      throw new SamsaError('INVALID_REPLICATION_FACTOR', `replication factor must be an integer in 1..${live.length} (the live brokers), got ${rf}`, { liveBrokers: live.length })
    }
    const config = topicConfig(req.config ?? {}, rf)
    const topicId = req.topicId ?? null
    if (topicId !== null && (topicId.length === 0 || topicId.length > 64 || [...image.topics.values()].some((t) => t.topicId === topicId))) {
      throw new SamsaError('INVALID_REQUEST', `topic id ${JSON.stringify(topicId)} is empty, longer than 64 characters or taken`)
    }
    const pick = () => Math.min(live.length - 1, Math.floor(this.#random() * live.length))
    const replicas = placeReplicas({ partitions: req.partitions, replicationFactor: rf, brokerIds: live, startIndex: pick(), replicaShift: pick() })
    // Every topic gets an id (Kafka's KIP-516): a topic deleted and created again under its name is another topic.
    const records: MetadataRecord[] = [{ type: 'createTopic', name: req.name, topicId: topicId ?? this.#newTopicId(image), partitions: req.partitions, replicationFactor: rf, config }]
    const cleanup = req.cleanup
    if (cleanup && (cleanup.cleanupPolicy !== defaultTopicConfigs.cleanupPolicy || cleanup.deleteRetentionMs !== defaultTopicConfigs.deleteRetentionMs)) {
      records.push({ type: 'topicCleanup', name: req.name, cleanupPolicy: cleanup.cleanupPolicy, deleteRetentionMs: cleanup.deleteRetentionMs })
    }
    replicas.forEach((rs, partition) => {
      records.push({ type: 'partitionChange', topic: req.name, partition, leader: rs[0]!, leaderEpoch: 0, replicas: rs, isr: rs, partitionEpoch: 0 })
    })
    return { records, replicas }
  }

  /**
   * 128 random bits as 32 hex digits (from the injected random); should they name an existing topic (a test's constant
   * random), a counter suffix makes them unique — bounded by the topic count.
   */
  #newTopicId(image: MetadataImage): string {
    const taken = new Set([...image.topics.values()].map((t) => t.topicId))
    const id = Array.from({ length: 4 }, () => Math.floor(this.#random() * 2 ** 32).toString(16).padStart(8, '0')).join('')
    let unique = id
    for (let k = 1; taken.has(unique); k++) unique = `${id}-${k}`
    return unique
  }

  deleteTopic(image: MetadataImage, name: string): ControllerResult {
    if (!image.topics.has(name)) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${name} does not exist`)
    return { records: [{ type: 'deleteTopic', name }] }
  }

  /**
   * An ISR change asked by the partition's leader (Kafka's AlterPartition): it must hold the current broker epoch,
   * leader epoch and partition epoch; the new ISR keeps the leader, stays within the replicas, and adds only
   * unfenced brokers. Shrinking to the leader alone is allowed (min.insync.replicas governs acks=all, not the ISR).
   */
  alterPartition(image: MetadataImage, req: AlterPartitionRequest): ControllerResult & { partition: PartitionRegistration } {
    this.#currentBroker(image, req.brokerId, req.brokerEpoch)
    const p = image.topics.get(req.topic)?.partitions[req.partition]
    const where = `${req.topic}/${req.partition}`
    if (!p) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', `partition ${where} does not exist`)
    const details = { leader: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch }
    if (req.leaderEpoch < p.leaderEpoch) throw new SamsaError('FENCED_LEADER_EPOCH', `${where}: leader epoch ${req.leaderEpoch} is older than ${p.leaderEpoch}`, details)
    if (req.leaderEpoch > p.leaderEpoch) throw new SamsaError('UNKNOWN_LEADER_EPOCH', `${where}: leader epoch ${req.leaderEpoch} is newer than ${p.leaderEpoch}`, details)
    if (p.leader !== req.brokerId) throw new SamsaError('NOT_LEADER_OR_FOLLOWER', `${where}: broker ${req.brokerId} is not the leader`, details)
    if (req.partitionEpoch !== p.partitionEpoch) {
      throw new SamsaError('INVALID_UPDATE_VERSION', `${where}: partition epoch ${req.partitionEpoch} is not the current ${p.partitionEpoch}`, details)
    }
    const isr = req.newIsr
    if (!isr.includes(req.brokerId) || new Set(isr).size !== isr.length || !isr.every((r) => p.replicas.includes(r))) {
      throw new SamsaError('INVALID_REQUEST', `${where}: the ISR [${isr.join(',')}] must hold the leader and distinct replicas of [${p.replicas.join(',')}]`, details)
    }
    const ineligible = isr.filter((r) => !p.isr.includes(r) && image.brokers.get(r)?.fenced !== false)
    if (ineligible.length > 0) throw new SamsaError('INELIGIBLE_REPLICA', `${where}: brokers ${ineligible.join(',')} are fenced or unregistered`, details)
    if (sameMembers(isr, p.isr)) return { records: [], partition: p }
    const record: PartitionChangeRecord = { type: 'partitionChange', topic: req.topic, partition: req.partition, leader: p.leader, leaderEpoch: p.leaderEpoch, replicas: p.replicas, isr: [...isr], partitionEpoch: p.partitionEpoch + 1 }
    return { records: [record], partition: { leader: p.leader, leaderEpoch: p.leaderEpoch, replicas: p.replicas, isr: record.isr, partitionEpoch: record.partitionEpoch } }
  }

  /** Auto leader rebalance: each partition's leadership back to replicas[0] when it is in the ISR and unfenced. */
  electPreferredLeaders(image: MetadataImage): ControllerResult {
    return { records: changesForPreferredLeaders(image) }
  }

  /** The next block of producer ids for a broker: blocks come from the log, so no two brokers ever share an id. */
  allocateProducerIds(image: MetadataImage, brokerId: number, brokerEpoch: number): ControllerResult & { firstProducerId: number; size: number } {
    this.#currentBroker(image, brokerId, brokerEpoch)
    const size = this.#config.producerIdBlockSize
    const firstProducerId = image.nextProducerId
    if (!Number.isSafeInteger(firstProducerId + size)) throw new SamsaError('UNKNOWN_SERVER_ERROR', 'producer ids are exhausted')
    return { records: [{ type: 'producerIdsBlock', brokerId, brokerEpoch, firstProducerId, size }], firstProducerId, size }
  }

  #currentBroker(image: MetadataImage, brokerId: number, brokerEpoch: number) {
    const b = image.brokers.get(brokerId)
    if (!b) throw new SamsaError('BROKER_ID_NOT_REGISTERED', `broker ${brokerId} is not registered`, { brokerId })
    if (b.brokerEpoch !== brokerEpoch) {
      throw new SamsaError('STALE_BROKER_EPOCH', `broker ${brokerId} epoch ${brokerEpoch} is not the registered ${b.brokerEpoch}`, { brokerId, brokerEpoch: b.brokerEpoch })
    }
    return b
  }

  #isLive(image: MetadataImage, brokerId: number, nowMs: number): boolean {
    const b = image.brokers.get(brokerId)
    if (!b || b.fenced) return false
    return nowMs - this.#heartbeats.lastContactMs(brokerId, b.brokerEpoch, nowMs) <= this.#config.sessionTimeoutMs
  }
}

/** Fills defaults (min.insync.replicas: 2 for three or more replicas, else 1) and checks ranges (INVALID_CONFIG). */
function topicConfig(c: Partial<TopicConfig>, replicationFactor: number): TopicConfig {
  const minInsyncReplicas = c.minInsyncReplicas ?? Math.min(2, Math.max(1, replicationFactor - 1))
  if (!Number.isInteger(minInsyncReplicas) || minInsyncReplicas < 1 || minInsyncReplicas > replicationFactor) {
    throw new SamsaError('INVALID_CONFIG', `min.insync.replicas must be an integer in 1..${replicationFactor} (the replication factor), got ${minInsyncReplicas}`)
  }
  const positive = (name: string, v: number | null | undefined): number | null => {
    if (v === undefined || v === null) return null
    if (!Number.isSafeInteger(v) || v < 1) throw new SamsaError('INVALID_CONFIG', `${name} must be a positive integer or unset, got ${v}`)
    return v
  }
  return { minInsyncReplicas, retentionMs: positive('retentionMs', c.retentionMs), retentionBytes: positive('retentionBytes', c.retentionBytes), segmentBytes: positive('segmentBytes', c.segmentBytes) }
}

function isId(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= I32_MAX
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x))
}
