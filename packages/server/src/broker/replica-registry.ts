/**
 * @module ReplicaRegistry: the partition replicas a replicating (clustered) broker hosts, each its own directory
 * topics/<topic>/<partition>/ (Kafka: a replica is a partition directory). The metadata log decides which replicas
 * a broker hosts; the ReplicaManager opens and removes them here one at a time, through the Broker.
 *
 * Invariants:
 *  - Only hosted replicas have files: nothing is created for a partition until open() is asked for it, and asking
 *    for a replica not hosted (partition()) answers NOT_LEADER_OR_FOLLOWER and touches no storage.
 *  - On start every partition directory present is reopened (recovered), and nothing else; a topic directory with
 *    no partition directory left is removed. There is no topic.json: the topic's partition count is the metadata's.
 *  - remove() closes the log before its directory goes, and the topic's directory goes with its last replica.
 *  - Opens and removes of one topic's replicas never overlap: each waits for the one before it (so the topic's
 *    directory never goes while another of its replicas is being opened).
 * Topic and partition limits are the controller's (it refuses creates cluster-wide); this registry enforces none.
 */
import { SamsaError, topicNameProblem } from '@samsa/shared'
import type { Logger } from '../clock.js'
import type { LogStorage } from '../log/log-storage.js'
import type { PartitionLog } from '../log/partition-log.js'
import { noopMetrics, type BrokerMetrics } from '../observability/broker-metrics.js'
import type { LocalLogs, LocalPartitionLog } from './local-logs.js'
import { PartitionOpener, TOPICS_DIR, partitionDir, partitionOfEntry, topicDir, type PartitionOpenerDeps } from './partition-opener.js'
import { assertTopicName } from './topic-registry.js'

export class ReplicaRegistry implements LocalLogs {
  readonly #opener: PartitionOpener
  readonly #storage: LogStorage
  readonly #logger: Logger
  readonly #metrics: BrokerMetrics
  /** Hosted replicas: topic → partition → log. A topic is present only while it has a replica. */
  readonly #replicas = new Map<string, Map<number, PartitionLog>>()
  /** The last open or remove queued, by topic: the next one on the same topic waits for it. */
  readonly #pending = new Map<string, Promise<unknown>>()

  private constructor(deps: PartitionOpenerDeps) {
    this.#opener = new PartitionOpener(deps)
    this.#storage = this.#opener.storage
    this.#logger = deps.logger
    this.#metrics = deps.metrics ?? noopMetrics
  }

  /** Reopens every replica whose directory is present. */
  static async open(deps: PartitionOpenerDeps): Promise<ReplicaRegistry> {
    const r = new ReplicaRegistry(deps)
    try {
      await r.#load()
    } catch (e) {
      await r.close().catch(() => {})
      throw e
    }
    r.#reportCounts()
    return r
  }

  async #load(): Promise<void> {
    const storage = this.#storage
    await storage.ensureDir(TOPICS_DIR)
    for (const topic of (await storage.list(TOPICS_DIR)).sort()) {
      if (topicNameProblem(topic)) {
        this.#logger.warn({ entry: topic }, 'ignoring an entry under topics/ that is not a topic name')
        continue
      }
      const partitions = (await storage.list(topicDir(topic))).flatMap((e) => {
        const p = partitionOfEntry(e)
        return p === undefined ? [] : [p]
      })
      if (partitions.length === 0) {
        this.#logger.warn({ topic }, 'removing a topic directory that holds no replica')
        await storage.removeDir(topicDir(topic))
        continue
      }
      const logs = new Map<number, PartitionLog>()
      this.#replicas.set(topic, logs)
      for (const p of partitions.sort((a, b) => a - b)) logs.set(p, await this.#opener.open(topic, p))
      this.#logger.info({ topic, partitions: [...logs.keys()] }, 'replicas loaded')
    }
  }

  /** The hosted replica's log; NOT_LEADER_OR_FOLLOWER when this broker holds no replica of it. */
  partition(topic: string, partition: number): PartitionLog {
    const log = this.find(topic, partition)
    if (log) return log
    assertTopicName(topic)
    throw new SamsaError('NOT_LEADER_OR_FOLLOWER', `this broker holds no replica of ${topic}/${partition}`)
  }

  find(topic: string, partition: number): PartitionLog | undefined {
    return this.#replicas.get(topic)?.get(partition)
  }

  *logs(): Iterable<LocalPartitionLog> {
    for (const topic of [...this.#replicas.keys()].sort()) {
      const logs = this.#replicas.get(topic)!
      for (const partition of [...logs.keys()].sort((a, b) => a - b)) yield { topic, partition, log: logs.get(partition)! }
    }
  }

  /** The replica's log, opened (created when new) if it is not open yet. */
  openReplica(topic: string, partition: number): Promise<PartitionLog> {
    assertTopicName(topic)
    if (!Number.isSafeInteger(partition) || partition < 0) throw new RangeError(`partition must be a non-negative integer, got ${partition}`)
    return this.#serially(topic, async () => {
      const open = this.find(topic, partition)
      if (open) return open
      const log = await this.#opener.open(topic, partition)
      let logs = this.#replicas.get(topic)
      if (!logs) this.#replicas.set(topic, (logs = new Map()))
      logs.set(partition, log)
      this.#reportCounts()
      this.#logger.info({ topic, partition }, 'replica opened')
      return log
    })
  }

  /**
   * Closes the hosted replica's log and opens it again (recovery verifies every batch and cuts a replica at damage in
   * place; PartitionLog.incompleteAtOpen says so); opens it when it is not open.
   */
  reopenReplica(topic: string, partition: number): Promise<PartitionLog> {
    assertTopicName(topic)
    return this.#serially(topic, async () => {
      const logs = this.#replicas.get(topic)
      await logs?.get(partition)?.close().catch((e: unknown) => this.#logger.warn({ topic, partition, err: String(e) }, 'closing a replica to reopen it failed; opening it again'))
      logs?.delete(partition)
      if (logs?.size === 0) this.#replicas.delete(topic)
      const log = await this.#opener.open(topic, partition)
      let now = this.#replicas.get(topic)
      if (!now) this.#replicas.set(topic, (now = new Map()))
      now.set(partition, log)
      this.#logger.info({ topic, partition, logEndOffset: log.logEndOffset, incomplete: log.incompleteAtOpen }, 'replica reopened')
      return log
    })
  }

  /** Closes and deletes the replica, if hosted; the topic's directory goes with its last replica. */
  removeReplica(topic: string, partition: number): Promise<void> {
    assertTopicName(topic)
    return this.#serially(topic, async () => {
      const logs = this.#replicas.get(topic)
      const log = logs?.get(partition)
      if (!logs || !log) return
      logs.delete(partition)
      if (logs.size === 0) this.#replicas.delete(topic)
      this.#reportCounts()
      await log.close()
      if (this.#replicas.has(topic)) await this.#storage.removeDir(partitionDir(topic, partition))
      else await this.#storage.removeDir(topicDir(topic))
      this.#logger.info({ topic, partition }, 'replica deleted')
    })
  }

  /** Runs `op` after every open or remove of the same topic's replicas queued before it. */
  #serially<T>(k: string, op: () => Promise<T>): Promise<T> {
    const run = (this.#pending.get(k) ?? Promise.resolve()).then(op, op)
    const settled = run.catch(() => {})
    this.#pending.set(k, settled)
    void settled.then(() => {
      if (this.#pending.get(k) === settled) this.#pending.delete(k)
    })
    return run
  }

  #reportCounts(): void {
    let partitions = 0
    for (const logs of this.#replicas.values()) partitions += logs.size
    this.#metrics.topicsChanged(this.#replicas.size, partitions)
  }

  async applyRetention(): Promise<number> {
    let deleted = 0
    for (const { log } of [...this.logs()]) deleted += await log.applyRetention()
    return deleted
  }

  async close(): Promise<void> {
    this.#opener.stop()
    for (const { log } of [...this.logs()]) await log.close()
  }
}
