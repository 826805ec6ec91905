/**
 * @module Log: one partition's segments on storage (Kafka's Log): writing placed batches at the end, reads up to a
 * bound the caller gives, cutting the tail, deleting expired segments, and the local durable end (group commit per
 * the fsync policy). It knows nothing of leaders, producers or the high watermark: PartitionLog (the partition) does.
 * Mutations (writeBatch, cutTo, deleteExpiredSegments, swapSealedSegment) run only inside exclusive(), which orders
 * them. Only the log cleaner (log-cleaner.ts) ever replaces a sealed segment, with one holding the same offset range.
 */
import { batchLastOffset, crc32c as jsCrc32c, SamsaError, type BatchHeader, type Crc32cFn } from '@samsa/shared'
import type { Clock, Logger, Timer } from '../clock.js'
import { walkBatches } from './batch-walker.js'
import { GroupCommit } from './group-commit.js'
import { findOffsetForTimestamp, readBatches, segmentIndexFor } from './log-reader.js'
import { recoverLog, type BatchRules, type RecoveryReport } from './log-recovery.js'
import { LOG_START_CHECKPOINT, writeOffsetCheckpoint } from './offset-checkpoint.js'
import type { RecoveryPoint, SegmentMark } from './recovery-point.js'
import type { LogStorage } from './log-storage.js'
import type { PartitionLogConfig } from './partition-log-config.js'
import { ReadableBytes } from './readable-bytes.js'
import { ReadGate } from './read-gate.js'
import { segmentsToDelete } from './retention.js'
import { Segment } from './segment.js'
import { retriableStorageError, storageError } from './storage-errors.js'
import { TailCache, type TailCacheBudget } from './tail-cache.js'

export interface LogArgs {
  readonly storage: LogStorage
  readonly dir: string
  readonly config: PartitionLogConfig
  readonly clock: Clock
  readonly logger: Logger
  /** The broker's budget for every log's TailCache (default: this log's own 1 MiB). */
  readonly tailCache?: TailCacheBudget
  /** CRC-32C for recovery and recovery points (default: the pure-JS one). */
  readonly crc32c?: Crc32cFn
}

/** Bytes of the batches last written that reads are served from memory (TailCache). */
const TAIL_CACHE_BYTES = 1 << 20
/** A group-commit fsync starts at the latest once this many acknowledgements wait for it. */
const MAX_WAITERS_BEFORE_SYNC = 256
const U32_MAX = 0xffff_ffff

export class Log {
  readonly recoveryReport: RecoveryReport | null
  /** The recovery point's offset when the open resumed from it (nothing below it was scanned); null: all was verified. */
  readonly resumedFrom: number | null
  /** Bytes the open verified batch by batch. */
  readonly verifiedBytes: number
  /** Bytes written, as a position that follows the high watermark the partition reports (see ReadableBytes). */
  readonly readable = new ReadableBytes()
  readonly #args: LogArgs
  /** Oldest first, contiguous; never empty; the last is the active segment, the only one written. */
  readonly #segments: Segment[]
  readonly #commit: GroupCommit
  /** Invariant: #logStartOffset ≤ #localDurableEnd ≤ logEndOffset; a segment boundary; only grows. */
  #logStartOffset: number
  /** Offsets below it are durable per the fsync policy: fsynced under 'always', written otherwise. */
  #localDurableEnd: number
  readonly #durableListeners = new Set<(end: number) => void>()
  readonly #writtenListeners = new Set<(end: number) => void>()
  /** Tail of the serial queue of mutations (offsets are assigned in call order). */
  #queue: Promise<unknown> = Promise.resolve()
  /** Sticky: after a failed non-ENOSPC write or any failed fsync, every write rejects with it until reopened (R9). */
  #failure: SamsaError | null = null
  #closed = false
  /** Writes called but not yet past their write; the fsync of a burst starts when it drops to 0. */
  #queuedWrites = 0
  #syncTimer: Timer | null = null
  readonly #tail: TailCache
  /** Storage reads of segments; a segment swap closes it (no read sees a file replaced under it). */
  readonly #reads = new ReadGate()

  private constructor(args: LogArgs, recovered: Awaited<ReturnType<typeof recoverLog>>) {
    this.#args = args
    this.#tail = new TailCache(TAIL_CACHE_BYTES, args.tailCache)
    this.#segments = recovered.segments
    this.#logStartOffset = recovered.logStartOffset
    this.recoveryReport = recovered.report
    this.resumedFrom = recovered.resumedFrom
    this.verifiedBytes = recovered.verifiedBytes
    this.#localDurableEnd = this.logEndOffset
    this.#commit = new GroupCommit(
      {
        writtenEnd: () => this.logEndOffset,
        sync: () => this.#active.file.sync(),
        onDurable: (end) => {
          if (args.config.fsync === 'always') this.#advanceLocalDurableEnd(end)
        },
        onFailure: (e) => this.fail(storageError('fsync of the partition log failed; the partition refuses appends until the broker restarts', e)),
      },
      this.logEndOffset,
    )
  }

  /**
   * Recovers the directory (each batch also passes `rules`; damage in place per `onDamage`; from `recoveryPoint` when
   * it matches the segments) and makes everything in it durable.
   */
  static async open(args: LogArgs, rules: BatchRules, onDamage: 'refuse' | 'cut' = 'refuse', recoveryPoint: RecoveryPoint | null = null): Promise<Log> {
    const recovered = await recoverLog({ storage: args.storage, dir: args.dir, indexIntervalBytes: args.config.indexIntervalBytes, logger: args.logger, rules, onDamage, recoveryPoint, ...(args.crc32c && { crc32c: args.crc32c }) })
    try {
      // Bytes that survived a restart without a crash may still sit in the page cache: make them durable before exposing them.
      await recovered.segments.at(-1)!.file.sync()
    } catch (e) {
      for (const segment of recovered.segments) await segment.file.close().catch(() => {})
      throw e
    }
    return new Log(args, recovered)
  }

  get logStartOffset(): number {
    return this.#logStartOffset
  }

  get logEndOffset(): number {
    return this.#active.nextOffset
  }

  /** Offsets below it are durable on this node per its fsync policy. */
  get localDurableEnd(): number {
    return this.#localDurableEnd
  }

  get failure(): SamsaError | null {
    return this.#failure
  }

  /** Calls listener with each new local durable end; returns the unregister function. */
  onLocalDurableEnd(listener: (end: number) => void): () => void {
    this.#durableListeners.add(listener)
    return () => void this.#durableListeners.delete(listener)
  }

  /** Calls listener with each new log end once its batch is written (before any fsync); returns the unregister function. */
  onWritten(listener: (end: number) => void): () => void {
    this.#writtenListeners.add(listener)
    return () => void this.#writtenListeners.delete(listener)
  }

  /** Runs task after every earlier one (rejects once closed). */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.#closed) throw new Error('the partition log is closed')
      return task()
    })
    this.#queue = run.catch(() => {})
    return run
  }

  /** exclusive() for a task that writes: a burst of them shares one fsync (the last to finish its write starts it). */
  async exclusiveWrite<T>(task: () => Promise<T>): Promise<T> {
    this.#queuedWrites++
    try {
      return await this.exclusive(task)
    } finally {
      this.#queuedWrites--
      if (this.#queuedWrites === 0) this.#commit.kick()
    }
  }

  /** Waits until offsets below `end` are durable per the fsync policy. */
  async durable(end: number): Promise<void> {
    if (this.#args.config.fsync !== 'always') return
    // With more writes queued behind this one, let them join the same fsync (the last one starts it),
    // unless many waiters are already queued: then start now so a steady stream cannot starve fsync.
    const kick = this.#queuedWrites === 0 || this.#commit.waiting >= MAX_WAITERS_BEFORE_SYNC
    try {
      await this.#commit.register(end, kick)
    } catch (e) {
      throw e instanceof SamsaError ? e : (this.#failure ?? storageError('fsync failed', e))
    }
  }

  /** Whole batches from the one holding offset, all below `upTo` (see readBatches). */
  read(offset: number, maxBytes: number, upTo: number): Promise<Uint8Array> {
    const cached = offset < upTo ? this.#tail.read(offset, maxBytes, upTo) : null
    return cached ? Promise.resolve(cached) : this.#reads.run(() => readBatches(this.#segments, offset, maxBytes, upTo))
  }

  offsetForTimestamp(timestampMs: number, upTo: number): Promise<{ offset: number; timestamp: number } | null> {
    return this.#reads.run(() => findOffsetForTimestamp(this.#segments, this.#logStartOffset, upTo, timestampMs))
  }

  /** Inside exclusive(): writes one placed batch (its offset = logEndOffset) at the end, rolling first when needed. */
  async writeBatch(batch: Uint8Array, placed: BatchHeader): Promise<void> {
    if (this.#failure) throw this.#failure
    let segment = this.#active
    // Roll when the segment would pass segmentBytes, or when the index's u32 relative offset or position would overflow.
    const tooBig = segment.sizeBytes + batch.length > Math.min(this.#args.config.segmentBytes, U32_MAX)
    const tooManyOffsets = this.logEndOffset + placed.lastOffsetDelta - segment.baseOffset >= U32_MAX
    if (segment.sizeBytes > 0 && (tooBig || tooManyOffsets)) {
      this.#tail.clear()
      segment = await this.#roll()
    }
    const position = segment.sizeBytes
    try {
      await segment.file.append(batch)
    } catch (e) {
      throw await this.#undoWrite(segment, position, e)
    }
    segment.noteBatch(placed, position, batch.length, this.#args.config.indexIntervalBytes)
    this.#tail.written(batch, placed)
    this.readable.written(batchLastOffset(placed) + 1, batch.length)
    if (this.#args.config.fsync !== 'always') {
      this.#advanceLocalDurableEnd(this.logEndOffset)
      if (this.#args.config.fsync === 'interval') this.#scheduleSync()
    }
    const end = this.logEndOffset
    for (const l of [...this.#writtenListeners]) l(end)
  }

  /**
   * Inside exclusive(): cuts the log to end before `offset` (the batch holding it goes whole), durably: later segments
   * are removed newest first, then the one holding it is truncated and synced. Returns the new log end.
   */
  async cutTo(offset: number): Promise<number> {
    if (this.#failure) throw this.#failure
    if (offset >= this.logEndOffset) return this.logEndOffset
    this.#tail.clear()
    await this.#commit.waitFor(this.logEndOffset) // no fsync waiter is left for offsets about to disappear
    const { storage } = this.#args
    for (const s of this.#segments.splice(segmentIndexFor(this.#segments, offset) + 1).reverse()) {
      await s.file.close()
      await storage.remove(s.logPath)
      await storage.remove(s.indexPath)
    }
    const segment = this.#active
    const at = await segment.locate(offset)
    const position = at ? at.position : segment.sizeBytes
    try {
      await segment.file.truncate(position)
      await segment.file.sync()
    } catch (e) {
      throw this.fail(storageError('could not truncate the partition log; the partition refuses appends until the broker restarts', e))
    }
    await storage.remove(segment.indexPath) // rebuilt from the file when this segment is next sealed or opened
    segment.truncatedTo(position, at ? at.header.baseOffset : segment.nextOffset)
    const end = this.logEndOffset
    this.#commit.truncatedTo(end)
    this.#localDurableEnd = Math.min(this.#localDurableEnd, end)
    this.readable.truncatedTo(end)
    return end
  }

  /**
   * Inside exclusive(): deletes whole expired segments (never the active one, none holding offsets at or above
   * `upTo`), after making the new log start durable. Returns how many.
   */
  async deleteExpiredSegments(upTo: number): Promise<number> {
    const { storage, dir, clock, config, logger } = this.#args
    let n = segmentsToDelete(
      this.#segments.map((s) => ({ baseOffset: s.baseOffset, sizeBytes: s.sizeBytes, maxTimestamp: s.maxTimestamp })),
      clock.nowMs(),
      config,
    )
    while (n > 0 && this.#segments[n]!.baseOffset > upTo) n--
    if (n === 0) return 0
    const newStart = this.#segments[n]!.baseOffset
    await writeOffsetCheckpoint(storage, dir, LOG_START_CHECKPOINT, newStart) // first, so a crash mid-way finishes on open
    this.#logStartOffset = newStart
    for (const s of this.#segments.splice(0, n)) {
      await s.file.close()
      await storage.remove(s.indexPath)
      await storage.remove(s.logPath)
    }
    logger.info({ dir, segments: n, logStartOffset: newStart }, 'retention deleted segments')
    return n
  }

  /** The sealed segments (every one but the active), oldest first: the log cleaner reads them outside exclusive(). */
  sealedSegments(): readonly Segment[] {
    return this.#segments.slice(0, -1)
  }

  /**
   * Inside exclusive(): when the sealed segment based at `baseOffset` is still there with `bytes` bytes (retention or a
   * cut may have removed it meanwhile), runs `install` (which puts the cleaned file in its place on storage) with no
   * storage read in flight (ReadGate), and serves the segment it returns instead; returns whether it did. The replaced
   * segment's file is closed.
   */
  async swapSealedSegment(baseOffset: number, bytes: number, install: () => Promise<Segment>): Promise<boolean> {
    if (this.#failure) throw this.#failure
    const i = this.#segments.findIndex((s) => s.baseOffset === baseOffset)
    const old = this.#segments[i]
    if (old === undefined || i === this.#segments.length - 1 || old.sizeBytes !== bytes) return false
    await this.#reads.closed(async () => {
      this.#segments[i] = await install()
    })
    await old.file.close().catch(() => {})
    return true
  }

  /**
   * Inside exclusive(): makes every written byte durable (an fsync whatever the policy) and the active segment's index
   * current on storage, then returns each segment's marks for a recovery point at logEndOffset.
   */
  async markRecoveryPoint(): Promise<SegmentMark[]> {
    if (this.#failure) throw this.#failure
    await this.#commit.waitFor(this.logEndOffset)
    await this.#active.writeIndex(this.#args.storage)
    return this.#segments.map((s) => {
      const index = s.index.serialize()
      return { baseOffset: s.baseOffset, bytes: s.sizeBytes, nextOffset: s.nextOffset, maxTimestamp: s.maxTimestamp, indexCrc: (this.#args.crc32c ?? jsCrc32c)(index, 0, index.length) }
    })
  }

  /** Every batch header, oldest first (to rebuild state after a cut). */
  async *headers(): AsyncGenerator<BatchHeader> {
    for (const segment of this.#segments) {
      for await (const item of walkBatches(segment.file, 0, { chunkBytes: 64 * 1024 })) {
        if (item.kind === 'damage') throw storageError(`could not read ${segment.logPath} back: ${item.reason}`)
        yield item.header
      }
    }
  }

  /** Makes `error` the sticky failure (the first one wins) and returns it. */
  fail(error: SamsaError): SamsaError {
    if (this.#failure === null) {
      this.#failure = error
      this.#args.logger.error({ dir: this.#args.dir, err: error.message, cause: String((error as { cause?: unknown }).cause ?? '') }, 'partition log failed; refusing appends until reopened')
    }
    return this.#failure
  }

  /** Waits for queued work, fsyncs, writes the active index and closes every file. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#queue.catch(() => {})
    this.#tail.clear() // after the last queued write: its bytes go back to the broker's budget
    if (this.#syncTimer !== null) this.#args.clock.clearTimeout(this.#syncTimer)
    this.#syncTimer = null
    try {
      if (this.#failure === null) {
        await this.#commit.waitFor(this.logEndOffset)
        this.#advanceLocalDurableEnd(this.logEndOffset)
        await this.#active.writeIndex(this.#args.storage).catch((e: unknown) => this.#args.logger.warn({ err: String(e) }, 'could not write the active index on close'))
      }
    } finally {
      this.#commit.abort(new Error('partition log closed'))
      for (const s of this.#segments) await s.file.close().catch(() => {})
    }
  }

  get #active(): Segment {
    return this.#segments.at(-1)!
  }

  /** Cuts a failed write back off the file; disk full is retriable, anything else is sticky. Returns the error to throw. */
  async #undoWrite(segment: Segment, position: number, cause: unknown): Promise<SamsaError> {
    try {
      if (segment.sizeBytes !== position) await segment.file.truncate(position)
    } catch (e) {
      return this.fail(storageError('could not cut a failed write off the partition log; the partition refuses appends until the broker restarts', e))
    }
    return retriableStorageError(cause) ?? this.fail(storageError('a write to the partition log failed; the partition refuses appends until the broker restarts', cause))
  }

  /** Seals the active segment (fsync + index, R10) and starts a new one at logEndOffset. */
  async #roll(): Promise<Segment> {
    const { storage, dir, logger } = this.#args
    const old = this.#active
    try {
      await old.file.sync()
    } catch (e) {
      throw retriableStorageError(e) ?? this.fail(storageError('fsync of the partition log failed while rolling a segment; the partition refuses appends until the broker restarts', e))
    }
    await old.writeIndex(storage).catch((e: unknown) => logger.warn({ file: old.indexPath, err: String(e) }, 'could not write a segment index; it is rebuilt on open'))
    let next: Segment
    try {
      next = await Segment.create(storage, dir, old.nextOffset)
    } catch (e) {
      throw retriableStorageError(e) ?? this.fail(storageError('could not create a new segment; the partition refuses appends until the broker restarts', e))
    }
    this.#segments.push(next)
    logger.debug({ dir, baseOffset: next.baseOffset }, 'rolled a new segment')
    return next
  }

  #scheduleSync(): void {
    if (this.#syncTimer !== null || this.#closed) return
    this.#syncTimer = this.#args.clock.setTimeout(() => {
      this.#syncTimer = null
      this.#commit.waitFor(this.logEndOffset).catch(() => {})
    }, this.#args.config.fsyncIntervalMs)
  }

  #advanceLocalDurableEnd(end: number): void {
    if (end <= this.#localDurableEnd) return
    this.#localDurableEnd = end
    for (const l of [...this.#durableListeners]) l(end)
  }
}
