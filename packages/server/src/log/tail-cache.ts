/**
 * @module TailCache: the batches last written to the active segment, kept in memory so that reads of the log's tail
 * (followers copying what the leader just wrote, subscribers pushed what the high watermark just exposed) cost no
 * storage round trip. Invariants: the batches held are contiguous in offsets and end at the log end, all in the active
 * segment, a copy of the bytes written there (the caller's buffer may change later); at most maxBytes of them (the
 * oldest go first), none larger than a quarter of that (large batches are read from storage, as before), and all
 * caches of a broker together within its TailCacheBudget. A read it cannot answer returns null and goes to storage;
 * its answer is the one readBatches would give.
 */
import { batchLastOffset, type BatchHeader } from '@samsa/shared'

/**
 * The bytes every TailCache of a broker may hold together (one budget per broker, `tailCacheBytes`). A cache takes
 * from it before holding a batch and gives back what it drops; what does not fit is read from storage instead.
 * Invariant: 0 ≤ used ≤ maxBytes.
 */
export class TailCacheBudget {
  #used = 0
  constructor(readonly maxBytes: number) {}

  get used(): number {
    return this.#used
  }

  take(bytes: number): boolean {
    if (this.#used + bytes > this.maxBytes) return false
    this.#used += bytes
    return true
  }

  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes)
  }
}

interface Cached {
  readonly baseOffset: number
  readonly lastOffset: number
  readonly bytes: Uint8Array
}

export class TailCache {
  readonly #maxBytes: number
  readonly #budget: TailCacheBudget
  /** Oldest first, from index #head; ascending and contiguous in offsets. */
  #batches: Cached[] = []
  #head = 0
  #bytes = 0

  /** `budget`: shared with the broker's other caches (default: this cache's own maxBytes). */
  constructor(maxBytes: number, budget: TailCacheBudget = new TailCacheBudget(maxBytes)) {
    this.#maxBytes = maxBytes
    this.#budget = budget
  }

  /** A batch was just written at the log end of the active segment. */
  written(bytes: Uint8Array, header: BatchHeader): void {
    if (bytes.length * 4 > this.#maxBytes) return this.clear()
    const last = this.#batches.at(-1)
    if (this.#head < this.#batches.length && last !== undefined && last.lastOffset + 1 !== header.baseOffset) this.clear()
    // Room in the broker's budget, made by dropping this cache's oldest batches; none left: the tail goes to storage.
    while (!this.#budget.take(bytes.length)) {
      if (this.#head >= this.#batches.length) return this.clear()
      this.#dropOldest()
    }
    this.#batches.push({ baseOffset: header.baseOffset, lastOffset: batchLastOffset(header), bytes: bytes.slice() })
    this.#bytes += bytes.length
    while (this.#bytes > this.#maxBytes) this.#dropOldest()
    if (this.#head > 1024 && this.#head * 2 > this.#batches.length) {
      this.#batches = this.#batches.slice(this.#head)
      this.#head = 0
    }
  }

  /** Forgets every batch (a new segment, a cut of the log, or the log closed), giving their bytes back to the budget. */
  clear(): void {
    this.#budget.give(this.#bytes)
    this.#batches = []
    this.#head = 0
    this.#bytes = 0
  }

  #dropOldest(): void {
    const n = this.#batches[this.#head++]!.bytes.length
    this.#bytes -= n
    this.#budget.give(n)
  }

  /**
   * Whole batches from the one holding `offset`, all below `upTo`, stopping before `maxBytes` except that the first
   * is returned even when larger; null when `offset` is not in the cache.
   */
  read(offset: number, maxBytes: number, upTo: number): Uint8Array | null {
    const first = this.#find(offset)
    if (first < 0) return null
    const parts: Uint8Array[] = []
    let length = 0
    for (let i = first; i < this.#batches.length; i++) {
      const b = this.#batches[i]!
      if (b.lastOffset >= upTo) break
      if (length > 0 && length + b.bytes.length > maxBytes) break
      parts.push(b.bytes)
      length += b.bytes.length
    }
    if (parts.length === 1) return parts[0]!
    const out = new Uint8Array(length)
    let at = 0
    for (const p of parts) {
      out.set(p, at)
      at += p.length
    }
    return out
  }

  /** Index of the batch holding offset, or −1. */
  #find(offset: number): number {
    let lo = this.#head
    let hi = this.#batches.length - 1
    if (lo > hi || offset < this.#batches[lo]!.baseOffset || offset > this.#batches[hi]!.lastOffset) return -1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.#batches[mid]!.lastOffset < offset) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
