/**
 * @module OffsetIndex: a segment's sparse index from offsets to file positions.
 *
 * `.index` file format: a sequence of 8-byte entries, big-endian:
 *   0  relativeOffset  uint32  batch baseOffset − segment baseOffset
 *   4  position        uint32  byte position of that batch in the `.log` file
 * Entries are strictly increasing in both fields. The first batch (position 0) needs no entry.
 */

export const INDEX_ENTRY_BYTES = 8
const U32 = 0x1_0000_0000

export interface IndexEntry {
  readonly offset: number
  readonly position: number
}

export class OffsetIndex {
  readonly baseOffset: number
  /** Relative offsets, strictly increasing, each < 2^32. */
  #relativeOffsets: number[] = []
  /** File positions, strictly increasing, parallel to #relativeOffsets. */
  #positions: number[] = []

  constructor(baseOffset: number) {
    this.baseOffset = baseOffset
  }

  get size(): number {
    return this.#positions.length
  }

  get lastPosition(): number {
    return this.#positions.at(-1) ?? 0
  }

  entries(): IndexEntry[] {
    return this.#positions.map((position, i) => ({ offset: this.baseOffset + this.#relativeOffsets[i]!, position }))
  }

  /** Adds an entry; offset and position must exceed the last entry's. */
  add(offset: number, position: number): void {
    const rel = offset - this.baseOffset
    if (!Number.isInteger(rel) || rel < 0 || rel >= U32) throw new RangeError(`offset ${offset} does not fit a segment based at ${this.baseOffset}`)
    if (!Number.isInteger(position) || position < 0 || position >= U32) throw new RangeError(`position ${position} does not fit an index entry`)
    const n = this.#positions.length
    if (n > 0 && (rel <= this.#relativeOffsets[n - 1]! || position <= this.#positions[n - 1]!)) {
      throw new RangeError(`index entry (${offset}, ${position}) does not follow the last one`)
    }
    this.#relativeOffsets.push(rel)
    this.#positions.push(position)
  }

  /** The greatest entry with offset ≤ target, or (baseOffset, 0) when there is none. */
  lookup(target: number): IndexEntry {
    const rel = target - this.baseOffset
    let lo = 0
    let hi = this.#relativeOffsets.length - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (this.#relativeOffsets[mid]! <= rel) {
        found = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    return found < 0 ? { offset: this.baseOffset, position: 0 } : { offset: this.baseOffset + this.#relativeOffsets[found]!, position: this.#positions[found]! }
  }

  /** Drops every entry at or past position (used when the segment is truncated there). */
  truncateToPosition(position: number): void {
    let n = this.#positions.length
    while (n > 0 && this.#positions[n - 1]! >= position) n--
    this.#positions.length = n
    this.#relativeOffsets.length = n
  }

  serialize(): Uint8Array {
    const out = new Uint8Array(this.#positions.length * INDEX_ENTRY_BYTES)
    const view = new DataView(out.buffer)
    for (let i = 0; i < this.#positions.length; i++) {
      view.setUint32(i * INDEX_ENTRY_BYTES, this.#relativeOffsets[i]!)
      view.setUint32(i * INDEX_ENTRY_BYTES + 4, this.#positions[i]!)
    }
    return out
  }

  /**
   * Parses an `.index` file; null when it is malformed (length not a multiple of 8, entries not strictly
   * increasing, or a position at or past segmentBytes), in which case the caller rebuilds it from the log.
   */
  static parse(bytes: Uint8Array, baseOffset: number, segmentBytes: number): OffsetIndex | null {
    if (bytes.length % INDEX_ENTRY_BYTES !== 0) return null
    const index = new OffsetIndex(baseOffset)
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    for (let at = 0; at < bytes.length; at += INDEX_ENTRY_BYTES) {
      const rel = view.getUint32(at)
      const position = view.getUint32(at + 4)
      if (position >= segmentBytes || position === 0) return null
      try {
        index.add(baseOffset + rel, position)
      } catch {
        return null
      }
    }
    return index
  }
}
