/**
 * @module RaftLogStore: the controller's durable Raft state over the LogStorage port, and the in-memory view
 * (a MemoryRaftStorage) the Raft core reads as its stable storage. The file formats are raft-log-format.ts's; what
 * open() keeps of them is raft-log-recovery.ts's.
 *
 * Invariants:
 *  - write() puts a Ready's snapshot, entries and hard state into the view at once and queues them; sync() makes
 *    everything queued durable, in order: snapshot file, then entries (one fsync per touched segment), then the
 *    hard state. So a persisted commit never names an entry that is not durable, and once sync() resolves,
 *    nothing written before it can be lost.
 *  - The hard state and snapshot files are replaced atomically (temp → fsync → rename → fsync dir), so they are
 *    never torn; segments are append-only except for a cut at a conflict the core resolved.
 *  - A failed sync is sticky: every later write or sync throws it.
 */
import { crc32c as jsCrc32c, type Crc32cFn } from '@samsa/shared'
import type { LogStorage } from '../log/log-storage.js'
import type { Entry, HardState, MemoryRaftStorage, Snapshot } from './raft/index.js'
import { HARD_STATE_FILE, SNAPSHOT_FILE, encodeHardState, encodeRecord, encodeSnapshot, segmentName } from './raft-log-format.js'
import { recoverRaftLog, type RaftLogRecoveryOptions, type RaftSegment } from './raft-log-recovery.js'

export { RaftStorageDamageError } from './raft-log-format.js'

export interface RaftLogStoreOptions extends RaftLogRecoveryOptions {
  /** A new segment starts once the active one reaches this size. */
  readonly maxSegmentBytes?: number
}

/** What one Ready asks to persist. */
export interface RaftWrite {
  readonly snapshot?: Snapshot
  readonly entries: readonly Entry[]
  readonly hardState?: HardState
}

type Op = { readonly kind: 'append'; readonly entries: readonly Entry[] } | { readonly kind: 'install' | 'compact'; readonly snapshot: Snapshot }

export class RaftLogStore {
  /** The view the Raft core reads: always holds everything written, durable or not. */
  readonly view: MemoryRaftStorage
  readonly #storage: LogStorage
  readonly #dir: string
  readonly #maxSegmentBytes: number
  readonly #crc: Crc32cFn
  #segments: RaftSegment[]
  #snapshotIndex: number
  #durableHardState: HardState
  #pendingHardState: HardState | undefined
  #ops: Op[] = []
  #syncing: Promise<void> = Promise.resolve()
  #failed: Error | null = null
  #closed = false

  private constructor(storage: LogStorage, opts: RaftLogStoreOptions, view: MemoryRaftStorage, segments: RaftSegment[], snapshotIndex: number, hardState: HardState) {
    this.#storage = storage
    this.#dir = opts.dir
    this.#maxSegmentBytes = opts.maxSegmentBytes ?? 8 * 1024 * 1024
    this.#crc = opts.crc32c ?? jsCrc32c
    this.view = view
    this.#segments = segments
    this.#snapshotIndex = snapshotIndex
    this.#durableHardState = hardState
  }

  /** Loads what is durable (cutting an unsynced tail); refuses damage at or below the persisted commit (raft-log-recovery.ts). */
  static async open(storage: LogStorage, opts: RaftLogStoreOptions): Promise<RaftLogStore> {
    const r = await recoverRaftLog(storage, opts)
    return new RaftLogStore(storage, opts, r.view, r.segments, r.snapshotIndex, r.hardState)
  }

  /** The durable hard state (what a restart would load). */
  get durableHardState(): HardState {
    return this.#durableHardState
  }

  /** Puts a Ready's persistent part in the view now; it is durable once a later sync() resolves. */
  write(w: RaftWrite): void {
    this.#check()
    if (w.snapshot) {
      this.view.applySnapshot(w.snapshot)
      this.#ops.push({ kind: 'install', snapshot: w.snapshot })
    }
    if (w.entries.length > 0) {
      this.view.append(w.entries)
      this.#ops.push({ kind: 'append', entries: w.entries })
    }
    if (w.hardState) {
      this.view.setHardState(w.hardState)
      this.#pendingHardState = w.hardState
    }
  }

  /**
   * Persists a snapshot the driver took (RaftNode.compact already compacted the view) and drops the segments it
   * covers; durable with the next sync().
   */
  compacted(snapshot: Snapshot): void {
    this.#check()
    this.#ops.push({ kind: 'compact', snapshot })
  }

  /** Whether anything written is not durable yet. */
  get dirty(): boolean {
    return this.#ops.length > 0 || this.#pendingHardState !== undefined
  }

  /** Makes everything written so far durable (one fsync per touched segment, then the hard state). A failure is sticky. */
  sync(): Promise<void> {
    const run = this.#syncing.then(() => this.#flush())
    this.#syncing = run.catch(() => {})
    return run
  }

  async close(): Promise<void> {
    if (this.#closed) return
    await this.#syncing
    this.#closed = true
    for (const s of this.#segments) await s.file.close()
  }

  #check(): void {
    if (this.#failed) throw this.#failed
    if (this.#closed) throw new Error('raft log store is closed')
  }

  async #flush(): Promise<void> {
    this.#check()
    const ops = this.#ops
    this.#ops = []
    const hs = this.#pendingHardState
    this.#pendingHardState = undefined
    try {
      const touched = new Set<RaftSegment>()
      let dirChanged = false
      for (const op of ops) {
        if (op.kind === 'append') dirChanged = (await this.#append(op.entries, touched)) || dirChanged
        else {
          await this.#storage.writeFileAtomic(`${this.#dir}/${SNAPSHOT_FILE}`, encodeSnapshot(op.snapshot, this.#crc))
          this.#snapshotIndex = op.snapshot.metadata.index
          dirChanged = (await this.#dropSegments(op.kind === 'install' ? Infinity : op.snapshot.metadata.index, touched)) || dirChanged
        }
      }
      for (const s of touched) if (this.#segments.includes(s)) await s.file.sync()
      if (dirChanged) await this.#storage.syncDir(this.#dir)
      if (hs && (hs.term !== this.#durableHardState.term || hs.vote !== this.#durableHardState.vote || hs.commit !== this.#durableHardState.commit)) {
        await this.#storage.writeFileAtomic(`${this.#dir}/${HARD_STATE_FILE}`, encodeHardState(hs, this.#crc))
        this.#durableHardState = hs
      }
    } catch (e) {
      this.#failed = e instanceof Error ? e : new Error(String(e))
      throw e
    }
  }

  /** Appends entries, first cutting any stored entry at or after the first one's index; true when a segment file was created. */
  async #append(all: readonly Entry[], touched: Set<RaftSegment>): Promise<boolean> {
    const entries = all.filter((e) => e.index > this.#snapshotIndex)
    if (entries.length === 0) return false
    let created = false
    await this.#truncateFrom(entries[0]!.index, touched)
    let active = this.#segments[this.#segments.length - 1]
    let chunks: Uint8Array[] = []
    let chunkBytes = 0
    const flushChunks = async () => {
      if (!active || chunks.length === 0) return
      const buf = new Uint8Array(chunkBytes)
      let at = 0
      for (const c of chunks) {
        buf.set(c, at)
        at += c.length
      }
      await active.file.append(buf)
      chunks = []
      chunkBytes = 0
    }
    for (const e of entries) {
      if (!active || active.file.size() + chunkBytes >= this.#maxSegmentBytes) {
        await flushChunks()
        const name = segmentName(e.index)
        const file = await this.#storage.open(`${this.#dir}/${name}`, { create: true })
        // A leftover file of that name (a cut tail) is emptied.
        if (file.size() > 0) await file.truncate(0)
        active = { firstIndex: e.index, name, file, positions: [] }
        this.#segments.push(active)
        created = true
      }
      const expected = active.firstIndex + active.positions.length
      if (e.index !== expected) throw new Error(`raft log append of entry ${e.index} where ${expected} is next`)
      const record = encodeRecord(e, this.#crc)
      active.positions.push(active.file.size() + chunkBytes)
      chunks.push(record)
      chunkBytes += record.length
      touched.add(active)
    }
    await flushChunks()
    return created
  }

  /** Cuts every stored entry at index ≥ from (a conflict the core resolved). */
  async #truncateFrom(from: number, touched: Set<RaftSegment>): Promise<void> {
    while (this.#segments.length > 0) {
      const last = this.#segments[this.#segments.length - 1]!
      const lastIndex = last.firstIndex + last.positions.length - 1
      if (from > lastIndex) return
      if (from <= last.firstIndex && this.#segments.length > 1) {
        await last.file.close()
        await this.#storage.remove(`${this.#dir}/${last.name}`)
        this.#segments.pop()
        continue
      }
      const keep = Math.max(0, from - last.firstIndex)
      await last.file.truncate(keep < last.positions.length ? last.positions[keep]! : last.file.size())
      last.positions.length = keep
      touched.add(last)
      return
    }
  }

  /** Removes segments whose entries are all ≤ upTo (all of them for Infinity); true when any was removed. */
  async #dropSegments(upTo: number, touched: Set<RaftSegment>): Promise<boolean> {
    let removed = false
    while (this.#segments.length > 0) {
      const s = this.#segments[0]!
      const next = this.#segments[1]
      const coveredTo = next ? next.firstIndex - 1 : upTo === Infinity ? Infinity : s.firstIndex + s.positions.length - 1
      // The active segment stays unless everything goes (a leader's snapshot replaces the whole log).
      if (coveredTo > upTo || (!next && upTo !== Infinity)) break
      await s.file.close()
      await this.#storage.remove(`${this.#dir}/${s.name}`)
      touched.delete(s)
      this.#segments.shift()
      removed = true
    }
    return removed
  }
}
