/**
 * @module Opening a partition directory: finishes interrupted retention, verifies every batch (CRC, framing,
 * contiguous offsets, and the caller's rules: the partition checks leader epochs), cuts a torn tail off the active
 * segment, rebuilds indexes; every accepted batch is handed to the rules (producer state, leader-epoch cache).
 * Damage that is not a torn tail (in an older segment, with an intact batch after it, or a gap between two segments'
 * offsets) is acknowledged data damaged in place: under `onDamage: 'refuse'` (a single node: no other copy) the log
 * refuses to open; under 'cut' (a replica: the leader holds a good copy) the log is cut at the damage, the bytes from
 * there on set aside in `<segment>.log.damaged` files (never read by the log, kept for an operator), and the report
 * says so.
 * With a recovery point (recovery-point.ts) that matches the directory, the bytes it marks are trusted as verified
 * (no CRC scan; offsets, timestamps and the index come from it) and only what follows them is verified, exactly as
 * above; the rules resume from it first. A recovery point that does not match (a marked segment missing, shorter,
 * or longer while not the last marked one) is ignored: everything is verified.
 */
import { BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD, batchLastOffset, crc32c as jsCrc32c, readBatchHeader, verifyBatch, type BatchHeader, type Crc32cFn } from '@samsa/shared'
import type { Logger } from '../clock.js'
import { walkBatches } from './batch-walker.js'
import { decodeOffsetCheckpoint, LOG_START_CHECKPOINT } from './offset-checkpoint.js'
import type { LogStorage } from './log-storage.js'
import { OffsetIndex } from './offset-index.js'
import type { RecoveryPoint, SegmentMark } from './recovery-point.js'
import { parseSegmentFileName, Segment, segmentFileName } from './segment.js'
import type { StoredFile } from './log-storage.js'

export interface RecoveryReport {
  /** 'torn-tail': the end of the active segment; 'damage': damage in place, the log cut there (onDamage 'cut'). */
  kind: 'torn-tail' | 'damage'
  segment: string
  position: number
  /** Bytes cut off that segment (later segments set aside are not counted). */
  truncatedBytes: number
  reason: string
}

export interface RecoveredLog {
  /** Oldest first, contiguous in offsets; never empty (the last is the active segment). */
  readonly segments: Segment[]
  readonly logStartOffset: number
  readonly report: RecoveryReport | null
  /** The recovery point's offset when recovery resumed from it; null when it verified the whole log. */
  readonly resumedFrom: number | null
  /** Bytes verified batch by batch (CRC) during this recovery. */
  readonly verifiedBytes: number
}

/** What the partition adds to recovery: a check of each batch that passed CRC and offsets, then its acceptance. */
export interface BatchRules {
  /** Why this batch must not be in the log (it is then damage, like a bad CRC), or null. */
  check(header: BatchHeader): string | null
  accepted(header: BatchHeader): void
  /** Recovery resumes from `point`: the batches it covers are not handed over; the state saved with it stands for them. */
  resume(point: RecoveryPoint): void
}

export interface RecoveryArgs {
  readonly storage: LogStorage
  readonly dir: string
  readonly indexIntervalBytes: number
  readonly logger: Logger
  readonly rules: BatchRules
  /** What to do with damage that is not a torn tail: refuse to open (default) or cut the log there (a replica). */
  readonly onDamage?: 'refuse' | 'cut'
  /** The recovery point read from the partition directory, if any (used only when it matches the segments). */
  readonly recoveryPoint?: RecoveryPoint | null
  /** CRC-32C for verifying batches and the indexes a recovery point names (default: the pure-JS one). */
  readonly crc32c?: Crc32cFn
}

/** Thrown when an older (sealed, acknowledged) segment is damaged: the log refuses to open rather than cut it. */
export class LogCorruptionError extends Error {
  constructor(readonly file: string, readonly position: number, reason: string) {
    super(`corrupt log ${file} at byte ${position}: ${reason}; acknowledged data is never cut automatically, restore or re-replicate this partition`)
    this.name = 'LogCorruptionError'
  }
}

export async function recoverLog(args: RecoveryArgs): Promise<RecoveredLog> {
  const { storage, dir, logger } = args
  await storage.ensureDir(dir)
  const names = await storage.list(dir)
  for (const n of names) if (n.endsWith('.tmp')) await storage.remove(`${dir}/${n}`)
  let bases = names.map(parseSegmentFileName).filter((b): b is number => b !== null).sort((a, b) => a - b)

  const checkpointBytes = await storage.readFile(`${dir}/${LOG_START_CHECKPOINT}`)
  let checkpoint = checkpointBytes === null ? null : decodeOffsetCheckpoint(checkpointBytes)
  if (checkpointBytes !== null && checkpoint === null) {
    logger.warn({ dir }, 'ignoring an invalid log-start-offset checkpoint; keeping every segment')
  }
  // Finish a retention pass that wrote the checkpoint but crashed before deleting every segment below it.
  while (checkpoint !== null && bases.length > 1 && bases[1]! <= checkpoint) {
    const base = bases.shift()!
    await storage.remove(`${dir}/${segmentFileName(base, 'index')}`)
    await storage.remove(`${dir}/${segmentFileName(base, 'log')}`)
    logger.info({ dir, baseOffset: base }, 'removed a segment below the log-start-offset checkpoint')
  }

  const segments: Segment[] = []
  let report: RecoveryReport | null = null
  const verified = { bytes: 0 }
  const { marks, files } = await matchRecoveryPoint(storage, dir, bases, args.recoveryPoint ?? null)
  try {
    if (marks.length > 0) args.rules.resume(args.recoveryPoint!)
    if (bases.length === 0) {
      segments.push(await Segment.create(storage, dir, checkpoint ?? 0))
    }
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!
      const prev = segments.at(-1)
      if (prev && prev.nextOffset !== base) {
        // A segment missing or cut short before this one: acknowledged offsets are gone from the middle of the log.
        const reason = `segment ends at offset ${prev.nextOffset} but the next segment starts at ${base}`
        if (args.onDamage !== 'cut') throw new LogCorruptionError(prev.logPath, prev.sizeBytes, reason)
        await setAside(storage, dir, bases.slice(i))
        await storage.syncDir(dir)
        await storage.remove(prev.indexPath) // the segment is active now: its index lives in memory until sealed
        report = { kind: 'damage', segment: prev.logPath, position: prev.sizeBytes, truncatedBytes: 0, reason }
        logger.error({ ...report, setAside: bases.length - i }, 'cut the log at damaged data; the rest is set aside in .damaged files and fetched again from the leader')
        break
      }
      const segment = new Segment(dir, base, files.get(base) ?? (await storage.open(`${dir}/${segmentFileName(base, 'log')}`, { create: false })))
      files.delete(base)
      segments.push(segment)
      const active = i === bases.length - 1
      const mark = marks[i]
      const crc32c = args.crc32c ?? jsCrc32c
      const from = mark ? await resumeSegment(storage, segment, mark, args.indexIntervalBytes, crc32c) : 0
      const found = await scanSegment(segment, from, args.indexIntervalBytes, args.rules, verified, crc32c)
      // A torn write is the tail; damage in an older segment, or an intact batch after it, is acknowledged data damaged in place.
      const damage = found && (!active ? found : (await intactBatchFollows(segment, found.position)) ? { ...found, reason: `${found.reason}, and an intact batch follows it` } : null)
      if (damage && args.onDamage !== 'cut') throw new LogCorruptionError(segment.logPath, damage.position, damage.reason)
      if (damage) {
        const truncatedBytes = segment.sizeBytes - damage.position
        await setAside(storage, dir, bases.slice(i + 1))
        await copyTail(storage, segment, damage.position, `${segment.logPath}${DAMAGED_SUFFIX}`)
        await storage.syncDir(dir)
        await segment.file.truncate(damage.position)
        await segment.file.sync()
        await storage.remove(segment.indexPath) // the segment is active now: its index lives in memory until sealed
        report = { kind: 'damage', segment: segment.logPath, position: damage.position, truncatedBytes, reason: damage.reason }
        logger.error({ ...report, setAside: bases.length - 1 - i }, 'cut the log at damaged data; the rest is set aside in .damaged files and fetched again from the leader')
        break
      }
      if (found) {
        const truncatedBytes = segment.sizeBytes - found.position
        await segment.file.truncate(found.position)
        await segment.file.sync()
        report = { kind: 'torn-tail', segment: segment.logPath, position: found.position, truncatedBytes, reason: found.reason }
        logger.warn({ ...report }, 'cut a torn tail off the active segment')
      }
      if (!active) await loadIndex(storage, segment, segment.index, logger)
    }
  } catch (e) {
    for (const s of segments) await s.file.close().catch(() => {})
    throw e
  } finally {
    for (const f of files.values()) await f.close().catch(() => {}) // opened for segments a cut set aside
  }
  const first = segments[0]!
  const last = segments.at(-1)!
  const logStartOffset = Math.min(Math.max(first.baseOffset, checkpoint ?? 0), last.nextOffset)
  return { segments, logStartOffset, report, resumedFrom: marks.length > 0 ? args.recoveryPoint!.offset : null, verifiedBytes: verified.bytes }
}

/**
 * The recovery point's marks for the first segments of the directory, one per segment, when they match it: the marked
 * segments are exactly the first ones on disk (those retention removed left out), each as long as its mark, the last
 * one at least as long. Otherwise no marks. The files opened to check are handed back for reuse.
 */
async function matchRecoveryPoint(storage: LogStorage, dir: string, bases: readonly number[], point: RecoveryPoint | null): Promise<{ marks: SegmentMark[]; files: Map<number, StoredFile> }> {
  const files = new Map<number, StoredFile>()
  if (point === null || bases.length === 0) return { marks: [], files }
  const marks = point.segments.filter((m) => m.baseOffset >= bases[0]!)
  if (marks.length === 0 || marks.length > bases.length || marks.some((m, i) => m.baseOffset !== bases[i])) return { marks: [], files }
  try {
    for (const [i, m] of marks.entries()) {
      const file = await storage.open(`${dir}/${segmentFileName(m.baseOffset, 'log')}`, { create: false })
      files.set(m.baseOffset, file)
      const last = i === marks.length - 1
      if (file.size() < m.bytes || (!last && file.size() !== m.bytes)) return { marks: [], files }
    }
  } catch (e) {
    for (const f of files.values()) await f.close().catch(() => {})
    throw e
  }
  return { marks, files }
}

/**
 * Takes a segment's marked bytes as verified: its next offset and largest timestamp from the mark, its index from the
 * `.index` file written with them (its CRC in the mark) or else from a walk over their batch headers. Returns the
 * position where verification continues.
 */
async function resumeSegment(storage: LogStorage, segment: Segment, mark: SegmentMark, indexIntervalBytes: number, crc32c: Crc32cFn): Promise<number> {
  const bytes = mark.indexCrc === null ? null : await storage.readFile(segment.indexPath)
  const stored = bytes !== null && crc32c(bytes, 0, bytes.length) === mark.indexCrc ? OffsetIndex.parse(bytes, segment.baseOffset, Math.max(mark.bytes, 1)) : null
  if (stored !== null) {
    segment.index = stored
    segment.nextOffset = mark.nextOffset
    segment.bytesSinceIndexEntry = mark.bytes - stored.lastPosition
  } else {
    for await (const item of walkBatches(segment.file, 0, { end: mark.bytes, chunkBytes: 1024 * 1024 })) {
      if (item.kind === 'damage') throw new LogCorruptionError(segment.logPath, item.position, `${item.reason} (below the recovery point)`)
      segment.noteBatch(item.header, item.position, item.totalBytes, indexIntervalBytes)
    }
    if (segment.nextOffset !== mark.nextOffset) throw new LogCorruptionError(segment.logPath, mark.bytes, `the recovery point says offset ${mark.nextOffset} ends here, the batches end at ${segment.nextOffset}`)
  }
  segment.maxTimestamp = mark.maxTimestamp
  return mark.bytes
}

/** Suffix of the files holding bytes cut off at damage (the segment name keeps telling their offsets). */
export const DAMAGED_SUFFIX = '.damaged'

/**
 * Renames whole segments to `.damaged` files (their indexes go), newest first: a crash midway leaves segments that
 * still follow the damage, so the next open cuts again.
 */
async function setAside(storage: LogStorage, dir: string, bases: readonly number[]): Promise<void> {
  for (const base of [...bases].reverse()) {
    await storage.rename(`${dir}/${segmentFileName(base, 'log')}`, `${dir}/${segmentFileName(base, 'log')}${DAMAGED_SUFFIX}`)
    await storage.remove(`${dir}/${segmentFileName(base, 'index')}`)
  }
}

/** Copies the segment's bytes from `position` to its end into a new file at `path` (replaced if present), synced. */
async function copyTail(storage: LogStorage, segment: Segment, position: number, path: string): Promise<void> {
  const out = await storage.open(path, { create: true })
  try {
    await out.truncate(0)
    const end = segment.file.size()
    for (let at = position; at < end; ) {
      const chunk = await segment.file.read(at, Math.min(1024 * 1024, end - at))
      if (chunk.length === 0) break
      await out.append(chunk)
      at += chunk.length
    }
    await out.sync()
  } finally {
    await out.close()
  }
}

/**
 * True when the batch at position still has a readable length and the bytes right after it are a whole batch
 * that passes its CRC: then the damage is in the middle of the log, not a torn tail.
 */
async function intactBatchFollows(segment: Segment, position: number): Promise<boolean> {
  const size = segment.file.size()
  try {
    const head = await segment.file.read(position, BATCH_HEADER_BYTES)
    if (head.length < BATCH_HEADER_BYTES) return false
    const next = position + readBatchHeader(head).batchLength + BATCH_LOG_OVERHEAD
    if (next <= position + BATCH_HEADER_BYTES || next + BATCH_HEADER_BYTES > size) return false
    const total = readBatchHeader(await segment.file.read(next, BATCH_HEADER_BYTES)).batchLength + BATCH_LOG_OVERHEAD
    if (total < BATCH_HEADER_BYTES || next + total > size) return false
    verifyBatch(await segment.file.read(next, total), 0, total, { compacted: true })
    return true
  } catch {
    return false // unreadable header fields: nothing shows an intact batch after the damage
  }
}

/** Verifies each batch from `from` on (CRC, framing, the rules, contiguous offsets), rebuilding the index; returns the first damage. */
async function scanSegment(segment: Segment, from: number, indexIntervalBytes: number, rules: BatchRules, verified: { bytes: number }, crc32c: Crc32cFn): Promise<{ position: number; reason: string } | null> {
  for await (const item of walkBatches(segment.file, from, { wholeBatches: true, chunkBytes: 1024 * 1024 })) {
    if (item.kind === 'damage') return item
    try {
      verifyBatch(item.buffer, item.at, item.at + item.totalBytes, { crc32c, compacted: true })
    } catch (e) {
      return { position: item.position, reason: (e as Error).message }
    }
    const problem = rules.check(item.header)
    if (problem !== null) return { position: item.position, reason: problem }
    if (item.header.baseOffset !== segment.nextOffset) {
      return { position: item.position, reason: `offset gap: expected a batch at offset ${segment.nextOffset}, found ${item.header.baseOffset}` }
    }
    segment.noteBatch(item.header, item.position, item.totalBytes, indexIntervalBytes)
    verified.bytes += item.totalBytes
    rules.accepted(item.header)
    if (batchLastOffset(item.header) + 1 !== segment.nextOffset) throw new Error('unreachable: noteBatch did not advance')
  }
  return null
}

/**
 * Sealed segments are fully verified on open anyway, so the index rebuilt during that scan is authoritative;
 * the stored `.index` is kept when it parses and matches it, and rewritten when it is missing, malformed or stale.
 */
async function loadIndex(storage: LogStorage, segment: Segment, rebuilt: OffsetIndex, logger: Logger): Promise<void> {
  const bytes = await storage.readFile(segment.indexPath)
  const stored = bytes === null ? null : OffsetIndex.parse(bytes, segment.baseOffset, segment.sizeBytes)
  const fresh = rebuilt.serialize()
  if (stored !== null && bytes!.length === fresh.length && bytes!.every((b, i) => b === fresh[i])) return
  try {
    await segment.writeIndex(storage)
  } catch (e) {
    logger.warn({ file: segment.indexPath, err: (e as Error).message }, 'could not rewrite a segment index; it is rebuilt on every open')
  }
}
