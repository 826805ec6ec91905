/**
 * @module PartitionLog: one partition's append-only log of record batches: offsets, durability (group commit),
 * dedupe, reads, retention and recovery; its leader epoch and leader-epoch cache; appends as a follower (the
 * leader's offsets and epochs kept) and truncation.
 * Seams for replication (Kafka splits these into Log and Partition): the log's own end and local durable end
 * (`logEndOffset`, `localDurableEnd`) versus the high watermark, which under `highWatermark: 'set-by-partition'`
 * only `advanceHighWatermark` moves (single node: it follows the local durable end).
 */
import { batchLastOffset, batchTotalBytes, patchBatch, ProtocolError, readBatchHeader, SamsaError, verifyBatch, type BatchHeader } from '@samsa/shared'
import type { Clock, Logger, Timer } from '../clock.js'
import { walkBatches } from './batch-walker.js'
import { GroupCommit } from './group-commit.js'
import { LeaderEpochCache, type EpochEntry } from './leader-epoch-cache.js'
import { findOffsetForTimestamp, readBatches } from './log-reader.js'
import { recoverLog, type RecoveryReport } from './log-recovery.js'
import { writeLogStartCheckpoint } from './log-start-checkpoint.js'
import { StorageFullError, TooManyOpenFilesError, type LogStorage } from './log-storage.js'
import { ProducerStateTable } from './producer-state.js'
import { ReadableBytes } from './readable-bytes.js'
import { segmentsToDelete } from './retention.js'
import { Segment } from './segment.js'
import { segmentIndexFor } from './log-reader.js'

export type { RecoveryReport } from './log-recovery.js'
export { LogCorruptionError } from './log-recovery.js'

export interface PartitionLogConfig {
  /** Roll before the active segment would exceed it; a batch larger than it still gets its own segment. */
  segmentBytes: number
  indexIntervalBytes: number
  /** null = keep forever. */
  retentionMs: number | null
  /** Per partition; null = no limit. */
  retentionBytes: number | null
  /** 'always' acknowledges after an fsync covering the batch (group commit); the others after the write (opt-in, weaker). */
  fsync: 'always' | 'interval' | 'never'
  fsyncIntervalMs: number
}

export const defaultPartitionLogConfig: PartitionLogConfig = {
  segmentBytes: 64 * 1024 * 1024,
  indexIntervalBytes: 4096,
  retentionMs: null,
  retentionBytes: null,
  fsync: 'always',
  fsyncIntervalMs: 1000,
}

export interface AppendResult {
  baseOffset: number
  lastOffset: number
  /** The broker's clock when the batch was appended (for a duplicate: when the resend was answered). */
  logAppendTimeMs: number
  logStartOffset: number
  duplicate: boolean
}

export interface ReadResult {
  records: Uint8Array
  highWatermark: number
  /** highWatermarkPosition when the read started: bytes that become readable later are the growth from here. */
  highWatermarkPosition: number
  logStartOffset: number
}

export interface PartitionLogArgs {
  storage: LogStorage
  dir: string
  config: PartitionLogConfig
  clock: Clock
  logger: Logger
  /** The epoch to lead with (default 0); the log's epoch is never below its leader-epoch cache's latest. */
  leaderEpoch?: number
  /**
   * 'follows-local-end' (default, a single node): the high watermark is the local durable end.
   * 'set-by-partition': only advanceHighWatermark moves it (replication: the minimum log end over the ISR).
   */
  highWatermark?: 'follows-local-end' | 'set-by-partition'
}

/** A group-commit fsync starts at the latest once this many acknowledgements wait for it. */
const MAX_WAITERS_BEFORE_SYNC = 256
const U32_MAX = 0xffff_ffff

/**
 * A KAFKA_STORAGE_ERROR for the client. Its message never carries the cause's text (which names files on the
 * broker's disk); the cause stays on the error for the broker's own log.
 */
const storageError = (message: string, cause?: unknown): SamsaError => {
  const e = new SamsaError('KAFKA_STORAGE_ERROR', message)
  if (cause !== undefined) Object.defineProperty(e, 'cause', { value: cause, enumerable: false })
  return e
}

/** Retriable storage conditions: nothing was written, the partition stays healthy and a resend can succeed. */
const retriableStorageError = (cause: unknown): SamsaError | null => {
  if (cause instanceof StorageFullError) return storageError('the broker\'s disk is full; retry once space is freed', cause)
  if (cause instanceof TooManyOpenFilesError) return storageError('the broker has too many open files; retry shortly', cause)
  return null
}

export class PartitionLog {
  readonly recoveryReport: RecoveryReport | null
  readonly #storage: LogStorage
  readonly #dir: string
  readonly #config: PartitionLogConfig
  readonly #clock: Clock
  readonly #logger: Logger
  /** The epoch this log stamps on the batches it appends as leader; ≥ #epochs.latestEpoch; only grows. */
  #leaderEpoch: number
  /** Every epoch of the log and its start offset; a batch at offset o carries #epochs.epochAt(o). */
  readonly #epochs: LeaderEpochCache
  /** False while #epochs differs from the leader-epoch checkpoint on disk: written before the next batch is. */
  #epochsStored: boolean
  readonly #hwFollowsLocalEnd: boolean
  /** Oldest first, contiguous; never empty; the last is the active segment, the only one written. */
  readonly #segments: Segment[]
  #producers: ProducerStateTable
  readonly #commit: GroupCommit
  /** Invariant: #logStartOffset ≤ #highWatermark ≤ #localDurableEnd ≤ logEndOffset; a segment boundary; only grows. */
  #logStartOffset: number
  /** Offsets below it are durable per the fsync policy: fsynced under 'always', written otherwise. */
  #localDurableEnd: number
  /** First offset consumers cannot see. Grows, except that a truncation below it lowers it. */
  #highWatermark: number
  readonly #listeners = new Set<(highWatermark: number) => void>()
  readonly #readable = new ReadableBytes()
  /** Tail of the serial queue of appends and retention passes (offsets are assigned in call order). */
  #queue: Promise<unknown> = Promise.resolve()
  /** Sticky: after a failed non-ENOSPC write or any failed fsync, every append rejects with it until reopened (R9). */
  #failure: SamsaError | null = null
  #closed = false
  /** Appends called but not yet past their write; the fsync of a burst starts when it drops to 0. */
  #queuedWrites = 0
  #syncTimer: Timer | null = null

  private constructor(args: PartitionLogArgs, recovered: Awaited<ReturnType<typeof recoverLog>>) {
    this.#storage = args.storage
    this.#dir = args.dir
    this.#config = args.config
    this.#clock = args.clock
    this.#logger = args.logger
    this.#epochs = recovered.epochs
    this.#epochsStored = true
    this.#leaderEpoch = Math.max(args.leaderEpoch ?? 0, recovered.epochs.latestEpoch)
    this.#hwFollowsLocalEnd = (args.highWatermark ?? 'follows-local-end') === 'follows-local-end'
    this.#segments = recovered.segments
    this.#producers = recovered.producers
    this.#logStartOffset = recovered.logStartOffset
    this.recoveryReport = recovered.report
    // Everything recovered was fsynced by open(); a partition that sets the high watermark starts it at the log start.
    this.#localDurableEnd = this.logEndOffset
    this.#highWatermark = this.#hwFollowsLocalEnd ? this.logEndOffset : this.#logStartOffset
    this.#commit = new GroupCommit(
      {
        writtenEnd: () => this.logEndOffset,
        sync: () => this.#active.file.sync(),
        onDurable: (end) => {
          if (this.#config.fsync === 'always') this.#advanceLocalDurableEnd(end)
        },
        onFailure: (e) => this.#fail(storageError('fsync of the partition log failed; the partition refuses appends until the broker restarts', e)),
      },
      this.logEndOffset,
    )
  }

  static async open(args: PartitionLogArgs): Promise<PartitionLog> {
    const recovered = await recoverLog({ storage: args.storage, dir: args.dir, indexIntervalBytes: args.config.indexIntervalBytes, logger: args.logger, leaderEpoch: args.leaderEpoch ?? 0 })
    try {
      // Bytes that survived a restart without a crash may still sit in the page cache: make them durable before exposing them.
      await recovered.segments.at(-1)!.file.sync()
      // The epoch to lead with starts at the log end; the checkpoint is current before any batch is appended.
      const epochs = recovered.epochs
      const changed = epochs.assign(Math.max(args.leaderEpoch ?? 0, epochs.latestEpoch), recovered.segments.at(-1)!.nextOffset)
      if (changed || !recovered.epochsStored) await epochs.write(args.storage, args.dir)
    } catch (e) {
      for (const segment of recovered.segments) await segment.file.close().catch(() => {})
      throw e
    }
    return new PartitionLog(args, recovered)
  }

  get logStartOffset(): number {
    return this.#logStartOffset
  }

  get highWatermark(): number {
    return this.#highWatermark
  }

  get logEndOffset(): number {
    return this.#active.nextOffset
  }

  /**
   * Bytes of the batches below the high watermark written since this log was opened. Only differences mean
   * something: fetch's minBytes waits until it has grown by the bytes it lacks.
   */
  get highWatermarkPosition(): number {
    return this.#readable.position
  }

  /** Offsets below it are durable on this node per its fsync policy (what acks=leader waits for). */
  get localDurableEnd(): number {
    return this.#localDurableEnd
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
    return this.#enqueue(async () => {
      if (!Number.isSafeInteger(epoch) || epoch < this.#leaderEpoch) {
        throw new SamsaError('FENCED_LEADER_EPOCH', `leader epoch ${epoch} is older than this log's ${this.#leaderEpoch}`, { leaderEpoch: this.#leaderEpoch })
      }
      this.#leaderEpoch = epoch
      await this.#recordEpoch(epoch, this.logEndOffset)
    })
  }

  /**
   * Moves the high watermark (under 'set-by-partition': the minimum log end over the ISR), never past the local
   * durable end and never back.
   */
  advanceHighWatermark(offset: number): void {
    this.#advanceHighWatermark(Math.min(offset, this.#localDurableEnd))
  }

  /** Appends a batch the caller already checked with verifyBatch; patches its baseOffset and leader epoch in place. */
  async append(batch: Uint8Array): Promise<AppendResult> {
    this.#queuedWrites++
    let result: AppendResult
    try {
      result = await this.#enqueue(() => this.#write(batch))
    } finally {
      this.#queuedWrites--
      if (this.#queuedWrites === 0) this.#commit.kick()
    }
    await this.#durable(result.lastOffset + 1)
    return result
  }

  /** Waits until offsets below `end` are durable per the fsync policy. */
  async #durable(end: number): Promise<void> {
    if (this.#config.fsync !== 'always') return
    // With more writes queued behind this one, let them join the same fsync (the last one starts it),
    // unless many waiters are already queued: then start now so a steady stream cannot starve fsync.
    const kick = this.#queuedWrites === 0 || this.#commit.waiting >= MAX_WAITERS_BEFORE_SYNC
    try {
      await this.#commit.register(end, kick)
    } catch (e) {
      throw e instanceof SamsaError ? e : (this.#failure ?? storageError('fsync failed', e))
    }
  }

  /**
   * Appends batches fetched from the leader, unchanged: their offsets and leader epochs are kept. Each batch must
   * pass its CRC, start at this log's end and carry an epoch not older than the last one (a newer epoch is recorded
   * in the leader-epoch checkpoint before its first batch is written). Resolves once durable per the fsync policy.
   * CORRUPT_MESSAGE for a batch that fails a check; nothing after it is written.
   */
  async appendAsFollower(batches: Uint8Array): Promise<{ firstOffset: number; logEndOffset: number }> {
    this.#queuedWrites++
    let result: { firstOffset: number; logEndOffset: number }
    try {
      result = await this.#enqueue(() => this.#writeAsFollower(batches))
    } finally {
      this.#queuedWrites--
      if (this.#queuedWrites === 0) this.#commit.kick()
    }
    await this.#durable(result.logEndOffset)
    return result
  }

  /**
   * Cuts the log so that it ends before `offset` (a batch holding `offset` goes whole): segments, index, producer
   * state and leader-epoch cache follow, in that order, so a crash midway leaves a log recovery accepts. The high
   * watermark is lowered to the new end if it was above. Refuses an offset below the log start. Resolves with the new
   * log end.
   */
  truncateTo(offset: number): Promise<number> {
    return this.#enqueue(async () => {
      if (!Number.isSafeInteger(offset) || offset < this.#logStartOffset) {
        throw new SamsaError('OFFSET_OUT_OF_RANGE', `cannot truncate to ${offset}: below the log start ${this.#logStartOffset}`, { logStartOffset: this.#logStartOffset, logEndOffset: this.logEndOffset })
      }
      if (this.#failure) throw this.#failure
      if (offset >= this.logEndOffset) return this.logEndOffset
      await this.#commit.waitFor(this.logEndOffset) // no fsync waiter is left for offsets about to disappear
      await this.#cutSegments(offset)
      const end = this.logEndOffset
      this.#producers = await rebuildProducerState(this.#segments)
      this.#commit.truncatedTo(end)
      this.#localDurableEnd = Math.min(this.#localDurableEnd, end)
      if (this.#highWatermark > end) this.#highWatermark = end
      this.#readable.truncatedTo(end)
      if (this.#epochs.truncateFromEnd(end)) this.#epochsStored = false
      await this.#storeEpochs()
      this.#logger.info({ dir: this.#dir, offset, logEndOffset: end }, 'truncated the log')
      return end
    })
  }

  async read(offset: number, maxBytes: number): Promise<ReadResult> {
    const highWatermark = this.#highWatermark
    const highWatermarkPosition = this.#readable.position
    const logStartOffset = this.#logStartOffset
    if (!Number.isSafeInteger(offset) || offset < logStartOffset || offset > highWatermark) {
      // Offsets between the high watermark and the log end are not readable yet: the range named is up to the high watermark.
      throw new SamsaError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside the readable range [${logStartOffset}, ${highWatermark}]`, {
        logStartOffset,
        logEndOffset: highWatermark,
        highWatermark,
      })
    }
    try {
      const records = await readBatches(this.#segments, offset, maxBytes, highWatermark)
      return { records, highWatermark, highWatermarkPosition, logStartOffset }
    } catch (e) {
      if (offset < this.#logStartOffset) return this.read(offset, maxBytes) // retention removed the segment meanwhile
      throw e
    }
  }

  async offsetForTimestamp(timestampMs: number): Promise<{ offset: number; timestamp: number } | null> {
    return findOffsetForTimestamp(this.#segments, this.#logStartOffset, this.#highWatermark, timestampMs)
  }

  onHighWatermark(listener: (highWatermark: number) => void): () => void {
    const wrapped = (hw: number) => listener(hw)
    this.#listeners.add(wrapped)
    return () => this.#listeners.delete(wrapped)
  }

  /** Deletes whole expired segments (never the active one, never above the high watermark); returns how many. */
  applyRetention(): Promise<number> {
    return this.#enqueue(async () => {
      let n = segmentsToDelete(
        this.#segments.map((s) => ({ baseOffset: s.baseOffset, sizeBytes: s.sizeBytes, maxTimestamp: s.maxTimestamp })),
        this.#clock.nowMs(),
        this.#config,
      )
      while (n > 0 && this.#segments[n]!.baseOffset > this.#highWatermark) n--
      if (n === 0) return 0
      const newStart = this.#segments[n]!.baseOffset
      await writeLogStartCheckpoint(this.#storage, this.#dir, newStart) // first, so a crash mid-way finishes on open
      this.#logStartOffset = newStart
      for (const s of this.#segments.splice(0, n)) {
        await s.file.close()
        await this.#storage.remove(s.indexPath)
        await this.#storage.remove(s.logPath)
      }
      if (this.#epochs.truncateFromStart(newStart)) this.#epochsStored = false
      await this.#storeEpochs().catch((e: unknown) => this.#logger.warn({ dir: this.#dir, err: String(e) }, 'could not write the leader-epoch checkpoint after retention; it is written with the next batch'))
      this.#logger.info({ dir: this.#dir, segments: n, logStartOffset: newStart }, 'retention deleted segments')
      return n
    })
  }

  /** Waits for queued appends, fsyncs, writes the active index and closes every file. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#queue.catch(() => {})
    if (this.#syncTimer !== null) this.#clock.clearTimeout(this.#syncTimer)
    this.#syncTimer = null
    try {
      if (this.#failure === null) {
        await this.#commit.waitFor(this.logEndOffset)
        this.#advanceLocalDurableEnd(this.logEndOffset)
        await this.#active.writeIndex(this.#storage).catch((e: unknown) => this.#logger.warn({ err: String(e) }, 'could not write the active index on close'))
      }
    } finally {
      this.#commit.abort(new Error('partition log closed'))
      for (const s of this.#segments) await s.file.close().catch(() => {})
    }
  }

  async delete(): Promise<void> {
    await this.close().catch(() => {})
    await this.#storage.removeDir(this.#dir)
  }

  get #active(): Segment {
    return this.#segments.at(-1)!
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.#closed) throw new Error('the partition log is closed')
      return task()
    })
    this.#queue = run.catch(() => {})
    return run
  }

  async #write(batch: Uint8Array): Promise<AppendResult> {
    if (this.#failure) throw this.#failure
    const header = readBatchHeader(batch)
    const check = this.#producers.check(header)
    if (check.kind === 'duplicate') {
      return { baseOffset: check.baseOffset, lastOffset: check.lastOffset, logAppendTimeMs: this.#clock.nowMs(), logStartOffset: this.#logStartOffset, duplicate: true }
    }
    const baseOffset = this.logEndOffset
    await this.#recordEpoch(this.#leaderEpoch, baseOffset)
    patchBatch(batch, 0, baseOffset, this.#leaderEpoch)
    const placed = { ...header, baseOffset, partitionLeaderEpoch: this.#leaderEpoch }
    await this.#writeBatch(batch, placed)
    return { baseOffset, lastOffset: batchLastOffset(placed), logAppendTimeMs: this.#clock.nowMs(), logStartOffset: this.#logStartOffset, duplicate: false }
  }

  /** Writes one placed batch at the log end (rolling first when needed) and records it in the segment, producer state and readable bytes. */
  async #writeBatch(batch: Uint8Array, placed: BatchHeader): Promise<void> {
    let segment = this.#active
    // Roll when the segment would pass segmentBytes, or when the index's u32 relative offset or position would overflow.
    const tooBig = segment.sizeBytes + batch.length > Math.min(this.#config.segmentBytes, U32_MAX)
    const tooManyOffsets = this.logEndOffset + placed.lastOffsetDelta - segment.baseOffset >= U32_MAX
    if (segment.sizeBytes > 0 && (tooBig || tooManyOffsets)) segment = await this.#roll()
    const position = segment.sizeBytes
    try {
      await segment.file.append(batch)
    } catch (e) {
      throw await this.#undoWrite(segment, position, e)
    }
    segment.noteBatch(placed, position, batch.length, this.#config.indexIntervalBytes)
    this.#producers.update(placed, placed.baseOffset)
    this.#readable.written(batchLastOffset(placed) + 1, batch.length)
    if (this.#config.fsync !== 'always') {
      this.#advanceLocalDurableEnd(this.logEndOffset)
      if (this.#config.fsync === 'interval') this.#scheduleSync()
    }
  }

  async #writeAsFollower(batches: Uint8Array): Promise<{ firstOffset: number; logEndOffset: number }> {
    if (this.#failure) throw this.#failure
    const firstOffset = this.logEndOffset
    for (let at = 0; at < batches.length; ) {
      let header: BatchHeader
      try {
        header = verifyBatch(batches, at, batches.length)
      } catch (e) {
        if (e instanceof ProtocolError) throw new SamsaError('CORRUPT_MESSAGE', `batch at byte ${at} of the leader's bytes: ${e.message}`)
        throw e
      }
      const total = batchTotalBytes(header)
      if (header.baseOffset !== this.logEndOffset) {
        throw new SamsaError('CORRUPT_MESSAGE', `the leader's batch starts at offset ${header.baseOffset}; this log ends at ${this.logEndOffset}`)
      }
      const epoch = header.partitionLeaderEpoch
      if (epoch < this.#epochs.latestEpoch) {
        throw new SamsaError('CORRUPT_MESSAGE', `the leader's batch at offset ${header.baseOffset} has leader epoch ${epoch}, older than this log's latest ${this.#epochs.latestEpoch}`)
      }
      await this.#recordEpoch(epoch, header.baseOffset)
      if (epoch > this.#leaderEpoch) this.#leaderEpoch = epoch
      await this.#writeBatch(batches.subarray(at, at + total), header)
      at += total
    }
    return { firstOffset, logEndOffset: this.logEndOffset }
  }

  /** Makes `epoch` start at `startOffset` in the cache unless it is already there, and the checkpoint current; before any batch of it is written. */
  async #recordEpoch(epoch: number, startOffset: number): Promise<void> {
    if (this.#epochs.assign(epoch, startOffset)) this.#epochsStored = false
    await this.#storeEpochs()
  }

  async #storeEpochs(): Promise<void> {
    if (this.#epochsStored) return
    try {
      await this.#epochs.write(this.#storage, this.#dir)
    } catch (e) {
      throw retriableStorageError(e) ?? storageError('could not write the leader-epoch checkpoint', e)
    }
    this.#epochsStored = true
  }

  /** Cuts every segment after the one holding `offset`, and that one at the batch holding `offset` (the new active segment). */
  async #cutSegments(offset: number): Promise<void> {
    const keep = segmentIndexFor(this.#segments, offset)
    for (const s of this.#segments.splice(keep + 1).reverse()) {
      await s.file.close()
      await this.#storage.remove(s.logPath)
      await this.#storage.remove(s.indexPath)
    }
    const segment = this.#active
    const at = await segment.locate(offset)
    const position = at ? at.position : segment.sizeBytes
    try {
      await segment.file.truncate(position)
      await segment.file.sync()
    } catch (e) {
      throw this.#fail(storageError('could not truncate the partition log; the partition refuses appends until the broker restarts', e))
    }
    await this.#storage.remove(segment.indexPath) // rebuilt from the file when this segment is next sealed or opened
    segment.truncatedTo(position, at ? at.header.baseOffset : segment.nextOffset)
  }

  /** Cuts a failed write back off the file; disk full is retriable, anything else is sticky. Returns the error to throw. */
  async #undoWrite(segment: Segment, position: number, cause: unknown): Promise<SamsaError> {
    try {
      if (segment.sizeBytes !== position) await segment.file.truncate(position)
    } catch (e) {
      return this.#fail(storageError('could not cut a failed write off the partition log; the partition refuses appends until the broker restarts', e))
    }
    return retriableStorageError(cause) ?? this.#fail(storageError('a write to the partition log failed; the partition refuses appends until the broker restarts', cause))
  }

  /** Seals the active segment (fsync + index, R10) and starts a new one at logEndOffset. */
  async #roll(): Promise<Segment> {
    const old = this.#active
    try {
      await old.file.sync()
    } catch (e) {
      throw retriableStorageError(e) ?? this.#fail(storageError('fsync of the partition log failed while rolling a segment; the partition refuses appends until the broker restarts', e))
    }
    await old.writeIndex(this.#storage).catch((e: unknown) => this.#logger.warn({ file: old.indexPath, err: String(e) }, 'could not write a segment index; it is rebuilt on open'))
    let next: Segment
    try {
      next = await Segment.create(this.#storage, this.#dir, old.nextOffset)
    } catch (e) {
      throw retriableStorageError(e) ?? this.#fail(storageError('could not create a new segment; the partition refuses appends until the broker restarts', e))
    }
    this.#segments.push(next)
    this.#logger.debug({ dir: this.#dir, baseOffset: next.baseOffset }, 'rolled a new segment')
    return next
  }

  #scheduleSync(): void {
    if (this.#syncTimer !== null || this.#closed) return
    this.#syncTimer = this.#clock.setTimeout(() => {
      this.#syncTimer = null
      this.#commit.waitFor(this.logEndOffset).catch(() => {})
    }, this.#config.fsyncIntervalMs)
  }

  #fail(error: SamsaError): SamsaError {
    if (this.#failure === null) {
      this.#failure = error
      this.#logger.error({ dir: this.#dir, err: error.message, cause: String((error as { cause?: unknown }).cause ?? '') }, 'partition log failed; refusing appends until reopened')
    }
    return this.#failure
  }

  /** The fsync policy made offsets below `end` durable here; on a single node that is the high watermark too. */
  #advanceLocalDurableEnd(end: number): void {
    if (end <= this.#localDurableEnd) return
    this.#localDurableEnd = end
    if (this.#hwFollowsLocalEnd) this.#advanceHighWatermark(end)
  }

  #advanceHighWatermark(end: number): void {
    if (end <= this.#highWatermark) return
    this.#highWatermark = end
    this.#readable.advancedTo(end)
    for (const l of [...this.#listeners]) {
      try {
        l(end)
      } catch (e) {
        this.#logger.error({ err: String(e) }, 'high watermark listener threw')
      }
    }
  }
}

/** Producer state from every batch header of the log (after a truncation cut batches it remembered). */
async function rebuildProducerState(segments: readonly Segment[]): Promise<ProducerStateTable> {
  const producers = new ProducerStateTable()
  for (const segment of segments) {
    for await (const item of walkBatches(segment.file, 0, { chunkBytes: 64 * 1024 })) {
      if (item.kind === 'damage') throw storageError(`could not read ${segment.logPath} back after a truncation: ${item.reason}`)
      producers.update(item.header, item.header.baseOffset)
    }
  }
  return producers
}
