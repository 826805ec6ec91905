/**
 * @module PartitionLog: one partition (Kafka's Partition) over its Log: the leader epoch and leader-epoch cache, the
 * high watermark, producer state (dedupe) and the appends a leader and a follower make. The Log below owns segments,
 * writes, reads, truncation and the local durable end.
 * High watermark: under 'follows-local-end' (a single node, the default) it is the local durable end; under
 * 'set-by-partition' only advanceHighWatermark moves it (replication: the minimum log end over the ISR).
 * Recovery point and producer-id expiry: RecoveryPointKeeper (removed before every cut, written after it).
 * Leader epochs: StoredEpochs (the checkpoint current before a batch of a new epoch is written).
 */
import { batchLastOffset, batchTotalBytes, crc32c, patchBatch, readBatchHeader, SamsaError, type BatchHeader, type Crc32cFn } from '@samsa/shared'
import type { Clock, Logger } from '../clock.js'
import { checkLeaderBatch } from './leader-batch-check.js'
import { LeaderEpochCache, type EpochEntry } from './leader-epoch-cache.js'
import { Log, type LogArgs } from './log.js'
import { cleanLog, type CleanOptions, type CleanResult } from './log-cleaner.js'
import type { RecoveryReport } from './log-recovery.js'
import type { LogStorage } from './log-storage.js'
import { CheckpointWrites, decodeOffsetCheckpoint, HIGH_WATERMARK_CHECKPOINT, writeOffsetCheckpoint } from './offset-checkpoint.js'
import type { PartitionLogConfig } from './partition-log-config.js'
import { incompleteReason, PartitionRecovery } from './partition-recovery.js'
import { ProducerStateTable } from './producer-state.js'
import { readRecoveryPoint, RecoveryPointKeeper } from './recovery-point-keeper.js'
import { ServedReads, type ReadDamage } from './served-batches.js'
import { StoredEpochs } from './stored-epochs.js'
import { HighWatermark } from './high-watermark.js'
import type { AppendResult, ReadResult } from './partition-log-results.js'

export type { RecoveryReport } from './log-recovery.js'
export { LogCorruptionError } from './log-recovery.js'
export { defaultPartitionLogConfig, type PartitionLogConfig } from './partition-log-config.js'
export type { AppendResult, ReadResult } from './partition-log-results.js'

export interface PartitionLogArgs extends Pick<LogArgs, 'tailCache'> {
  storage: LogStorage
  dir: string
  config: PartitionLogConfig
  clock: Clock
  logger: Logger
  /** The epoch to lead with (default 0); the log's epoch is never below its leader-epoch cache's latest. */
  leaderEpoch?: number
  /**
   * 'follows-local-end' (default, a single node): the high watermark is the local durable end.
   * 'set-by-partition': only advanceHighWatermark moves it (replication: the minimum log end over the ISR); it
   * starts at the `high-watermark` checkpoint (checkpointHighWatermark), within [logStartOffset, logEndOffset].
   */
  highWatermark?: 'follows-local-end' | 'set-by-partition'
  /** CRC-32C for the batches a replica checks (appended from its leader, served to readers) and for recovery; default: the pure-JS one. */
  crc32c?: Crc32cFn
}

/** The answer to a read at or above the high watermark. */
const EMPTY_RECORDS = new Uint8Array(0)

export class PartitionLog {
  readonly #log: Log
  readonly #storage: LogStorage
  readonly #checkpoints = new CheckpointWrites()
  readonly #dir: string
  readonly #clock: Clock
  readonly #logger: Logger
  /** The epoch stamped on the batches this partition appends as leader; ≥ #epochs.latestEpoch; only grows. */
  #leaderEpoch: number
  /** Every epoch of the log and its start offset; the batch at offset o carries #epochs.epochAt(o). */
  readonly #epochs: StoredEpochs
  readonly #hwFollowsLocalEnd: boolean
  /** First offset consumers cannot see; logStartOffset ≤ it ≤ localDurableEnd. Grows, except that a truncation below it lowers it. */
  readonly #highWatermark: HighWatermark
  #producers: ProducerStateTable
  #incomplete: string | null = null
  readonly #crc32c: Crc32cFn
  /** A replica checks what it serves (served-batches.ts); null on a single node, whose readers check the CRC. */
  readonly #served: ServedReads | null
  readonly #recoveryPoints: RecoveryPointKeeper
  #closed: Promise<void> | null = null

  private constructor(args: PartitionLogArgs, log: Log, epochs: LeaderEpochCache, producers: ProducerStateTable, checkpointedHighWatermark: number | null) {
    this.#log = log
    this.#recoveryPoints = new RecoveryPointKeeper({ storage: args.storage, dir: args.dir, clock: args.clock, logger: args.logger, config: args.config, log, producers: () => this.#producers, crc32c: args.crc32c ?? crc32c })
    this.#storage = args.storage
    this.#dir = args.dir
    this.#clock = args.clock
    this.#logger = args.logger
    this.#epochs = new StoredEpochs(epochs, args.storage, args.dir)
    this.#leaderEpoch = epochs.latestEpoch
    this.#producers = producers
    this.#hwFollowsLocalEnd = (args.highWatermark ?? 'follows-local-end') === 'follows-local-end'
    // Everything recovered is durable (Log.open synced it); a partition that sets the high watermark starts at its checkpoint.
    const initialHighWatermark = this.#hwFollowsLocalEnd
      ? log.logEndOffset
      : Math.min(Math.max(checkpointedHighWatermark ?? log.logStartOffset, log.logStartOffset), log.logEndOffset)
    this.#highWatermark = new HighWatermark(initialHighWatermark, log.readable, args.logger)
    log.onLocalDurableEnd((end) => this.#hwFollowsLocalEnd && this.#highWatermark.advance(end))
    this.#crc32c = args.crc32c ?? crc32c
    this.#served = this.#hwFollowsLocalEnd ? null : ServedReads.of(log, { crc32c: this.#crc32c, epochAt: (o) => this.#epochs.epochAt(o)?.epoch })
    // Damage a read found may lie below the recovery point: the next open must verify it, so the point goes at once.
    this.#served?.onDamage(() => this.#recoveryPoints.damaged())
  }

  static async open(args: PartitionLogArgs): Promise<PartitionLog> {
    const stored = await LeaderEpochCache.read(args.storage, args.dir)
    if (stored.invalid) args.logger.warn({ dir: args.dir }, 'ignoring an invalid leader-epoch checkpoint; rebuilding it from the batches')
    // A damaged checkpoint says nothing about epochs: only their order is checked then, so no batch is cut for it.
    const recovery = new PartitionRecovery(stored.cache, stored.invalid ? Number.MAX_SAFE_INTEGER : (args.leaderEpoch ?? 0), () => args.clock.nowMs())
    const replica = args.highWatermark === 'set-by-partition' // cuts damage in place and fetches it again from its leader
    // Without a stored epoch checkpoint every batch is read to rebuild it: the recovery point would save nothing.
    const point = stored.cache === null ? null : await readRecoveryPoint(args.storage, args.dir, args.logger, args.crc32c ?? crc32c)
    const log = await Log.open(args, recovery, replica ? 'cut' : 'refuse', point)
    try {
      const { cache, stored: unchanged } = recovery.epochs(log.logEndOffset)
      // The epoch to lead with starts at the log end; the checkpoint is current before any batch is appended.
      const assigned = cache.assign(Math.max(args.leaderEpoch ?? 0, cache.latestEpoch), log.logEndOffset)
      if (assigned || !unchanged) await cache.write(args.storage, args.dir)
      const hwBytes = replica ? await args.storage.readFile(`${args.dir}/${HIGH_WATERMARK_CHECKPOINT}`) : null
      const hw = hwBytes === null ? null : decodeOffsetCheckpoint(hwBytes)
      if (hwBytes !== null && hw === null) args.logger.warn({ dir: args.dir }, 'ignoring an invalid high-watermark checkpoint; the high watermark starts at the log start')
      const partition = new PartitionLog(args, log, cache, recovery.producers, hw)
      await partition.#recoveryPoints.opened() // whatever this open verified or cut is recorded, so the next open starts after it
      if (replica) partition.#incomplete = incompleteReason(log.recoveryReport, hw, log.logEndOffset, args.config.fsync === 'always')
      if (partition.#incomplete !== null) args.logger.error({ dir: args.dir, reason: partition.#incomplete }, 'this replica recovered without committed records it had; it leaves the ISR and catches up from its leader')
      return partition
    } catch (e) {
      await log.close().catch(() => {})
      throw e
    }
  }

  get recoveryReport(): RecoveryReport | null {
    return this.#log.recoveryReport
  }

  /** Why this replica came back without committed records it had (incompleteReason); null on a single node. */
  get incompleteAtOpen(): string | null {
    return this.#incomplete
  }

  /** Calls `listener` once a read of this replica finds a batch damaged on storage (ServedReads); never on a single node. */
  onReadDamage(listener: (damage: ReadDamage) => void): () => void {
    return this.#served?.onDamage(listener) ?? (() => {})
  }

  get logStartOffset(): number {
    return this.#log.logStartOffset
  }

  /** An idempotent producer's current epoch and last appended sequence here; null before its first batch. Read-only: append decides. */
  producerState(producerId: number): { readonly epoch: number; readonly lastSequence: number } | null {
    const e = this.#producers.get(producerId)
    const last = e?.batches.at(-1)
    return e && last ? { epoch: e.epoch, lastSequence: last.lastSeq } : null
  }

  get highWatermark(): number {
    return this.#highWatermark.value
  }

  get logEndOffset(): number {
    return this.#log.logEndOffset
  }

  /** Offsets below it are durable on this node per its fsync policy (what acks=leader waits for). */
  get localDurableEnd(): number {
    return this.#log.localDurableEnd
  }

  /**
   * Bytes of the batches below the high watermark written since this log was opened. Only differences mean
   * something: fetch's minBytes waits until it has grown by the bytes it lacks.
   */
  get highWatermarkPosition(): number {
    return this.#log.readable.position
  }

  get leaderEpoch(): number {
    return this.#leaderEpoch
  }

  /** The leader-epoch cache: each epoch and the offset it starts at, oldest first. */
  get epochs(): readonly EpochEntry[] {
    return this.#epochs.entries
  }

  /** OffsetsForLeaderEpoch: the largest known epoch ≤ `epoch` and the offset after its last batch (KIP-101/279). */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    return this.#epochs.endOffsetFor(epoch, this.logEndOffset)
  }

  /**
   * Starts leading at `epoch` (from the controller): it starts at the log end, is durable in the leader-epoch
   * checkpoint before this resolves, and is stamped on every batch appended from now on. An older epoch is refused.
   */
  becomeLeader(epoch: number): Promise<void> {
    return this.#log.exclusive(async () => {
      if (!Number.isSafeInteger(epoch) || epoch < this.#leaderEpoch) {
        throw new SamsaError('FENCED_LEADER_EPOCH', `leader epoch ${epoch} is older than this log's ${this.#leaderEpoch}`, { leaderEpoch: this.#leaderEpoch })
      }
      this.#leaderEpoch = epoch
      await this.#epochs.record(epoch, this.logEndOffset)
    })
  }

  /** Moves the high watermark (under 'set-by-partition': the minimum log end over the ISR), never past the local durable end and never back. */
  advanceHighWatermark(offset: number): void {
    this.#highWatermark.advance(Math.min(offset, this.#log.localDurableEnd))
  }

  /**
   * Records the high watermark in the `high-watermark` checkpoint (temp → fsync → rename), where a partition that sets
   * it starts after a restart; one write at a time, never in the way of appends (CheckpointWrites).
   */
  checkpointHighWatermark(): Promise<void> {
    return this.#checkpoints.run(() => writeOffsetCheckpoint(this.#storage, this.#dir, HIGH_WATERMARK_CHECKPOINT, this.#highWatermark.value))
  }

  /** The open: the recovery point's offset it resumed from (null: it verified the whole log), and the bytes it verified. */
  get recovered(): { resumedFrom: number | null; verifiedBytes: number } {
    return { resumedFrom: this.#log.resumedFrom, verifiedBytes: this.#log.verifiedBytes }
  }

  /** Producer ids whose state this partition holds (samsa_producer_ids). */
  get producerIdCount(): number {
    return this.#producers.size
  }

  /**
   * Drops producer ids idle for producerIdExpirationMs and writes the recovery point when the log or the producer
   * state changed since the last one (what the periodic tick does; exposed for tests on a ManualClock).
   */
  checkpointRecoveryPoint(): Promise<void> {
    return this.#recoveryPoints.tick()
  }

  /** Appends a batch the caller already checked with verifyBatch; patches its baseOffset and leader epoch in place. Resolves once durable per the fsync policy. */
  async append(batch: Uint8Array): Promise<AppendResult> {
    const result = await this.#log.exclusiveWrite(() => this.#appendAsLeader(batch))
    await this.#log.durable(result.lastOffset + 1)
    return result
  }

  /**
   * Appends batches fetched from the leader, unchanged: their offsets and leader epochs are kept. Each batch must
   * pass its CRC, start at this log's end and carry an epoch not older than the last one (a newer epoch is recorded
   * in the leader-epoch checkpoint before its first batch is written). Resolves once durable per the fsync policy.
   * CORRUPT_MESSAGE for a batch that fails a check; the batches before it are kept.
   */
  async appendAsFollower(batches: Uint8Array): Promise<{ firstOffset: number; logEndOffset: number }> {
    const result = await this.#log.exclusiveWrite(() => this.#appendAsFollower(batches))
    await this.#log.durable(result.logEndOffset)
    return result
  }

  /**
   * Cuts the log so that it ends before `offset` (a batch holding `offset` goes whole): segments and index, then
   * producer state and the leader-epoch cache, in that order, so a crash midway leaves a log recovery accepts. The high
   * watermark is lowered to the new end if it was above. Refuses an offset below the log start. Resolves with the new end.
   */
  truncateTo(offset: number): Promise<number> {
    return this.#log.exclusive(async () => {
      if (!Number.isSafeInteger(offset) || offset < this.logStartOffset) {
        throw new SamsaError('OFFSET_OUT_OF_RANGE', `cannot truncate to ${offset}: below the log start ${this.logStartOffset}`, { logStartOffset: this.logStartOffset, logEndOffset: this.logEndOffset })
      }
      if (offset >= this.logEndOffset) return this.logEndOffset
      await this.#recoveryPoints.remove()
      const end = await this.#log.cutTo(offset)
      const producers = new ProducerStateTable()
      const now = this.#clock.nowMs()
      for await (const h of this.#log.headers()) producers.update(h, h.baseOffset, now)
      this.#producers = producers
      this.#highWatermark.lowerTo(end)
      await this.#epochs.truncateFromEnd(end)
      await this.#recoveryPoints.write().catch((e: unknown) => this.#logger.warn({ dir: this.#dir, err: String(e) }, 'could not write the recovery point after a truncation; the next open verifies the whole log'))
      this.#logger.info({ dir: this.#dir, offset, logEndOffset: end }, 'truncated the log')
      return end
    })
  }

  async read(offset: number, maxBytes: number): Promise<ReadResult> {
    const highWatermark = this.#highWatermark.value
    const highWatermarkPosition = this.highWatermarkPosition
    const logStartOffset = this.logStartOffset
    const logEndOffset = this.logEndOffset
    if (!Number.isSafeInteger(offset) || offset < logStartOffset || offset > logEndOffset) {
      throw new SamsaError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside the range [${logStartOffset}, ${logEndOffset}]`, {
        logStartOffset,
        logEndOffset,
        highWatermark,
      })
    }
    // Between the high watermark and the log end: a valid position whose records are not visible yet (a new leader's
    // high watermark catches up with its followers' next fetches). Nothing to read now.
    if (offset >= highWatermark) return { records: EMPTY_RECORDS, highWatermark, highWatermarkPosition, logStartOffset }
    try {
      const read = () => this.#log.read(offset, maxBytes, highWatermark)
      const records = await (this.#served ? this.#served.checked(read, offset) : read())
      return { records, highWatermark, highWatermarkPosition, logStartOffset }
    } catch (e) {
      if (offset < this.logStartOffset) return this.read(offset, maxBytes) // retention removed the segment meanwhile
      throw e
    }
  }

  /**
   * A follower's read (replication): whole batches from `offset` up to the log end, above the high watermark and
   * the local durable end too, so followers copy a batch while the leader's fsync of it runs (the high watermark
   * still needs the leader's durable end). OFFSET_OUT_OF_RANGE outside [logStartOffset, logEndOffset].
   */
  async readForReplica(offset: number, maxBytes: number): Promise<Uint8Array> {
    const logStartOffset = this.logStartOffset
    if (!Number.isSafeInteger(offset) || offset < logStartOffset || offset > this.logEndOffset) {
      throw new SamsaError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside this replica's log [${logStartOffset}, ${this.logEndOffset}]`, {
        logStartOffset,
        logEndOffset: this.logEndOffset,
        highWatermark: this.#highWatermark.value,
      })
    }
    const end = this.#log.logEndOffset
    if (offset >= end) return new Uint8Array(0)
    return this.#served ? this.#served.checked(() => this.#log.read(offset, maxBytes, end), offset) : this.#log.read(offset, maxBytes, end)
  }

  /** Calls listener with each new log end, once its batch is written (what replica fetches wait on). */
  onLogEnd(listener: (end: number) => void): () => void {
    return this.#log.onWritten(listener)
  }

  /** Calls listener with each new local durable end (what a leader's high watermark and replica fetches wait on). */
  onLocalDurableEnd(listener: (end: number) => void): () => void {
    return this.#log.onLocalDurableEnd(listener)
  }

  offsetForTimestamp(timestampMs: number): Promise<{ offset: number; timestamp: number } | null> {
    return this.#log.offsetForTimestamp(timestampMs, this.#highWatermark.value)
  }

  onHighWatermark(listener: (highWatermark: number) => void): () => void {
    return this.#highWatermark.onChange(listener)
  }

  /** Deletes whole expired segments (never the active one, never above the high watermark); returns how many. */
  applyRetention(): Promise<number> {
    return this.#log.exclusive(async () => {
      const n = await this.#log.deleteExpiredSegments(this.#highWatermark.value)
      if (n > 0) await this.#epochs.truncateFromStart(this.logStartOffset).catch((e: unknown) => this.#logger.warn({ dir: this.#dir, err: String(e) }, 'could not write the leader-epoch checkpoint after retention; it is written before the next batch'))
      return n
    })
  }

  /** One log-cleaner pass below the high watermark (log-cleaner.ts); a batch producer state still holds stays whole. */
  clean(opts: CleanOptions): Promise<CleanResult> {
    const keepWhole = (h: BatchHeader) => this.#producers.get(h.producerId)?.batches.some((b) => b.baseOffset === h.baseOffset) === true
    return cleanLog({ ...opts, storage: this.#storage, dir: this.#dir, log: this.#log, upTo: this.#highWatermark.value, nowMs: this.#clock.nowMs(), keepWhole, recoveryPoint: this.#recoveryPoints, logger: this.#logger, crc32c: this.#crc32c })
  }

  /**
   * Waits for a checkpoint being written and for queued appends, fsyncs, writes the recovery point (so the next open
   * verifies nothing before it) and the active index, and closes every file.
   */
  close(): Promise<void> {
    this.#closed ??= this.#checkpoints.close().then(() => this.#recoveryPoints.close()).then(() => this.#log.close())
    return this.#closed
  }

  async delete(): Promise<void> {
    await this.close().catch(() => {})
    await this.#storage.removeDir(this.#dir)
  }

  async #appendAsLeader(batch: Uint8Array): Promise<AppendResult> {
    if (this.#log.failure) throw this.#log.failure
    const header = readBatchHeader(batch)
    const check = this.#producers.check(header)
    if (check.kind === 'duplicate') {
      return { baseOffset: check.baseOffset, lastOffset: check.lastOffset, logAppendTimeMs: this.#clock.nowMs(), logStartOffset: this.logStartOffset, duplicate: true }
    }
    const baseOffset = this.logEndOffset
    await this.#epochs.record(this.#leaderEpoch, baseOffset)
    patchBatch(batch, 0, baseOffset, this.#leaderEpoch)
    const placed = { ...header, baseOffset, partitionLeaderEpoch: this.#leaderEpoch }
    await this.#log.writeBatch(batch, placed)
    this.#producers.update(placed, baseOffset, this.#clock.nowMs())
    return { baseOffset, lastOffset: batchLastOffset(placed), logAppendTimeMs: this.#clock.nowMs(), logStartOffset: this.logStartOffset, duplicate: false }
  }

  async #appendAsFollower(batches: Uint8Array): Promise<{ firstOffset: number; logEndOffset: number }> {
    if (this.#log.failure) throw this.#log.failure
    const firstOffset = this.logEndOffset
    for (let at = 0; at < batches.length; ) {
      const lastBatchEpoch = this.logEndOffset > this.logStartOffset ? (this.#epochs.epochAt(this.logEndOffset - 1)?.epoch ?? -1) : -1
      const header = checkLeaderBatch(batches, at, this.logEndOffset, lastBatchEpoch, this.#crc32c)
      const epoch = header.partitionLeaderEpoch
      await this.#epochs.record(epoch, header.baseOffset)
      if (epoch > this.#leaderEpoch) this.#leaderEpoch = epoch
      const total = batchTotalBytes(header)
      await this.#log.writeBatch(batches.subarray(at, at + total), header)
      this.#producers.update(header, header.baseOffset, this.#clock.nowMs())
      at += total
    }
    return { firstOffset, logEndOffset: this.logEndOffset }
  }
}
