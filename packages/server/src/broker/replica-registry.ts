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
 *  - A replica is opened for one topic (its identity, replica-identity.ts): a new replica's directory records it
 *    before its log exists; an open replica recorded for another topic is closed, deleted and created again empty,
 *    so no record of a deleted topic is ever served or kept under a topic created again with its name.
 * Topic and partition limits are the controller's (it refuses creates cluster-wide); this registry enforces none.
 */
import { SamsaError, topicNameProblem } from '@samsa/shared'
import type { Logger } from '../clock.js'
import type { LogStorage } from '../log/log-storage.js'
import type { PartitionLog } from '../log/partition-log.js'
import { noopMetrics, type BrokerMetrics } from '../observability/broker-metrics.js'
import type { LocalLogs, LocalPartitionLog } from './local-logs.js'
import { PartitionOpener, TOPICS_DIR, partitionDir, partitionOfEntry, topicDir, type PartitionOpenerDeps } from './partition-opener.js'
import { REPLICA_IDENTITY_FILE, decodeReplicaIdentity, encodeReplicaIdentity, replicaVerdict, type ReplicaOwner, type TopicIdentity } from './replica-identity.js'
import { assertTopicName } from './topic-registry.js'

export class ReplicaRegistry implements LocalLogs {
  readonly #opener: PartitionOpener
  readonly #storage: LogStorage
  readonly #logger: Logger
  readonly #metrics: BrokerMetrics
  /** Hosted replicas: topic → partition → log. A topic is present only while it has a replica. */
  readonly #replicas = new Map<string, Map<number, PartitionLog>>()
  /** The topic each hosted replica's directory records (replica.json); absent for a directory without one. */
  readonly #identities = new Map<string, TopicIdentity>()
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
      for (const p of partitions.sort((a, b) => a - b)) {
        const recorded = await storage.readFile(identityFile(topic, p))
        const identity = recorded && decodeReplicaIdentity(recorded)
        if (identity) this.#identities.set(idKey(topic, p), identity)
        else if (recorded) this.#logger.warn({ topic, partition: p }, `ignoring an unreadable ${REPLICA_IDENTITY_FILE}`)
        logs.set(p, await this.#opener.open(topic, p))
      }
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

  /**
   * The replica's log for `owner`'s topic: the open one when its directory is that topic's (or is adopted, see
   * replica-identity.ts), else a new, empty one (created when new; a stale one is closed and deleted first).
   */
  openReplica(topic: string, partition: number, owner: ReplicaOwner): Promise<PartitionLog> {
    assertTopicName(topic)
    if (!Number.isSafeInteger(partition) || partition < 0) throw new RangeError(`partition must be a non-negative integer, got ${partition}`)
    return this.#serially(topic, async () => {
      const open = this.find(topic, partition)
      if (open) {
        const recorded = this.#identities.get(idKey(topic, partition)) ?? null
        const verdict = replicaVerdict(recorded, owner, open.logEndOffset === 0)
        if (verdict === 'keep') return open
        if (verdict === 'adopt') {
          await this.#record(topic, partition, owner.identity)
          this.#logger.warn({ topic, partition, ...owner.identity, logEndOffset: open.logEndOffset }, 'a replica without a recorded topic identity is kept: this broker leads it or is in its ISR')
          return open
        }
        this.#logger.warn({ topic, partition, recorded, expected: owner.identity, logEndOffset: open.logEndOffset }, 'deleting a replica that is not the current topic’s (deleted and created again, or unrecorded); it starts empty')
        await this.#drop(topic, partition, open)
      }
      await this.#storage.ensureDir(partitionDir(topic, partition))
      await this.#record(topic, partition, owner.identity)
      const log = await this.#opener.open(topic, partition)
      let logs = this.#replicas.get(topic)
      if (!logs) this.#replicas.set(topic, (logs = new Map()))
      logs.set(partition, log)
      this.#reportCounts()
      this.#logger.info({ topic, partition }, 'replica opened')
      return log
    })
  }

  /** Writes the replica's identity (temp, fsync, rename, fsync of the directory). */
  async #record(topic: string, partition: number, identity: TopicIdentity): Promise<void> {
    await this.#storage.writeFileAtomic(identityFile(topic, partition), encodeReplicaIdentity(identity))
    this.#identities.set(idKey(topic, partition), identity)
  }

  /** Forgets, closes and deletes a replica's directory (the topic's directory with its last replica). */
  async #drop(topic: string, partition: number, log: PartitionLog): Promise<void> {
    const logs = this.#replicas.get(topic)
    logs?.delete(partition)
    if (logs?.size === 0) this.#replicas.delete(topic)
    this.#identities.delete(idKey(topic, partition))
    this.#reportCounts()
    await log.close()
    if (this.#replicas.has(topic)) await this.#storage.removeDir(partitionDir(topic, partition))
    else await this.#storage.removeDir(topicDir(topic))
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
      const log = this.find(topic, partition)
      if (!log) return
      await this.#drop(topic, partition, log)
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

  async applyRetention(deletes: (topic: string) => boolean): Promise<number> {
    let deleted = 0
    for (const { topic, log } of [...this.logs()]) if (deletes(topic)) deleted += await log.applyRetention()
    return deleted
  }

  get tailCacheBytes(): number {
    return this.#opener.tailCache?.used ?? 0
  }

  async close(): Promise<void> {
    this.#opener.stop()
    for (const { log } of [...this.logs()]) await log.close()
  }
}

const idKey = (topic: string, partition: number) => `${topic}\u0000${partition}`
const identityFile = (topic: string, partition: number) => `${partitionDir(topic, partition)}/${REPLICA_IDENTITY_FILE}`
