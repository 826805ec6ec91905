/**
 * @module TopicRegistry: a single node's topics and their partition logs, held whole (every partition of every
 * topic). A replicating broker holds replicas instead (replica-registry.ts).
 * Layout: topics/<name>/topic.json (written last on create, so a directory without it is an unfinished
 * create and is removed on start) and topics/<name>/<partition>/ for each partition's segments.
 * Names are validated before they touch storage, so no name can reach outside the data directory.
 */
import { defaultTopicConfigs, ErrorMessages, parseTopicConfigs, SamsaError, topicConfigEntries, topicNameProblem, type TopicConfigs } from '@samsa/shared'
import type { LogStorage } from '../log/log-storage.js'
import type { PartitionLog } from '../log/partition-log.js'
import { noopMetrics, type BrokerMetrics } from '../observability/broker-metrics.js'
import { parseCreateTopic } from './create-topic-request.js'
import type { LocalLogs, LocalPartitionLog } from './local-logs.js'
import { PartitionOpener, type PartitionOpenerDeps } from './partition-opener.js'

export interface Topic {
  readonly name: string
  readonly createdAtMs: number
  /** Index = partition number. */
  readonly partitions: readonly PartitionLog[]
  readonly configs: TopicConfigs
}

interface TopicFile {
  readonly name: string
  readonly partitions: number
  readonly createdAtMs: number
  /** By Kafka's names (topic-configs.ts); absent in topics created before per-topic configs: the defaults. */
  readonly configs?: Readonly<Record<string, string>>
}

export interface TopicRegistryDeps extends PartitionOpenerDeps {
  readonly maxPartitionsPerTopic: number
  /** Topics on the broker; creates beyond it fail with POLICY_VIOLATION (topics loaded at start are kept). */
  readonly maxTopics: number
  /** Partitions over all topics; a create that would pass it fails with POLICY_VIOLATION. */
  readonly maxPartitions: number
}

const enc = new TextEncoder()
const dec = new TextDecoder()

export function assertTopicName(name: string): void {
  const problem = topicNameProblem(name)
  if (problem) throw new SamsaError('INVALID_TOPIC_EXCEPTION', problem)
}

export class TopicRegistry implements LocalLogs {
  readonly #deps: TopicRegistryDeps
  readonly #opener: PartitionOpener
  /** deps.storage behind the bounded handle cache: every partition's files go through it. */
  readonly #storage: LogStorage
  readonly #metrics: BrokerMetrics
  readonly #topics = new Map<string, Topic>()
  /** Partitions of every topic in #topics. */
  #partitionCount = 0
  /** Topics and partitions of creates in progress, counted against the limits until they finish or fail. */
  #reservedTopics = 0
  #reservedPartitions = 0
  /** Directories of failed creates that could not be removed then (e.g. no file handle left); removed before later creates. */
  readonly #leftovers = new Set<string>()
  /** Names being created or deleted right now; a second create/delete of the same name waits for none and fails fast. */
  readonly #busy = new Set<string>()
  /** Creations in progress, by name (a second create of the name waits for its end). */
  readonly #creating = new Map<string, Promise<Topic>>()
  readonly #deletedListeners = new Set<(name: string) => void>()

  private constructor(deps: TopicRegistryDeps) {
    this.#deps = deps
    this.#metrics = deps.metrics ?? noopMetrics
    this.#opener = new PartitionOpener(deps)
    this.#storage = this.#opener.storage
  }

  /** The storage partition logs use (deps.storage behind the handle cache when one is configured). */
  get storage(): LogStorage {
    return this.#storage
  }

  get partitionCount(): number {
    return this.#partitionCount
  }

  static async open(deps: TopicRegistryDeps): Promise<TopicRegistry> {
    const r = new TopicRegistry(deps)
    try {
      await r.#load()
    } catch (e) {
      await r.close().catch(() => {})
      throw e
    }
    if (r.#topics.size > deps.maxTopics || r.#partitionCount > deps.maxPartitions) {
      deps.logger.warn({ topics: r.#topics.size, maxTopics: deps.maxTopics, partitions: r.#partitionCount, maxPartitions: deps.maxPartitions }, 'the data directory holds more topics or partitions than the limits allow; they are all served, new creates are refused')
    }
    r.#metrics.topicsChanged(r.#topics.size, r.#partitionCount)
    return r
  }

  async #load(): Promise<void> {
    const deps = this.#deps
    const storage = this.#storage
    await storage.ensureDir('topics')
    for (const name of (await storage.list('topics')).sort()) {
      if (topicNameProblem(name)) {
        deps.logger.warn({ entry: name }, 'ignoring an entry under topics/ that is not a topic name')
        continue
      }
      const file = await storage.readFile(`topics/${name}/topic.json`)
      if (!file) {
        deps.logger.warn({ topic: name }, 'removing a topic directory left by an unfinished create')
        await storage.removeDir(`topics/${name}`)
        continue
      }
      const meta = JSON.parse(dec.decode(file)) as TopicFile
      const partitions: PartitionLog[] = []
      try {
        for (let p = 0; p < meta.partitions; p++) partitions.push(await this.#opener.open(name, p))
      } catch (e) {
        for (const log of partitions) await log.close().catch(() => {})
        throw e
      }
      this.#topics.set(name, { name, createdAtMs: meta.createdAtMs, partitions, configs: meta.configs ? parseTopicConfigs(meta.configs) : defaultTopicConfigs })
      this.#partitionCount += partitions.length
      deps.logger.info({ topic: name, partitions: meta.partitions }, 'topic loaded')
    }
  }

  list(): Topic[] {
    return [...this.#topics.values()].sort((a, b) => a.name.localeCompare(b.name))
  }

  get(name: string): Topic | undefined {
    return this.#topics.get(name)
  }

  /** The partition's log, or UNKNOWN_TOPIC_OR_PARTITION / INVALID_TOPIC_EXCEPTION. */
  partition(topic: string, partition: number): PartitionLog {
    const t = this.#topics.get(topic)
    if (!t) {
      assertTopicName(topic)
      throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', ErrorMessages.unknownTopic(topic))
    }
    const log = Number.isInteger(partition) ? t.partitions[partition] : undefined
    if (!log) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', ErrorMessages.unknownPartition(topic, t.partitions.length, partition))
    return log
  }

  find(topic: string, partition: number): PartitionLog | undefined {
    return this.#topics.get(topic)?.partitions[partition]
  }

  *logs(): Iterable<LocalPartitionLog> {
    for (const t of this.list()) for (const [partition, log] of t.partitions.entries()) yield { topic: t.name, partition, log }
  }

  /**
   * Creates the topic. A create of a name whose creation is in progress answers once that creation has ended, so
   * TOPIC_ALREADY_EXISTS always means the topic can be used (a client that creates a topic it found missing, racing
   * another creator, may send to it at once).
   */
  async create(name: string, partitions: number, configs: TopicConfigs = defaultTopicConfigs): Promise<Topic> {
    parseCreateTopic(name, partitions, this.#deps.maxPartitionsPerTopic)
    const inProgress = this.#creating.get(name)
    if (inProgress) await inProgress.catch(() => {})
    if (this.#topics.has(name) || this.#busy.has(name)) throw new SamsaError('TOPIC_ALREADY_EXISTS', ErrorMessages.topicExists(name))
    const creating = this.#create(name, partitions, configs)
    this.#creating.set(name, creating)
    try {
      return await creating
    } finally {
      if (this.#creating.get(name) === creating) this.#creating.delete(name)
    }
  }

  async #create(name: string, partitions: number, configs: TopicConfigs): Promise<Topic> {
    this.#checkLimits(partitions)
    this.#busy.add(name)
    this.#reservedTopics++
    this.#reservedPartitions += partitions
    const logs: PartitionLog[] = []
    try {
      const { clock } = this.#deps
      const storage = this.#storage
      await this.#removeLeftovers(name)
      await storage.ensureDir(`topics/${name}`)
      for (let p = 0; p < partitions; p++) logs.push(await this.#opener.open(name, p))
      const meta: TopicFile = { name, partitions, createdAtMs: clock.nowMs(), configs: topicConfigEntries(configs) }
      await storage.writeFileAtomic(`topics/${name}/topic.json`, enc.encode(JSON.stringify(meta)))
      const topic: Topic = { name, createdAtMs: meta.createdAtMs, partitions: logs, configs }
      this.#topics.set(name, topic)
      this.#partitionCount += partitions
      this.#metrics.topicsChanged(this.#topics.size, this.#partitionCount)
      this.#deps.logger.info({ topic: name, partitions }, 'topic created')
      return topic
    } catch (e) {
      await this.#undoCreate(name, logs, e)
      throw e
    } finally {
      this.#busy.delete(name)
      this.#reservedTopics--
      this.#reservedPartitions -= partitions
    }
  }

  /** POLICY_VIOLATION when one more topic, or partitions more partitions, would pass maxTopics or maxPartitions (creates in progress count). */
  #checkLimits(partitions: number): void {
    const { maxTopics, maxPartitions } = this.#deps
    const topics = this.#topics.size + this.#reservedTopics
    if (topics >= maxTopics) {
      throw new SamsaError('POLICY_VIOLATION', `the broker holds its maximum of ${maxTopics} topics (maxTopics); delete a topic or raise the limit`, { maxTopics, topics })
    }
    const total = this.#partitionCount + this.#reservedPartitions
    if (total + partitions > maxPartitions) {
      throw new SamsaError('POLICY_VIOLATION', `${partitions} more partitions would bring the broker to ${total + partitions}, above its maximum of ${maxPartitions} (maxPartitions); delete a topic or raise the limit`, {
        maxPartitions,
        partitions: total,
        requested: partitions,
      })
    }
  }

  /** A failed create leaves nothing behind: its partition logs are closed (their handles with them) and its directory removed. */
  async #undoCreate(name: string, logs: readonly PartitionLog[], cause: unknown): Promise<void> {
    this.#deps.logger.warn({ topic: name, partitionsOpened: logs.length, err: String(cause) }, 'topic create failed; removing what it created')
    for (const log of logs) await log.close().catch(() => {})
    try {
      await this.#storage.removeDir(`topics/${name}`)
    } catch (e) {
      // Without topic.json the directory is also removed at the next start.
      this.#leftovers.add(name)
      this.#deps.logger.warn({ topic: name, err: String(e) }, 'could not remove the directory of a failed create yet; the next create retries')
    }
  }

  /** Removes what failed creates left; the directory of name itself must go (a create starts from nothing), others are best effort. */
  async #removeLeftovers(name: string): Promise<void> {
    for (const left of [...this.#leftovers]) {
      if (left !== name && (this.#busy.has(left) || this.#topics.has(left))) continue
      try {
        await this.#storage.removeDir(`topics/${left}`)
        this.#leftovers.delete(left)
      } catch (e) {
        if (left === name) throw e
      }
    }
  }

  async delete(name: string): Promise<void> {
    assertTopicName(name)
    const topic = this.#topics.get(name)
    if (!topic || this.#busy.has(name)) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', ErrorMessages.unknownTopic(name))
    this.#busy.add(name)
    try {
      this.#topics.delete(name)
      for (const l of this.#deletedListeners) l(name)
      this.#partitionCount -= topic.partitions.length
      this.#metrics.topicsChanged(this.#topics.size, this.#partitionCount)
      for (const log of topic.partitions) await log.close()
      await this.#storage.removeDir(`topics/${name}`)
      await this.#storage.syncDir('topics')
      this.#deps.logger.info({ topic: name }, 'topic deleted')
    } finally {
      this.#busy.delete(name)
    }
  }

  onDeleted(listener: (name: string) => void): () => void {
    this.#deletedListeners.add(listener)
    return () => this.#deletedListeners.delete(listener)
  }

  async applyRetention(deletes: (topic: string) => boolean): Promise<number> {
    let deleted = 0
    for (const t of this.#topics.values()) if (deletes(t.name)) for (const log of t.partitions) deleted += await log.applyRetention()
    return deleted
  }

  topicConfigs(topic: string): TopicConfigs {
    return this.#topics.get(topic)?.configs ?? defaultTopicConfigs
  }

  get tailCacheBytes(): number {
    return this.#opener.tailCache?.used ?? 0
  }

  async close(): Promise<void> {
    this.#opener.stop()
    for (const t of this.#topics.values()) for (const log of t.partitions) await log.close()
  }
}
