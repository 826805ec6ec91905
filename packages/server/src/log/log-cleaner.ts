/**
 * @module cleanLog: one compaction pass over a partition's sealed segments below a bound (I/O at the edge of
 * compaction-plan.ts). Invariants:
 * - the active segment is never read for the plan nor written; only sealed segments wholly below `upTo` are cleaned;
 * - offsets never change: a rewritten batch keeps its offset range (encodeCompactedBatch), so batches stay contiguous
 *   and recovery's checks hold unchanged; a batch losing every record stays as its 61-byte header;
 * - a batch `keepWhole` names (a batch an idempotent producer may still resend: its bytes and CRC are what producer
 *   state compares a resend with) is copied unchanged, as is every batch with nothing to drop;
 * - crash safety: a cleaned segment is written to `<segment>.log.clean.tmp` and fsynced; then, inside the log's
 *   exclusive(), its index is removed, the temp file renamed over the segment and the directory fsynced, and the new
 *   index written. A crash before the rename leaves the old segment (the temp file is removed on open: recovery drops
 *   every `*.tmp`); after it, the cleaned one, its index rebuilt on open when missing. Both hold the same latest
 *   records per key;
 * - every byte read or written first passes the throttle.
 */
import { decodeRecords, encodeCompactedBatch, readBatchHeader, type BatchHeader, type Crc32cFn } from '@samsa/shared'
import type { Logger } from '../clock.js'
import { walkBatches } from './batch-walker.js'
import { decodeCleanerPasses, encodeCleanerPasses, keyString, passesFrom, recordPass, survives, type CleanableRecord, type SurvivalRules } from './compaction-plan.js'
import type { CleanerThrottle } from './cleaner-throttle.js'
import type { Log } from './log.js'
import type { LogStorage, StoredFile } from './log-storage.js'
import type { RecoveryPointKeeper } from './recovery-point-keeper.js'
import { Segment } from './segment.js'
import { storageError } from './storage-errors.js'

/** The file that dates the cleaner's passes (compaction-plan.ts: CleanerPasses). */
export const CLEANER_CHECKPOINT = 'cleaner-checkpoint'
export const CLEANING_SUFFIX = '.clean.tmp'

export interface CleanArgs {
  readonly storage: LogStorage
  readonly dir: string
  readonly log: Pick<Log, 'sealedSegments' | 'swapSealedSegment' | 'exclusive' | 'logStartOffset'>
  /** Only segments ending at or below it are cleaned (the high watermark: nothing a replica may still lose). */
  readonly upTo: number
  readonly nowMs: number
  readonly deleteRetentionMs: number
  readonly indexIntervalBytes: number
  readonly throttle: CleanerThrottle
  /** Do nothing unless the cleanable range now ends past this offset (nothing new was sealed since a pass reached it). */
  readonly skipUnlessPast?: number
  /** Batches copied unchanged whatever their records (see the module comment). */
  readonly keepWhole: (header: BatchHeader) => boolean
  /**
   * The partition's recovery point: removed inside the swap before the first rename (it marks byte lengths of the
   * segment being replaced, which a cleaned segment may pass once it is the last marked one), written again after.
   */
  readonly recoveryPoint: Pick<RecoveryPointKeeper, 'remove' | 'write'>
  readonly logger: Logger
  readonly crc32c?: Crc32cFn
}

/** What a partition's owner decides for a pass (the topic's delete.retention.ms, the broker's throttle). */
export type CleanOptions = Pick<CleanArgs, 'deleteRetentionMs' | 'indexIntervalBytes' | 'throttle' | 'skipUnlessPast'>

export interface CleanResult {
  readonly segmentsCleaned: number
  readonly bytesRead: number
  readonly bytesWritten: number
  /** Bytes the pass freed (segments' sizes before minus after). */
  readonly bytesRemoved: number
  readonly recordsRemoved: number
  /** Offsets below it were cleaned by this pass (the end of the cleanable range); null: nothing was cleanable. */
  readonly cleanedTo: number | null
}

export async function cleanLog(args: CleanArgs): Promise<CleanResult> {
  const { storage, dir, log, throttle } = args
  const segments: Segment[] = []
  for (const s of log.sealedSegments()) {
    if (s.nextOffset > args.upTo) break
    segments.push(s)
  }
  const stats = { segmentsCleaned: 0, bytesRead: 0, bytesWritten: 0, bytesRemoved: 0, recordsRemoved: 0 }
  if (segments.length === 0) return { ...stats, cleanedTo: null }
  const cleanedTo = segments.at(-1)!.nextOffset
  if (args.skipUnlessPast !== undefined && cleanedTo <= args.skipUnlessPast) return { ...stats, cleanedTo }

  const stored = await storage.readFile(`${dir}/${CLEANER_CHECKPOINT}`)
  const before = stored === null ? [] : (decodeCleanerPasses(stored) ?? [])
  const passes = recordPass(passesFrom(before, log.logStartOffset), cleanedTo, args.nowMs)

  const latest = new Map<string, number>()
  for (const segment of segments) {
    for await (const { records } of segmentRecords(segment, throttle, stats)) for (const r of records) if (r.key !== null) latest.set(r.key, r.offset)
  }
  const rules: SurvivalRules = { latest, passes, nowMs: args.nowMs, deleteRetentionMs: args.deleteRetentionMs }
  for (const segment of segments) await cleanSegment(args, segment, rules, stats)

  await storage.writeFileAtomic(`${dir}/${CLEANER_CHECKPOINT}`, encodeCleanerPasses(passes))
  if (stats.segmentsCleaned > 0) {
    await log.exclusive(() => args.recoveryPoint.write()).catch((e: unknown) => args.logger.warn({ dir, err: String(e) }, 'could not write the recovery point after cleaning; the next open verifies the whole log'))
  }
  return { ...stats, cleanedTo }
}

interface Stats {
  segmentsCleaned: number
  bytesRead: number
  bytesWritten: number
  bytesRemoved: number
  recordsRemoved: number
}

interface ReadBatch {
  readonly header: BatchHeader
  readonly bytes: Uint8Array
  readonly records: (CleanableRecord & { readonly index: number })[]
}

async function* segmentRecords(segment: Segment, throttle: CleanerThrottle, stats: Stats): AsyncGenerator<ReadBatch> {
  const end = segment.sizeBytes
  for await (const item of walkBatches(segment.file, 0, { end, wholeBatches: true, chunkBytes: 256 * 1024 })) {
    if (item.kind === 'damage') throw storageError(`the log cleaner could not read ${segment.logPath} at byte ${item.position}: ${item.reason}`)
    await throttle.take(item.totalBytes)
    stats.bytesRead += item.totalBytes
    const bytes = item.buffer.subarray(item.at, item.at + item.totalBytes)
    const records = decodeRecords(bytes).records.map((r, index) => ({ offset: r.offset, key: r.key === null ? null : keyString(r.key), tombstone: r.value === null, index }))
    yield { header: item.header, bytes, records }
  }
}

/** Writes the segment's survivors to a temp file and swaps it in; leaves the segment alone when nothing drops. */
async function cleanSegment(args: CleanArgs, segment: Segment, rules: SurvivalRules, stats: Stats): Promise<void> {
  const { storage, dir, throttle } = args
  const tmpPath = `${segment.logPath}${CLEANING_SUFFIX}`
  const originalBytes = segment.sizeBytes
  let tmp: StoredFile | null = null
  let shadow: Segment | null = null
  let copied: Uint8Array[] = []
  let dropped = 0
  try {
    for await (const batch of segmentRecords(segment, throttle, stats)) {
      const keep = args.keepWhole(batch.header) ? batch.records : batch.records.filter((r) => survives(r, rules))
      let out = batch.bytes
      if (keep.length !== batch.records.length) {
        const decoded = decodeRecords(batch.bytes).records
        out = encodeCompactedBatch(batch.header, keep.map((r) => decoded[r.index]!), args.crc32c)
        dropped += batch.records.length - keep.length
      }
      if (shadow === null) {
        if (out === batch.bytes) {
          copied.push(out) // nothing dropped yet: held until the first drop shows the segment needs rewriting
          continue
        }
        tmp = await storage.open(tmpPath, { create: true })
        if (tmp.size() !== 0) await tmp.truncate(0)
        shadow = new Segment(dir, segment.baseOffset, tmp)
        for (const b of copied) await append(shadow, b, args, stats)
        copied = []
      }
      await append(shadow, out, args, stats)
    }
    if (shadow === null || tmp === null) return
    await tmp.sync()
  } catch (e) {
    await tmp?.close().catch(() => {})
    await storage.remove(tmpPath).catch(() => {})
    throw e
  }
  const built = shadow
  const written = tmp
  const cleanedBytes = built.sizeBytes
  let swapped: boolean
  try {
    swapped = await args.log.exclusive(() =>
    args.log.swapSealedSegment(segment.baseOffset, originalBytes, async () => {
      await args.recoveryPoint.remove()
      await storage.remove(segment.indexPath) // rebuilt on open if a crash comes before the new one is written
      await written.close()
      await storage.rename(tmpPath, segment.logPath)
      await storage.syncDir(dir)
      const cleaned = new Segment(dir, segment.baseOffset, await storage.open(segment.logPath, { create: false }))
      cleaned.index = built.index
      cleaned.nextOffset = built.nextOffset
      cleaned.maxTimestamp = built.maxTimestamp
      cleaned.bytesSinceIndexEntry = built.bytesSinceIndexEntry
      await cleaned.writeIndex(storage).catch((e: unknown) => args.logger.warn({ file: cleaned.indexPath, err: String(e) }, 'could not write a cleaned segment index; it is rebuilt on open'))
      return cleaned
    }),
    )
  } catch (e) {
    await written.close().catch(() => {})
    throw e
  }
  if (!swapped) {
    await written.close().catch(() => {})
    await storage.remove(tmpPath)
    return
  }
  stats.segmentsCleaned++
  stats.recordsRemoved += dropped
  stats.bytesRemoved += originalBytes - cleanedBytes
}

async function append(shadow: Segment, bytes: Uint8Array, args: CleanArgs, stats: Stats): Promise<void> {
  await args.throttle.take(bytes.length)
  const position = shadow.sizeBytes
  await shadow.file.append(bytes)
  shadow.noteBatch(readBatchHeader(bytes), position, bytes.length, args.indexIntervalBytes)
  stats.bytesWritten += bytes.length
}
