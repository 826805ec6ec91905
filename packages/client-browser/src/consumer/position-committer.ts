/**
 * @module Writes a subscription's committed positions to the OffsetStore: per partition at most one write in
 * flight, and everything staged while it runs coalesces into the next write (so a burst of commits costs one or
 * two writes, never one per record). Positions only move forwards, except through `reset` (a truncated log).
 */
import type { OffsetStore, StoredPosition } from '../storage/stores.js'

interface PartitionCommits {
  /** Highest position staged (to be written). */
  staged: StoredPosition | null
  /** Highest position known to be in the store. */
  written: StoredPosition | null
  /** A forced (backwards) write is pending. */
  force: boolean
  /** Set by `rewind`: the next stage is accepted whatever its offset and written forced. */
  rewound: boolean
  /** The running write loop, or null when idle. */
  writing: Promise<void> | null
  /** The position being written now (no longer staged, not yet known written). */
  inFlight: StoredPosition | null
}

export class PositionCommitter {
  readonly #store: OffsetStore
  readonly #consumerId: string
  readonly #topic: string
  readonly #partitions = new Map<number, PartitionCommits>()
  /** Store writes issued, for tests and metrics. */
  writes = 0

  constructor(store: OffsetStore, consumerId: string, topic: string) {
    this.#store = store
    this.#consumerId = consumerId
    this.#topic = topic
  }

  #state(partition: number): PartitionCommits {
    let s = this.#partitions.get(partition)
    if (s === undefined) this.#partitions.set(partition, (s = { staged: null, written: null, force: false, rewound: false, writing: null, inFlight: null }))
    return s
  }

  /** The highest position staged, being written or written for the partition. */
  committed(partition: number): StoredPosition | null {
    const s = this.#partitions.get(partition)
    return s?.staged ?? s?.inFlight ?? s?.written ?? null
  }

  /** Records a position that is already stored (read at start, or committed by an atomic transaction). */
  markWritten(partition: number, position: StoredPosition): void {
    const s = this.#state(partition)
    if (s.written === null || position.offset > s.written.offset) s.written = position
    if (s.staged !== null && s.staged.offset <= position.offset) s.staged = null
  }

  /** Stages a position; ignored unless it is ahead of what is staged or written. Returns true if it was staged. */
  stage(partition: number, position: StoredPosition): boolean {
    const s = this.#state(partition)
    if (s.rewound) {
      s.rewound = false
      s.staged = position
      s.force = true
      return true
    }
    const ahead = s.staged ?? s.written
    if (ahead !== null && position.offset <= ahead.offset) return false
    s.staged = position
    return true
  }

  /** The application moved the partition's position (a seek): the next stage may move the stored position backwards. */
  rewind(partition: number): void {
    const s = this.#state(partition)
    s.rewound = true
  }

  /** Moves the partition's position backwards (the log was truncated below it): a forced write. */
  reset(partition: number, position: StoredPosition): Promise<void> {
    const s = this.#state(partition)
    s.staged = position
    s.written = null
    s.force = true
    return this.flush(partition)
  }

  /** Has the partition anything staged and not yet written? */
  pending(partition: number): boolean {
    return this.#partitions.get(partition)?.staged != null
  }

  /** Writes what is staged (one partition or all); resolves once everything staged before the call is stored. */
  async flush(partition?: number): Promise<void> {
    const targets = partition === undefined ? [...this.#partitions.keys()] : [partition]
    await Promise.all(targets.map((p) => this.#flushOne(p)))
  }

  async #flushOne(partition: number): Promise<void> {
    const s = this.#state(partition)
    const target = s.staged
    while (s.writing !== null) await s.writing
    if (target === null || (s.written !== null && s.written.offset >= target.offset && !s.force)) return
    if (s.staged === null) return
    s.writing = this.#writeLoop(partition, s)
    await s.writing
  }

  async #writeLoop(partition: number, s: PartitionCommits): Promise<void> {
    try {
      while (s.staged !== null) {
        const position = s.staged
        const force = s.force
        s.staged = null
        s.force = false
        s.inFlight = position
        this.writes++
        try {
          await this.#store.put(this.#consumerId, this.#topic, partition, position, force ? { force: true } : undefined)
        } catch (error) {
          s.inFlight = null
          // Keep it staged so a later flush retries; a newer stage supersedes it.
          const staged = s.staged as StoredPosition | null
          if (staged === null || staged.offset < position.offset) s.staged = position
          s.force ||= force
          throw error
        }
        s.inFlight = null
        const written = s.written as StoredPosition | null
        if (force || written === null || position.offset > written.offset) s.written = position
      }
    } finally {
      s.writing = null
    }
  }
}
