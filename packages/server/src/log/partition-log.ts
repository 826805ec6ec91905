/** @module PartitionLog: one partition's append-only log of record batches: offsets, durability (group commit), dedupe, reads, retention and recovery. */
import { batchLastOffset, patchBatch, readBatchHeader, SamsaError } from '@samsa/shared'
import type { Clock, Logger, Timer } from '../clock.js'
import { GroupCommit } from './group-commit.js'
import { findOffsetForTimestamp, readBatches } from './log-reader.js'
import { recoverLog, type RecoveryReport } from './log-recovery.js'
import { writeLogStartCheckpoint } from './log-start-checkpoint.js'
import { StorageFullError, TooManyOpenFilesError, type LogStorage } from './log-storage.js'
import type { ProducerStateTable } from './producer-state.js'
import { segmentsToDelete } from './retention.js'
import { Segment } from './segment.js'

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
  leaderEpoch?: number
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
  readonly #leaderEpoch: number
  /** Oldest first, contiguous; never empty; the last is the active segment, the only one written. */
  readonly #segments: Segment[]
  readonly #producers: ProducerStateTable
  readonly #commit: GroupCommit
  /** Invariant: #logStartOffset ≤ #highWatermark ≤ logEndOffset; a segment boundary; only grows. */
  #logStartOffset: number
  /** First offset consumers cannot see: the durable end under fsync 'always', the written end otherwise. Only grows. */
  #highWatermark: number
  readonly #listeners = new Set<(highWatermark: number) => void>()
  /** Batch bytes written since open: a byte position in the log (not a file position), for measuring growth. */
  #writtenBytes = 0
  /** #writtenBytes at the high watermark (every batch below it); only grows. */
  #highWatermarkPosition = 0
  /** (end offset, #writtenBytes after it) of each batch written at or above the high watermark, oldest first. */
  readonly #aboveHighWatermark: { endOffset: number; endBytes: number }[] = []
  #aboveHead = 0
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
    this.#leaderEpoch = args.leaderEpoch ?? 0
    this.#segments = recovered.segments
    this.#producers = recovered.producers
    this.#logStartOffset = recovered.logStartOffset
    this.recoveryReport = recovered.report
    this.#highWatermark = this.logEndOffset
    this.#commit = new GroupCommit(
      {
        writtenEnd: () => this.logEndOffset,
        sync: () => this.#active.file.sync(),
        onDurable: (end) => {
          if (this.#config.fsync === 'always') this.#advanceHighWatermark(end)
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
    return this.#highWatermarkPosition
  }

  get leaderEpoch(): number {
    return this.#leaderEpoch
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
    if (this.#config.fsync === 'always') {
      // With more writes queued behind this one, let them join the same fsync (the last one starts it),
      // unless many waiters are already queued: then start now so a steady stream cannot starve fsync.
      const kick = this.#queuedWrites === 0 || this.#commit.waiting >= MAX_WAITERS_BEFORE_SYNC
      try {
        await this.#commit.register(result.lastOffset + 1, kick)
      } catch (e) {
        throw e instanceof SamsaError ? e : (this.#failure ?? storageError('fsync failed', e))
      }
    }
    return result
  }

  async read(offset: number, maxBytes: number): Promise<ReadResult> {
    const highWatermark = this.#highWatermark
    const highWatermarkPosition = this.#highWatermarkPosition
    const logStartOffset = this.#logStartOffset
    if (!Number.isSafeInteger(offset) || offset < logStartOffset || offset > highWatermark) {
      throw new SamsaError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside the readable range [${logStartOffset}, ${highWatermark}]`, {
        logStartOffset,
        logEndOffset: highWatermark,
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
        this.#advanceHighWatermark(this.logEndOffset)
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
    let segment = this.#active
    // Roll when the segment would pass segmentBytes, or when the index's u32 relative offset or position would overflow.
    const tooBig = segment.sizeBytes + batch.length > Math.min(this.#config.segmentBytes, U32_MAX)
    const tooManyOffsets = this.logEndOffset + header.lastOffsetDelta - segment.baseOffset >= U32_MAX
    if (segment.sizeBytes > 0 && (tooBig || tooManyOffsets)) segment = await this.#roll()
    const baseOffset = this.logEndOffset
    patchBatch(batch, 0, baseOffset, this.#leaderEpoch)
    const position = segment.sizeBytes
    try {
      await segment.file.append(batch)
    } catch (e) {
      throw await this.#undoWrite(segment, position, e)
    }
    const placed = { ...header, baseOffset, partitionLeaderEpoch: this.#leaderEpoch }
    segment.noteBatch(placed, position, batch.length, this.#config.indexIntervalBytes)
    this.#producers.update(placed, baseOffset)
    this.#writtenBytes += batch.length
    this.#aboveHighWatermark.push({ endOffset: batchLastOffset(placed) + 1, endBytes: this.#writtenBytes })
    if (this.#config.fsync !== 'always') {
      this.#advanceHighWatermark(this.logEndOffset)
      if (this.#config.fsync === 'interval') this.#scheduleSync()
    }
    return { baseOffset, lastOffset: batchLastOffset(placed), logAppendTimeMs: this.#clock.nowMs(), logStartOffset: this.#logStartOffset, duplicate: false }
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

  #advanceHighWatermark(end: number): void {
    if (end <= this.#highWatermark) return
    this.#highWatermark = end
    const above = this.#aboveHighWatermark
    while (this.#aboveHead < above.length && above[this.#aboveHead]!.endOffset <= end) this.#highWatermarkPosition = above[this.#aboveHead++]!.endBytes
    if (this.#aboveHead > 1024 && this.#aboveHead * 2 > above.length) {
      above.splice(0, this.#aboveHead)
      this.#aboveHead = 0
    }
    for (const l of [...this.#listeners]) {
      try {
        l(end)
      } catch (e) {
        this.#logger.error({ err: String(e) }, 'high watermark listener threw')
      }
    }
  }
}
