/**
 * @module TopicRegistry: the topics on this broker and their partition logs.
 * Layout: topics/<name>/topic.json (written last on create, so a directory without it is an unfinished
 * create and is removed on start) and topics/<name>/<partition>/ for each partition's segments.
 * Names are validated before they touch storage, so no name can reach outside the data directory.
 */
import { ErrorMessages, SamsaError, topicNameProblem } from '@samsa/shared'
import type { Clock, Logger } from '../clock.js'
import type { LogStorage } from '../log/log-storage.js'
import { PartitionLog, type PartitionLogConfig } from '../log/partition-log.js'
import { parseCreateTopic } from './create-topic-request.js'

export interface Topic {
  readonly name: string
  readonly createdAtMs: number
  /** Index = partition number. */
  readonly partitions: readonly PartitionLog[]
}

interface TopicFile {
  readonly name: string
  readonly partitions: number
  readonly createdAtMs: number
}

export interface TopicRegistryDeps {
  readonly storage: LogStorage
  readonly logConfig: PartitionLogConfig
  readonly clock: Clock
  readonly logger: Logger
  readonly maxPartitionsPerTopic: number
}

const enc = new TextEncoder()
const dec = new TextDecoder()

export function assertTopicName(name: string): void {
  const problem = topicNameProblem(name)
  if (problem) throw new SamsaError('INVALID_TOPIC_EXCEPTION', problem)
}

export class TopicRegistry {
  readonly #deps: TopicRegistryDeps
  readonly #topics = new Map<string, Topic>()
  /** Names being created or deleted right now; a second create/delete of the same name waits for none and fails fast. */
  readonly #busy = new Set<string>()
  readonly #deletedListeners = new Set<(name: string) => void>()

  private constructor(deps: TopicRegistryDeps) {
    this.#deps = deps
  }

  static async open(deps: TopicRegistryDeps): Promise<TopicRegistry> {
    const r = new TopicRegistry(deps)
    await deps.storage.ensureDir('topics')
    for (const name of (await deps.storage.list('topics')).sort()) {
      if (topicNameProblem(name)) {
        deps.logger.warn({ entry: name }, 'ignoring an entry under topics/ that is not a topic name')
        continue
      }
      const file = await deps.storage.readFile(`topics/${name}/topic.json`)
      if (!file) {
        deps.logger.warn({ topic: name }, 'removing a topic directory left by an unfinished create')
        await deps.storage.removeDir(`topics/${name}`)
        continue
      }
      const meta = JSON.parse(dec.decode(file)) as TopicFile
      const partitions: PartitionLog[] = []
      for (let p = 0; p < meta.partitions; p++) partitions.push(await r.#openPartition(name, p))
      r.#topics.set(name, { name, createdAtMs: meta.createdAtMs, partitions })
      deps.logger.info({ topic: name, partitions: meta.partitions }, 'topic loaded')
    }
    return r
  }

  async #openPartition(topic: string, partition: number): Promise<PartitionLog> {
    const log = await PartitionLog.open({
      storage: this.#deps.storage,
      dir: `topics/${topic}/${partition}`,
      config: this.#deps.logConfig,
      clock: this.#deps.clock,
      logger: this.#deps.logger.child({ topic, partition }),
    })
    if (log.recoveryReport) this.#deps.logger.warn({ topic, partition, ...log.recoveryReport }, 'recovery cut a damaged log tail')
    return log
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

  async create(name: string, partitions: number): Promise<Topic> {
    parseCreateTopic(name, partitions, this.#deps.maxPartitionsPerTopic)
    if (this.#topics.has(name) || this.#busy.has(name)) throw new SamsaError('TOPIC_ALREADY_EXISTS', ErrorMessages.topicExists(name))
    this.#busy.add(name)
    try {
      const { storage, clock } = this.#deps
      await storage.ensureDir(`topics/${name}`)
      const logs: PartitionLog[] = []
      for (let p = 0; p < partitions; p++) logs.push(await this.#openPartition(name, p))
      const meta: TopicFile = { name, partitions, createdAtMs: clock.nowMs() }
      await storage.writeFileAtomic(`topics/${name}/topic.json`, enc.encode(JSON.stringify(meta)))
      const topic: Topic = { name, createdAtMs: meta.createdAtMs, partitions: logs }
      this.#topics.set(name, topic)
      this.#deps.logger.info({ topic: name, partitions }, 'topic created')
      return topic
    } finally {
      this.#busy.delete(name)
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
      for (const log of topic.partitions) await log.close()
      await this.#deps.storage.removeDir(`topics/${name}`)
      await this.#deps.storage.syncDir('topics')
      this.#deps.logger.info({ topic: name }, 'topic deleted')
    } finally {
      this.#busy.delete(name)
    }
  }

  onDeleted(listener: (name: string) => void): () => void {
    this.#deletedListeners.add(listener)
    return () => this.#deletedListeners.delete(listener)
  }

  async applyRetention(): Promise<number> {
    let deleted = 0
    for (const t of this.#topics.values()) for (const log of t.partitions) deleted += await log.applyRetention()
    return deleted
  }

  async close(): Promise<void> {
    for (const t of this.#topics.values()) for (const log of t.partitions) await log.close()
  }
}
