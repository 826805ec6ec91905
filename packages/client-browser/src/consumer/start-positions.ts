/**
 * @module Where each partition of a new subscription starts: its partitions (named, from a `from` map, or every
 * partition of the topic), and per partition the symbolic or exact start, or the consumer id's stored position
 * (checked against the broker's leader epoch).
 */
import type { MetadataCache } from '../metadata/metadata-cache.js'
import type { Logger } from '../ports.js'
import type { ClientStorage, StoredPosition } from '../storage/stores.js'
import type { SubscribeOptions } from './subscribe-options.js'

export interface PartitionStart {
  readonly partition: number
  /** −2 earliest, −1 latest, or an exact offset. */
  readonly start: number
  /** The stored position the partition resumes from (`from: 'stored'`). */
  readonly stored: StoredPosition | null
  /** Set when the stored leader epoch is newer than the broker's: the old position, reported as a truncation gap once the start resolves. */
  readonly truncatedFrom?: number
}

export interface StartDeps {
  readonly metadata: MetadataCache
  readonly logger: Logger
  readonly storage?: ClientStorage | undefined
  readonly consumerId: string
}

/** The partitions known without asking the broker (named, or the keys of a `from` map); null when they come from metadata. */
export function declaredPartitions(opts: SubscribeOptions): readonly number[] | null {
  if (opts.partitions !== undefined) return opts.partitions
  const from = opts.from
  if (typeof from === 'object' && !('offset' in from)) return Object.keys(from).map(Number)
  return null
}

export async function resolveStarts(topic: string, opts: SubscribeOptions, deps: StartDeps): Promise<PartitionStart[]> {
  const from = opts.from ?? 'latest'
  const partitions = declaredPartitions(opts) ?? Array.from({ length: await deps.metadata.partitionCount(topic) }, (_, i) => i)
  const isStored = from === 'stored'
  const resetStart = (opts.reset ?? 'earliest') === 'latest' ? -1 : -2
  const stored = isStored ? await deps.storage!.offsets.list(deps.consumerId, topic) : new Map<number, StoredPosition>()
  const epochs = new Map<number, number>()
  if ([...stored.values()].some((s) => s.leaderEpoch >= 0)) {
    for (const m of (await deps.metadata.topic(topic)).partitions) epochs.set(m.partition, m.leaderEpoch)
  }
  return partitions.map((partition): PartitionStart => {
    const saved = stored.get(partition) ?? null
    const start = isStored
      ? (saved?.offset ?? resetStart)
      : from === 'earliest' ? -2 : from === 'latest' ? -1 : 'offset' in from ? (from.offset as number) : ((from as Record<number, number>)[partition] ?? -1)
    const brokerEpoch = epochs.get(partition)
    if (saved !== null && brokerEpoch !== undefined && saved.leaderEpoch > brokerEpoch) {
      // The broker's history is older than what this consumer saw: the log diverged at an unknown offset.
      deps.logger.warn({ topic, partition, stored: saved, brokerEpoch }, 'stored leader epoch is newer than the broker’s')
      return { partition, start: resetStart, stored: saved, truncatedFrom: saved.offset }
    }
    return { partition, start, stored: saved }
  })
}
