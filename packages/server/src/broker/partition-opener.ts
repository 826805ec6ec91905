/**
 * @module PartitionOpener: opens a broker's partition logs, each in its directory topics/<topic>/<partition>/, all
 * through one bounded file-handle cache (LazyLogStorage) when maxOpenSegmentFiles is set. Shared by the single
 * node's TopicRegistry (whole topics) and a replicating broker's ReplicaRegistry (one replica at a time), so both
 * keep the same on-disk layout and the same handle budget.
 */
import { TailCacheBudget } from '../log/tail-cache.js'
import type { Crc32cFn } from '@samsa/shared'
import type { Clock, Logger } from '../clock.js'
import { LazyLogStorage } from '../log/lazy-log-storage.js'
import type { LogStorage } from '../log/log-storage.js'
import { PartitionLog, type PartitionLogConfig } from '../log/partition-log.js'
import { noopMetrics, type BrokerMetrics } from '../observability/broker-metrics.js'

export interface PartitionOpenerDeps {
  readonly storage: LogStorage
  readonly logConfig: PartitionLogConfig
  readonly clock: Clock
  readonly logger: Logger
  /** Segment files holding an OS handle at once; default: no cache in front of storage (tests of a registry alone). */
  readonly maxOpenSegmentFiles?: number
  readonly metrics?: BrokerMetrics
  /** How partitions' high watermarks move: 'set-by-partition' when replication sets them (PartitionLogArgs.highWatermark). */
  readonly highWatermark?: 'follows-local-end' | 'set-by-partition'
  /** CRC-32C for the batches a replica checks and for recovery (PartitionLogArgs.crc32c). */
  readonly crc32c?: Crc32cFn
  /** Bytes all partitions' tail caches may hold together (BrokerConfig.tailCacheBytes); default: each its own 1 MiB. */
  readonly tailCacheBytes?: number
}

/** A partition's files unused this long give their handles back, so idle partitions hold no file descriptor. */
export const IDLE_FILE_CLOSE_MS = 60_000

export const TOPICS_DIR = 'topics'
export const topicDir = (topic: string): string => `${TOPICS_DIR}/${topic}`
export const partitionDir = (topic: string, partition: number): string => `${TOPICS_DIR}/${topic}/${partition}`

/** The partition number a directory entry under topics/<topic>/ names (a canonical non-negative integer), else undefined. */
export function partitionOfEntry(entry: string): number | undefined {
  return /^(0|[1-9]\d{0,8})$/.test(entry) ? Number(entry) : undefined
}

export class PartitionOpener {
  readonly #deps: PartitionOpenerDeps
  /** deps.storage behind the bounded handle cache: every partition's files go through it. */
  readonly storage: LogStorage
  /** Shared by every log opened here (samsa_tail_cache_bytes); null: each log has its own. */
  readonly tailCache: TailCacheBudget | null

  constructor(deps: PartitionOpenerDeps) {
    this.#deps = deps
    this.tailCache = deps.tailCacheBytes === undefined ? null : new TailCacheBudget(deps.tailCacheBytes)
    const metrics = deps.metrics ?? noopMetrics
    this.storage =
      deps.maxOpenSegmentFiles === undefined
        ? deps.storage
        : new LazyLogStorage(deps.storage, {
            maxOpenFiles: deps.maxOpenSegmentFiles,
            logger: deps.logger,
            clock: deps.clock,
            onOpenCount: (n) => metrics.segmentFilesOpen(n),
            onEvicted: () => metrics.segmentFileEvicted(),
            onTooManyOpenFiles: () => metrics.fileHandlesExhausted(),
            idleCloseMs: IDLE_FILE_CLOSE_MS,
          })
  }

  /** Opens (creating when missing) the partition's log; recovery logs what it cut (its logger names the topic and partition). */
  async open(topic: string, partition: number): Promise<PartitionLog> {
    const log = await PartitionLog.open({
      storage: this.storage,
      dir: partitionDir(topic, partition),
      config: this.#deps.logConfig,
      clock: this.#deps.clock,
      logger: this.#deps.logger.child({ topic, partition }),
      ...(this.#deps.highWatermark && { highWatermark: this.#deps.highWatermark }),
      ...(this.#deps.crc32c && { crc32c: this.#deps.crc32c }),
      ...(this.tailCache && { tailCache: this.tailCache }),
    })
    return log
  }

  /** Stops the handle cache's idle closing (the logs close their own files). */
  stop(): void {
    if (this.storage instanceof LazyLogStorage) this.storage.stop()
  }
}
