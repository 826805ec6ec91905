/**
 * @module The producer's partition pipelines: one PartitionSender per partition, created on first use and wired to
 * the metadata cache (each partition's requests follow its leader) and, when durable, to the outbox. Invariants: a
 * partition has one sender for the producer's life (its sequences are the partition's); a sender is durable
 * (identity, next sequence continued from the stored one, outbox writes, fencing) only when created once the identity
 * is known, and an idempotent producer creates none before that.
 */
import type { Crc32cFn, SamsaError } from '@samsa/shared'
import type { MetadataCache } from '../metadata/metadata-cache.js'
import type { Clock, Logger, Random } from '../ports.js'
import type { Outbox, PersistableBatch } from './outbox.js'
import { PartitionSender } from './partition-sender.js'
import { NO_IDENTITY, type ProducerIdentity } from './producer-identity.js'

export interface PartitionSendersDeps {
  readonly metadata: MetadataCache
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
  readonly crc32c?: Crc32cFn
  readonly acks: number
  readonly timeoutMs: number
  readonly maxInFlight: number
  readonly maxRetries: number
  /** The durable identity once known; null: senders created now carry none (and never touch the outbox). */
  readonly identity: () => ProducerIdentity | null
  readonly outbox: Outbox
  readonly onFenced: (error: SamsaError) => void
  readonly onBatchDone: (recordCount: number) => void
  /** The partition's sender can send a batch closed now. */
  readonly onCapacity: (topic: string, partition: number) => void
}

export class PartitionSenders {
  readonly #deps: PartitionSendersDeps
  /** One sender per "partition/topic". */
  readonly #senders = new Map<string, PartitionSender>()

  constructor(deps: PartitionSendersDeps) {
    this.#deps = deps
  }

  /** Whether a batch of the partition closed now would be sent at once (no sender yet: an idle one will be created for it). */
  canSend(topic: string, partition: number): boolean {
    return this.#senders.get(`${partition}/${topic}`)?.canSend ?? true
  }

  /** The partition's sender, created on first use. */
  for(topic: string, partition: number): PartitionSender {
    const key = `${partition}/${topic}`
    let sender = this.#senders.get(key)
    if (sender === undefined) {
      sender = this.#create(topic, partition)
      this.#senders.set(key, sender)
    }
    return sender
  }

  #create(topic: string, partition: number): PartitionSender {
    const { clock, random, logger, metadata, outbox } = this.#deps
    const identity = this.#deps.identity()
    return new PartitionSender(topic, partition, {
      route: (t, p) => metadata.route(t, p),
      leader: (t, p) => metadata.leader(t, p),
      onLeaderMoved: (t, p, epoch, onMoved) => metadata.onLeaderMoved(t, p, epoch, onMoved),
      unknownTopicRetryMs: () => (metadata.propagates ? metadata.unknownTopicRetryMs : undefined),
      clock,
      random,
      logger: logger.child({ topic, partition }),
      acks: this.#deps.acks,
      timeoutMs: this.#deps.timeoutMs,
      maxInFlight: this.#deps.maxInFlight,
      maxRetries: this.#deps.maxRetries,
      retryBackoff: { baseMs: 50, capMs: 2_000 },
      identity: identity ?? NO_IDENTITY,
      initialSequence: identity !== null ? outbox.nextSequence(topic, partition) : 0,
      onStaleMetadata: (t, p, sentTo) => metadata.invalidate(t, p !== undefined && sentTo !== undefined ? { partition: p, leaderEpoch: sentTo.leaderEpoch } : undefined),
      ...(this.#deps.crc32c && { crc32c: this.#deps.crc32c }),
      ...(identity !== null && {
        persist: (b: PersistableBatch) => outbox.persist(b),
        unpersist: (seqs: readonly number[], reset?: number) => outbox.unpersist(topic, partition, seqs, reset),
        onFenced: this.#deps.onFenced,
      }),
      onBatchDone: this.#deps.onBatchDone,
      onCapacity: () => this.#deps.onCapacity(topic, partition),
    })
  }
}
