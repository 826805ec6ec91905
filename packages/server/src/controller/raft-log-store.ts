/**
 * @module RaftLogStore: the controller's durable Raft state over the LogStorage port, and the in-memory view
 * (a MemoryRaftStorage) the Raft core reads as its stable storage.
 *
 * Files, under one directory:
 *   hardstate                 version u8 (1), term i64, vote u32, commit i64, crc32c u32 (of the preceding bytes);
 *                             replaced atomically (temp → fsync → rename → fsync dir), so it is never torn.
 *   snapshot                  version u8 (1), index i64, term i64, voterCount u32, [u32]…, learnerCount u32, [u32]…,
 *                             dataLength u32, data, crc32c u32 (of the preceding bytes); replaced atomically.
 *   log-<firstIndex:20>.raft  append-only segments of records: length u32 (of the payload), crc32c u32 (of the
 *                             payload), payload = term i64, index i64, data. Indexes are consecutive across segments.
 *
 * Invariants:
 *  - write() puts a Ready's snapshot, entries and hard state into the view at once and queues them; sync() makes
 *    everything queued durable, in order: snapshot file, then entries (one fsync per touched segment), then the
 *    hard state. So a persisted commit never names an entry that is not durable, and once sync() resolves,
 *    nothing written before it can be lost.
 *  - On open a record that is torn or fails its CRC is cut, with everything after it, when its index is above
 *    the persisted commit (an unsynced tail); at or below the commit, open refuses (RaftStorageDamageError):
 *    committed entries are never silently dropped.
 *  - Entries at or below the snapshot's index are never read; a log that does not continue the snapshot (the
 *    entry at its index has another term: a crash while installing a leader's snapshot) is dropped after it.
 */
import { ByteReader, ByteWriter, crc32c as jsCrc32c, type Crc32cFn, type Logger, silentLogger } from '@samsa/shared'
import type { LogStorage, StoredFile } from '../log/log-storage.js'
import type { Entry, HardState, Membership, Snapshot } from './raft/index.js'
import { MemoryRaftStorage, NONE } from './raft/index.js'

export class RaftStorageDamageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RaftStorageDamageError'
  }
}

export interface RaftLogStoreOptions {
  /** Directory under the storage root, e.g. "controller/raft". */
  readonly dir: string
  /** The static membership (the snapshot's, once one exists). */
  readonly membership: Membership
  /** A new segment starts once the active one reaches this size. */
  readonly maxSegmentBytes?: number
  readonly crc32c?: Crc32cFn
  readonly logger?: Logger
}

/** What one Ready asks to persist. */
export interface RaftWrite {
  readonly snapshot?: Snapshot
  readonly entries: readonly Entry[]
  readonly hardState?: HardState
}

interface Segment {
  readonly firstIndex: number
  readonly name: string
  file: StoredFile
  /** Byte offset of each record: positions[i] holds entry firstIndex + i. */
  positions: number[]
}

type Op = { readonly kind: 'append'; readonly entries: readonly Entry[] } | { readonly kind: 'install' | 'compact'; readonly snapshot: Snapshot }

const RECORD_HEADER_BYTES = 8
const PAYLOAD_FIXED_BYTES = 16
const FORMAT_VERSION = 1
const HARD_STATE_FILE = 'hardstate'
const SNAPSHOT_FILE = 'snapshot'
const segmentName = (firstIndex: number) => `log-${String(firstIndex).padStart(20, '0')}.raft`
const SEGMENT_RE = /^log-(\d{20})\.raft$/

export class RaftLogStore {
  /** The view the Raft core reads: always holds everything written, durable or not. */
  readonly view: MemoryRaftStorage
  readonly #storage: LogStorage
  readonly #dir: string
  readonly #maxSegmentBytes: number
  readonly #crc: Crc32cFn
  #segments: Segment[]
  #snapshotIndex: number
  #durableHardState: HardState
  #pendingHardState: HardState | undefined
  #ops: Op[] = []
  #syncing: Promise<void> = Promise.resolve()
  #failed: Error | null = null
  #closed = false

  private constructor(storage: LogStorage, opts: RaftLogStoreOptions, view: MemoryRaftStorage, segments: Segment[], snapshotIndex: number, hardState: HardState) {
    this.#storage = storage
    this.#dir = opts.dir
    this.#maxSegmentBytes = opts.maxSegmentBytes ?? 8 * 1024 * 1024
    this.#crc = opts.crc32c ?? jsCrc32c
    this.view = view
    this.#segments = segments
    this.#snapshotIndex = snapshotIndex
    this.#durableHardState = hardState
  }

  /** Loads what is durable (cutting an unsynced tail); refuses damage at or below the persisted commit. */
  static async open(storage: LogStorage, opts: RaftLogStoreOptions): Promise<RaftLogStore> {
    const crc = opts.crc32c ?? jsCrc32c
    const logger = opts.logger ?? silentLogger
    const dir = opts.dir
    await storage.ensureDir(dir)
    const hsBytes = await storage.readFile(`${dir}/${HARD_STATE_FILE}`)
    const hardState = hsBytes ? decodeHardState(hsBytes, crc) : { term: 0, vote: NONE, commit: 0 }
    const snapBytes = await storage.readFile(`${dir}/${SNAPSHOT_FILE}`)
    const snapshot = snapBytes ? decodeSnapshot(snapBytes, crc) : undefined
    const snapIndex = snapshot?.metadata.index ?? 0
    const snapTerm = snapshot?.metadata.term ?? 0

    const names = (await storage.list(dir)).filter((n) => SEGMENT_RE.test(n)).sort()
    const segments: Segment[] = []
    const entries: Entry[] = []
    let expected: number | undefined
    let cut = false
    const damage = (index: number, why: string) => {
      if (index <= hardState.commit) throw new RaftStorageDamageError(`raft log in ${dir}: entry ${index} ${why}, at or below the persisted commit ${hardState.commit}`)
      logger.warn({ dir, index, reason: why }, 'cutting the raft log tail that was not synced')
      cut = true
    }
    for (const name of names) {
      const firstIndex = Number(SEGMENT_RE.exec(name)![1])
      if (cut) {
        await storage.remove(`${dir}/${name}`)
        continue
      }
      if (expected !== undefined && firstIndex !== expected) {
        damage(expected, `is missing (the next segment starts at ${firstIndex})`)
        await storage.remove(`${dir}/${name}`)
        continue
      }
      const file = await storage.open(`${dir}/${name}`, { create: false })
      const bytes = await file.read(0, file.size())
      const seg: Segment = { firstIndex, name, file, positions: [] }
      let pos = 0
      let index = firstIndex
      while (pos < bytes.length) {
        const why = checkRecord(bytes, pos, index, crc)
        if (why) {
          damage(index, why)
          await file.truncate(pos)
          await file.sync()
          break
        }
        const view = new DataView(bytes.buffer, bytes.byteOffset + pos)
        const length = view.getUint32(0)
        const payload = new ByteReader(bytes.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + length))
        const term = payload.i64()
        payload.i64()
        seg.positions.push(pos)
        entries.push({ term, index, data: payload.rest().slice() })
        pos += RECORD_HEADER_BYTES + length
        index++
      }
      segments.push(seg)
      expected = index
    }

    // Only entries after the snapshot count, and only if the log continues it.
    let kept = entries.filter((e) => e.index > snapIndex)
    if (snapIndex > 0 && entries.length > 0) {
      const atSnap = entries.find((e) => e.index === snapIndex)
      const continues = atSnap ? atSnap.term === snapTerm : entries[0]!.index === snapIndex + 1
      if (!continues && kept.length > 0) {
        if (kept[0]!.index <= hardState.commit) throw new RaftStorageDamageError(`raft log in ${dir} does not continue the snapshot at ${snapIndex} below the persisted commit ${hardState.commit}`)
        kept = []
      }
    } else if (snapIndex === 0 && entries.length > 0 && entries[0]!.index !== 1) {
      throw new RaftStorageDamageError(`raft log in ${dir} starts at ${entries[0]!.index} with no snapshot before it`)
    }
    const lastIndex = kept.length > 0 ? kept[kept.length - 1]!.index : snapIndex
    if (hardState.commit > lastIndex) throw new RaftStorageDamageError(`raft hard state in ${dir} commits ${hardState.commit} beyond the durable log (last index ${lastIndex})`)
    if (kept.length === 0) {
      // Nothing to keep: every segment goes, the next append starts a fresh one.
      for (const s of segments) {
        await s.file.close()
        await storage.remove(`${dir}/${s.name}`)
      }
      segments.length = 0
    }

    const view = new MemoryRaftStorage(opts.membership)
    if (snapshot) view.applySnapshot(snapshot)
    view.append(kept)
    view.setHardState(hardState)
    return new RaftLogStore(storage, opts, view, segments, snapIndex, hardState)
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
      const touched = new Set<Segment>()
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
  async #append(all: readonly Entry[], touched: Set<Segment>): Promise<boolean> {
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
  async #truncateFrom(from: number, touched: Set<Segment>): Promise<void> {
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
  async #dropSegments(upTo: number, touched: Set<Segment>): Promise<boolean> {
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

function encodeRecord(e: Entry, crc: Crc32cFn): Uint8Array {
  const length = PAYLOAD_FIXED_BYTES + e.data.length
  const out = new ByteWriter(RECORD_HEADER_BYTES + length).u32(length).u32(0).i64(e.term).i64(e.index).raw(e.data).finish()
  new DataView(out.buffer, out.byteOffset).setUint32(4, crc(out, RECORD_HEADER_BYTES, out.length))
  return out
}

/** Why the record at pos is not entry `index`, or null when it is whole and intact. */
function checkRecord(bytes: Uint8Array, pos: number, index: number, crc: Crc32cFn): string | null {
  if (bytes.length - pos < RECORD_HEADER_BYTES) return 'is torn (short header)'
  const view = new DataView(bytes.buffer, bytes.byteOffset + pos)
  const length = view.getUint32(0)
  if (length < PAYLOAD_FIXED_BYTES) return `has an impossible length ${length}`
  if (bytes.length - pos - RECORD_HEADER_BYTES < length) return 'is torn (short payload)'
  const start = pos + RECORD_HEADER_BYTES
  if (crc(bytes, start, start + length) !== view.getUint32(4)) return 'fails its CRC'
  const at = Number(view.getBigInt64(RECORD_HEADER_BYTES + 8))
  if (at !== index) return `carries index ${at}`
  return null
}

function withCrc(w: ByteWriter, crc: Crc32cFn): Uint8Array {
  const body = w.finish()
  const out = new Uint8Array(body.length + 4)
  out.set(body)
  new DataView(out.buffer).setUint32(body.length, crc(body, 0, body.length))
  return out
}

function checkedBody(bytes: Uint8Array, crc: Crc32cFn, what: string): ByteReader {
  if (bytes.length < 5) throw new RaftStorageDamageError(`raft ${what} file is ${bytes.length} bytes long`)
  const end = bytes.length - 4
  if (crc(bytes, 0, end) !== new DataView(bytes.buffer, bytes.byteOffset).getUint32(end)) throw new RaftStorageDamageError(`raft ${what} file fails its CRC`)
  const r = new ByteReader(bytes.subarray(0, end))
  const version = r.u8()
  if (version !== FORMAT_VERSION) throw new RaftStorageDamageError(`raft ${what} file has format version ${version}`)
  return r
}

export function encodeHardState(hs: HardState, crc: Crc32cFn = jsCrc32c): Uint8Array {
  return withCrc(new ByteWriter(32).u8(FORMAT_VERSION).i64(hs.term).u32(hs.vote).i64(hs.commit), crc)
}

function decodeHardState(bytes: Uint8Array, crc: Crc32cFn): HardState {
  const r = checkedBody(bytes, crc, 'hard state')
  try {
    const hs = { term: r.i64(), vote: r.u32(), commit: r.i64() }
    r.end()
    return hs
  } catch (e) {
    throw new RaftStorageDamageError(`raft hard state file is malformed: ${(e as Error).message}`)
  }
}

function encodeSnapshot(s: Snapshot, crc: Crc32cFn): Uint8Array {
  const { index, term, voters, learners } = s.metadata
  const w = new ByteWriter(64 + s.data.length).u8(FORMAT_VERSION).i64(index).i64(term).u32(voters.length)
  for (const v of voters) w.u32(v)
  w.u32(learners.length)
  for (const l of learners) w.u32(l)
  return withCrc(w.bytes(s.data), crc)
}

function decodeSnapshot(bytes: Uint8Array, crc: Crc32cFn): Snapshot {
  const r = checkedBody(bytes, crc, 'snapshot')
  try {
    const index = r.i64()
    const term = r.i64()
    const voters = Array.from({ length: r.count(4) }, () => r.u32())
    const learners = Array.from({ length: r.count(4) }, () => r.u32())
    const data = r.bytes().slice()
    r.end()
    return { metadata: { index, term, voters, learners }, data }
  } catch (e) {
    throw new RaftStorageDamageError(`raft snapshot file is malformed: ${(e as Error).message}`)
  }
}
