/**
 * @module LocalPartitionLogs: the minimal PartitionRoleListener until replication's ReplicaManager replaces it. For
 * every partition this broker leads or follows it makes sure the topic's logs exist here (a topic is held whole:
 * TopicRegistry stores topics, not single partitions); it starts leading at the new leader epoch; when this broker
 * holds no replica of a topic any more (deleted, or deleted and created again elsewhere) it deletes its local logs.
 * Followers do not fetch yet (replication's job).
 *
 * Invariants: changes are applied one at a time in arrival order (a queue), so a topic deleted and created again
 * under its name is removed before it is opened again; a failure is logged and the queue goes on.
 */
import { silentLogger, type Logger } from '@samsa/shared'
import type { LocalPartitionChanges, MetadataImage } from '../controller/metadata/index.js'
import { noLocalChanges, type PartitionRoleListener } from './partition-roles.js'

/** What LocalPartitionLogs needs of the broker: its local replica operations. */
export interface LocalReplicaOps {
  /** Opens (creating if missing) the local logs of a topic with this many partitions. */
  openLocalTopic(name: string, partitions: number): Promise<void>
  /** Deletes the local logs of a topic; nothing when there are none. */
  removeLocalTopic(name: string): Promise<void>
  /** Leads the local partition at `leaderEpoch` (no-op when already at it or above). */
  becomeLeader(topic: string, partition: number, leaderEpoch: number): Promise<void>
}

export class LocalPartitionLogs implements PartitionRoleListener {
  readonly #ops: LocalReplicaOps
  readonly #logger: Logger
  #queue: Promise<void> = Promise.resolve()
  #pending = 0

  constructor(ops: LocalReplicaOps, logger: Logger = silentLogger) {
    this.#ops = ops
    this.#logger = logger
  }

  onLocalChanges(changes: LocalPartitionChanges, image: MetadataImage): void {
    if (noLocalChanges(changes)) return
    this.#pending++
    this.#queue = this.#queue
      .then(() => this.#apply(changes, image))
      .catch((err: unknown) => this.#logger.error({ err }, 'acting on partition role changes failed'))
      .finally(() => void this.#pending--)
  }

  /** Resolves once every change handed over so far has been acted on. */
  settled(): Promise<void> {
    return this.#queue
  }

  get pending(): number {
    return this.#pending
  }

  async #apply(changes: LocalPartitionChanges, image: MetadataImage): Promise<void> {
    // The controller moves no replica yet (no reassignment), so a removed replica means its topic was deleted, or
    // deleted and created again: the local logs of the old topic go; the new one's are opened below.
    for (const name of new Set(changes.removed.map((r) => r.topic))) await this.#ops.removeLocalTopic(name)
    for (const name of new Set([...changes.leaders, ...changes.followers].map((p) => p.topic))) {
      const topic = image.topics.get(name)
      if (topic) await this.#ops.openLocalTopic(name, topic.partitions.length)
    }
    for (const p of changes.leaders) await this.#ops.becomeLeader(p.topic, p.partition, p.registration.leaderEpoch)
  }
}
