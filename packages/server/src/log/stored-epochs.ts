/**
 * @module StoredEpochs: a partition's leader-epoch cache and its `leader-epoch-checkpoint` file, kept in step.
 * Invariants: an epoch recorded (record) is in the checkpoint before record resolves, so before any batch of that
 * epoch is written; after a cut from the end (a truncation) the checkpoint is written before truncateFromEnd
 * resolves; after a cut from the start (retention) it is written then, or, when that write fails, before the next
 * batch (the next record). A failed write is a storage error (retriable where the storage says so).
 */
import type { EpochEntry, LeaderEpochCache } from './leader-epoch-cache.js'
import type { LogStorage } from './log-storage.js'
import { retriableStorageError, storageError } from './storage-errors.js'

export class StoredEpochs {
  readonly #cache: LeaderEpochCache
  readonly #storage: LogStorage
  readonly #dir: string
  /** False while the cache differs from the checkpoint: it is written before the next batch is. */
  #stored = true

  /** `cache` must equal the checkpoint in `dir` (as PartitionLog.open leaves it). */
  constructor(cache: LeaderEpochCache, storage: LogStorage, dir: string) {
    this.#cache = cache
    this.#storage = storage
    this.#dir = dir
  }

  /** Each epoch and the offset it starts at, oldest first. */
  get entries(): readonly EpochEntry[] {
    return this.#cache.entries
  }

  get latestEpoch(): number {
    return this.#cache.latestEpoch
  }

  epochAt(offset: number): { epoch: number; startOffset: number; endOffset: number } | null {
    return this.#cache.epochAt(offset)
  }

  /** OffsetsForLeaderEpoch: the largest known epoch ≤ `epoch` and the offset after its last batch (KIP-101/279). */
  endOffsetFor(epoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    return this.#cache.endOffsetFor(epoch, logEndOffset)
  }

  /** Makes `epoch` start at `startOffset` unless it is already there, and the checkpoint current; before any batch of it is written. */
  async record(epoch: number, startOffset: number): Promise<void> {
    if (this.#cache.assign(epoch, startOffset)) this.#stored = false
    await this.#store()
  }

  /** Drops the epochs at or after `logEndOffset` (a truncation) and writes the checkpoint. */
  async truncateFromEnd(logEndOffset: number): Promise<void> {
    if (this.#cache.truncateFromEnd(logEndOffset)) this.#stored = false
    await this.#store()
  }

  /** Drops the epochs wholly below `logStartOffset` (retention); when that changed the cache, writes the checkpoint. */
  async truncateFromStart(logStartOffset: number): Promise<void> {
    if (!this.#cache.truncateFromStart(logStartOffset)) return
    this.#stored = false
    await this.#store()
  }

  async #store(): Promise<void> {
    if (this.#stored) return
    try {
      await this.#cache.write(this.#storage, this.#dir)
    } catch (e) {
      throw retriableStorageError(e) ?? storageError('could not write the leader-epoch checkpoint', e)
    }
    this.#stored = true
  }
}
