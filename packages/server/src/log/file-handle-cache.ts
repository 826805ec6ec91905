/**
 * @module FileHandleCache: bounds how many file handles are open at once. A handle is a slot; a slot in use by
 * an operation is pinned; when every slot is taken, the least recently used idle handle is closed (evicted) to
 * make room, and when none is idle the caller waits until one is unpinned or closed; closeIdle closes handles
 * unused for a while. Pure bookkeeping: the entries open and close their own handles.
 */

/** A file whose handle the cache may ask to close. */
export interface EvictableHandle {
  /** Closes the handle (making its unsynced bytes durable first); never rejects: failures stay with the file. */
  closeForEviction(): Promise<void>
}

export interface FileHandleCacheOptions {
  /** Upper bound on slots held at once (open handles plus handles being opened or closed). */
  readonly maxOpenFiles: number
  /** Called with the number of slots held whenever it changes. */
  readonly onOpenCount?: (open: number) => void
  readonly onEvicted?: () => void
  /** Monotonic milliseconds, for closeIdle; default: a clock that never moves (closeIdle then closes nothing). */
  readonly nowMs?: () => number
}

interface Slot {
  /** Operations using the handle now; a pinned handle is never evicted. */
  pins: number
  /** When the last operation on it ended (nowMs). */
  idleSinceMs: number
}

export class FileHandleCache {
  readonly maxOpenFiles: number
  readonly #onOpenCount: (open: number) => void
  readonly #onEvicted: () => void
  readonly #nowMs: () => number
  /** Open handles, least recently used first (Map order). */
  readonly #open = new Map<EvictableHandle, Slot>()
  /** Invariant: 0 ≤ #slots ≤ maxOpenFiles; every slot is an open handle, or one being opened or closed. */
  #slots = 0
  /** Callers of acquireSlot waiting for a pin to drop or a slot to free; each re-checks when woken. */
  #waiters: (() => void)[] = []
  #evictions = 0

  constructor(options: FileHandleCacheOptions) {
    if (!Number.isInteger(options.maxOpenFiles) || options.maxOpenFiles < 1) throw new RangeError(`maxOpenFiles must be an integer ≥ 1, got ${options.maxOpenFiles}`)
    this.maxOpenFiles = options.maxOpenFiles
    this.#onOpenCount = options.onOpenCount ?? (() => {})
    this.#onEvicted = options.onEvicted ?? (() => {})
    this.#nowMs = options.nowMs ?? (() => 0)
  }

  /** Slots held now (open handles plus those being opened or closed). */
  get openCount(): number {
    return this.#slots
  }

  /** Handles closed to make room so far. */
  get evictions(): number {
    return this.#evictions
  }

  /** Takes a slot for a handle about to be opened, evicting the least recently used idle handle when full. */
  async acquireSlot(): Promise<void> {
    while (this.#slots >= this.maxOpenFiles) {
      const victim = this.#leastRecentlyUsedIdle()
      if (victim) await this.#evict(victim)
      else await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
    this.#slots++
    this.#onOpenCount(this.#slots)
  }

  /** Gives back a slot whose handle is closed (or whose open failed). */
  releaseSlot(): void {
    this.#slots--
    this.#onOpenCount(this.#slots)
    this.#wake()
  }

  /** Registers a handle just opened in a slot from acquireSlot as most recently used, pinned once for the operation that opened it. */
  added(entry: EvictableHandle): void {
    this.#open.set(entry, { pins: 1, idleSinceMs: this.#nowMs() })
  }

  /** Marks the handle in use by one more operation and most recently used; a pinned handle is never evicted. */
  pin(entry: EvictableHandle): void {
    const slot = this.#open.get(entry)
    if (slot === undefined) throw new Error('pin of a handle the cache does not hold')
    this.#open.delete(entry)
    slot.pins++
    this.#open.set(entry, slot)
  }

  unpin(entry: EvictableHandle): void {
    const slot = this.#open.get(entry)
    if (slot === undefined) return // closed by its owner meanwhile
    slot.pins--
    slot.idleSinceMs = this.#nowMs()
    if (slot.pins === 0) this.#wake()
  }

  /** The owner is closing the handle itself: the cache stops tracking it; the owner calls releaseSlot once it is closed. */
  remove(entry: EvictableHandle): void {
    this.#open.delete(entry)
  }

  /** Evicts the least recently used idle handle, if any (used when the OS refuses to open more files); true if one was closed. */
  async evictIdle(): Promise<boolean> {
    const victim = this.#leastRecentlyUsedIdle()
    if (!victim) return false
    await this.#evict(victim)
    return true
  }

  /** Closes every handle nobody has used for idleMs or longer; returns how many. */
  async closeIdle(idleMs: number): Promise<number> {
    const now = this.#nowMs()
    const idle = [...this.#open].filter(([, s]) => s.pins === 0 && now - s.idleSinceMs >= idleMs).map(([e]) => e)
    let closed = 0
    for (const entry of idle) {
      // Still idle and still held: it may have been used or closed while an earlier one was closing.
      const slot = this.#open.get(entry)
      if (!slot || slot.pins > 0 || this.#nowMs() - slot.idleSinceMs < idleMs) continue
      await this.#close(entry)
      closed++
    }
    return closed
  }

  #leastRecentlyUsedIdle(): EvictableHandle | null {
    for (const [entry, slot] of this.#open) if (slot.pins === 0) return entry
    return null
  }

  async #evict(entry: EvictableHandle): Promise<void> {
    this.#evictions++
    this.#onEvicted()
    await this.#close(entry)
  }

  async #close(entry: EvictableHandle): Promise<void> {
    this.#open.delete(entry)
    try {
      await entry.closeForEviction()
    } finally {
      this.releaseSlot()
    }
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }
}
