/**
 * @module LeaderEpochCache: a partition's leader epochs and the offset each started at (Kafka's
 * leader-epoch-checkpoint), the map a follower or a restarted leader truncates by (KIP-101/279), and the
 * `leader-epoch-checkpoint` file it is kept in.
 * File format (text, like Kafka's): a version line `0`, a count line, then one `epoch startOffset` line per entry,
 * then a CRC-32C line (hex) of everything before it. Written temp → fsync → rename → fsync of the directory.
 */
import { crc32c } from '@samsa/shared'
import type { LogStorage } from './log-storage.js'

export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint'

export interface EpochEntry {
  readonly epoch: number
  readonly startOffset: number
}

const enc = new TextEncoder()
const dec = new TextDecoder()

export class LeaderEpochCache {
  /** Invariant: epochs strictly increase; start offsets never decrease. */
  #entries: EpochEntry[]

  constructor(entries: readonly EpochEntry[] = []) {
    this.#entries = []
    for (const e of entries) this.assign(e.epoch, e.startOffset)
  }

  get entries(): readonly EpochEntry[] {
    return this.#entries
  }

  /** The newest epoch, or −1 when there is none. */
  get latestEpoch(): number {
    return this.#entries.at(-1)?.epoch ?? -1
  }

  /**
   * Records that the batch at `startOffset` carries `epoch` (Kafka's assign). The latest epoch again: nothing to do.
   * A newer epoch starts there; entries starting at or after startOffset are dropped first (their offsets were never
   * kept). An older epoch (a follower taking its leader's data) supersedes the newer epochs, which must have no batch
   * yet (start at or after startOffset; RangeError otherwise). Returns whether anything changed.
   */
  assign(epoch: number, startOffset: number): boolean {
    if (!Number.isSafeInteger(epoch) || epoch < 0 || !Number.isSafeInteger(startOffset) || startOffset < 0) {
      throw new RangeError(`invalid leader epoch entry (${epoch}, ${startOffset})`)
    }
    let changed = false
    for (let last = this.#entries.at(-1); last !== undefined && last.epoch > epoch; last = this.#entries.at(-1)) {
      if (last.startOffset < startOffset) throw new RangeError(`leader epoch ${last.epoch} has batches from offset ${last.startOffset}: epoch ${epoch} cannot follow at ${startOffset}`)
      this.#entries.pop()
      changed = true
    }
    if (this.latestEpoch === epoch) return changed
    while (this.#entries.length > 0 && this.#entries.at(-1)!.startOffset >= startOffset) this.#entries.pop()
    this.#entries.push({ epoch, startOffset })
    return true
  }

  /**
   * Kafka's OffsetsForLeaderEpoch: the largest epoch ≤ `epoch` this log knows, and the offset where the epoch after
   * it starts (logEndOffset when it is the latest). { epoch: −1, endOffset: −1 } when every known epoch is newer.
   */
  endOffsetFor(epoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    let i = this.#entries.length - 1
    while (i >= 0 && this.#entries[i]!.epoch > epoch) i--
    if (i < 0) return { epoch: -1, endOffset: -1 }
    const next = this.#entries[i + 1]
    return { epoch: this.#entries[i]!.epoch, endOffset: next ? next.startOffset : logEndOffset }
  }

  /** The epoch whose range holds offset (the batch at offset must carry it), or null below the first entry. */
  epochAt(offset: number): { epoch: number; startOffset: number; endOffset: number } | null {
    let i = this.#entries.length - 1
    while (i >= 0 && this.#entries[i]!.startOffset > offset) i--
    if (i < 0) return null
    const next = this.#entries[i + 1]
    return { epoch: this.#entries[i]!.epoch, startOffset: this.#entries[i]!.startOffset, endOffset: next ? next.startOffset : Number.MAX_SAFE_INTEGER }
  }

  /** After the log was cut to end at logEndOffset: drops the epochs that start after it. Returns whether anything changed. */
  truncateFromEnd(logEndOffset: number): boolean {
    const before = this.#entries.length
    this.#entries = this.#entries.filter((e) => e.startOffset <= logEndOffset)
    return this.#entries.length !== before
  }

  /** After retention moved the log start: the epoch holding it now starts there; older ones are dropped. */
  truncateFromStart(logStartOffset: number): boolean {
    const holding = this.epochAt(logStartOffset)
    if (holding === null || (this.#entries[0]!.startOffset >= logStartOffset)) return false
    this.#entries = [{ epoch: holding.epoch, startOffset: logStartOffset }, ...this.#entries.filter((e) => e.startOffset > logStartOffset)]
    return true
  }

  encode(): Uint8Array {
    const body = `0\n${this.#entries.length}\n${this.#entries.map((e) => `${e.epoch} ${e.startOffset}\n`).join('')}`
    return enc.encode(`${body}${crc32c(enc.encode(body)).toString(16).padStart(8, '0')}\n`)
  }

  /** The cache stored in bytes, or null when they are not a valid checkpoint (format, order or CRC). */
  static decode(bytes: Uint8Array): LeaderEpochCache | null {
    const text = dec.decode(bytes)
    const lines = text.split('\n')
    if (lines.at(-1) !== '' || lines.length < 4) return null
    const crcLine = lines.at(-2)!
    const body = lines.slice(0, -2).join('\n') + '\n'
    if (!/^[0-9a-f]{8}$/.test(crcLine) || parseInt(crcLine, 16) !== crc32c(enc.encode(body))) return null
    if (lines[0] !== '0') return null
    const count = Number(lines[1])
    const rows = lines.slice(2, -2)
    if (!Number.isSafeInteger(count) || rows.length !== count) return null
    const entries: EpochEntry[] = []
    for (const row of rows) {
      const m = /^(\d+) (\d+)$/.exec(row)
      if (!m) return null
      const e = { epoch: Number(m[1]), startOffset: Number(m[2]) }
      const prev = entries.at(-1)
      if (!Number.isSafeInteger(e.epoch) || !Number.isSafeInteger(e.startOffset) || (prev && (e.epoch <= prev.epoch || e.startOffset < prev.startOffset))) return null
      entries.push(e)
    }
    return new LeaderEpochCache(entries)
  }

  /** The stored cache: null when there is no file; a file that does not decode is reported through `invalid`. */
  static async read(storage: LogStorage, dir: string): Promise<{ cache: LeaderEpochCache | null; invalid: boolean }> {
    const bytes = await storage.readFile(`${dir}/${LEADER_EPOCH_CHECKPOINT}`)
    if (bytes === null) return { cache: null, invalid: false }
    const cache = LeaderEpochCache.decode(bytes)
    return { cache, invalid: cache === null }
  }

  /** Written temp → fsync → rename → fsync dir (writeFileAtomic): after a power loss the old or the new file, never a mix. */
  async write(storage: LogStorage, dir: string): Promise<void> {
    await storage.writeFileAtomic(`${dir}/${LEADER_EPOCH_CHECKPOINT}`, this.encode())
  }
}
