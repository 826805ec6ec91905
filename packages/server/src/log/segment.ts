/** @module Segment: one `<20-digit baseOffset>.log` file of consecutive batches plus its sparse `.index`, with the in-memory facts the log needs about it. */
import { batchLastOffset, type BatchHeader } from '@samsa/shared'
import { walkBatches } from './batch-walker.js'
import type { LogStorage, StoredFile } from './log-storage.js'
import { OffsetIndex } from './offset-index.js'

const LOG_NAME = /^(\d{20})\.log$/

export function segmentFileName(baseOffset: number, ext: 'log' | 'index'): string {
  return `${String(baseOffset).padStart(20, '0')}.${ext}`
}

/** baseOffset of a `.log` file name, or null for any other name. */
export function parseSegmentFileName(name: string): number | null {
  const m = LOG_NAME.exec(name)
  if (!m) return null
  const n = Number(m[1])
  return Number.isSafeInteger(n) ? n : null
}

export interface BatchLocation {
  readonly position: number
  readonly header: BatchHeader
  readonly totalBytes: number
}

export class Segment {
  readonly baseOffset: number
  readonly logPath: string
  readonly indexPath: string
  readonly file: StoredFile
  index: OffsetIndex
  /** Offset after the last batch written; baseOffset when the segment is empty. */
  nextOffset: number
  /** Largest batch maxTimestamp written here; null while empty. */
  maxTimestamp: number | null = null
  /** Bytes written since the last index entry (or since the start); an entry is added once it reaches indexIntervalBytes. */
  bytesSinceIndexEntry = 0

  constructor(dir: string, baseOffset: number, file: StoredFile) {
    this.baseOffset = baseOffset
    this.logPath = `${dir}/${segmentFileName(baseOffset, 'log')}`
    this.indexPath = `${dir}/${segmentFileName(baseOffset, 'index')}`
    this.file = file
    this.index = new OffsetIndex(baseOffset)
    this.nextOffset = baseOffset
  }

  /** Creates a new empty segment file and makes its directory entry durable (R10). */
  static async create(storage: LogStorage, dir: string, baseOffset: number): Promise<Segment> {
    const file = await storage.open(`${dir}/${segmentFileName(baseOffset, 'log')}`, { create: true })
    try {
      if (file.size() !== 0) await file.truncate(0)
      await storage.syncDir(dir)
    } catch (e) {
      await file.close().catch(() => {})
      throw e
    }
    return new Segment(dir, baseOffset, file)
  }

  get sizeBytes(): number {
    return this.file.size()
  }

  /** Records a batch that was just written at position (index entry, next offset, timestamp). */
  noteBatch(header: BatchHeader, position: number, totalBytes: number, indexIntervalBytes: number): void {
    if (position > 0 && this.bytesSinceIndexEntry >= indexIntervalBytes) {
      this.index.add(header.baseOffset, position)
      this.bytesSinceIndexEntry = 0
    }
    this.bytesSinceIndexEntry += totalBytes
    this.nextOffset = batchLastOffset(header) + 1
    if (this.maxTimestamp === null || header.maxTimestamp > this.maxTimestamp) this.maxTimestamp = header.maxTimestamp
  }

  /**
   * The file was cut to `position`, where the batch at `nextOffset` started: index entries past it go, and the bytes
   * since the last index entry are recounted. maxTimestamp is kept (an upper bound: retention keeps the segment no
   * shorter, and a timestamp lookup only reads it).
   */
  truncatedTo(position: number, nextOffset: number): void {
    this.index.truncateToPosition(position)
    this.nextOffset = nextOffset
    this.bytesSinceIndexEntry = position - this.index.lastPosition
    if (position === 0) this.maxTimestamp = null
  }

  /** The batch holding offset (base ≤ offset ≤ last), found from the sparse index and a header walk; null when absent. */
  async locate(offset: number, endPosition = this.file.size()): Promise<BatchLocation | null> {
    const from = this.index.lookup(offset).position
    for await (const item of walkBatches(this.file, from, { end: endPosition, chunkBytes: 16 * 1024 })) {
      if (item.kind === 'damage') return null
      if (item.header.baseOffset > offset) return null
      if (batchLastOffset(item.header) >= offset) return { position: item.position, header: item.header, totalBytes: item.totalBytes }
    }
    return null
  }

  async writeIndex(storage: LogStorage): Promise<void> {
    await storage.writeFileAtomic(this.indexPath, this.index.serialize())
  }
}
