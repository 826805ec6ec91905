/**
 * @module The check a replica makes of the batches a read returned before they leave the broker (to a consumer or a
 * follower): they are the log's batches from the requested offset on, whole and intact. A batch failing it is damage
 * found at read time (bit rot after the write); recovery makes the same checks when the log is opened.
 *
 * Checked per batch: the magic byte, the CRC-32C (over attributes through the last record, as the producer wrote it),
 * the offsets (the first batch holds the requested offset, each next one starts where the previous one ended) and
 * the leader epoch against the partition's leader-epoch cache (the epoch and offset fields lie outside the CRC).
 * Record framing is not walked again: the CRC covers it and it was verified when the batch was appended.
 */
import type { Log } from './log.js'
import { BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD, MAGIC, SamsaError, batchLastOffset, readBatchHeader, type Crc32cFn } from '@samsa/shared'

/** Where the CRC-covered part of a batch starts (after baseOffset, batchLength, partitionLeaderEpoch, magic, crc). */
const CRC_START = 21

export interface ServedBatchesCheck {
  readonly crc32c: Crc32cFn
  /** The leader epoch the log records for the batch starting at `baseOffset`; undefined when it records none (not checked then). */
  readonly epochAt: (baseOffset: number) => number | undefined
}

export interface ReadDamage {
  /** The first offset of the batch that fails (the requested offset when the first batch fails or none came). */
  readonly offset: number
  readonly reason: string
}

/**
 * The first damage in `bytes`, read for `offset` from a log whose readable end is above `offset` (so at least one
 * whole batch is due), or null when every batch passes.
 */
export function damageInRead(bytes: Uint8Array, offset: number, check: ServedBatchesCheck): ReadDamage | null {
  if (bytes.length === 0) return { offset, reason: `no whole batch could be read at offset ${offset}, below the log's readable end` }
  let expected = offset
  for (let at = 0; at < bytes.length; ) {
    const first = at === 0
    if (bytes.length - at < BATCH_HEADER_BYTES) return { offset: expected, reason: `${bytes.length - at} trailing bytes, less than a batch header` }
    const h = readBatchHeader(bytes, at)
    const total = h.batchLength + BATCH_LOG_OVERHEAD
    if (h.magic !== MAGIC) return { offset: expected, reason: `batch magic is ${h.magic}, expected ${MAGIC}` }
    if (h.batchLength < BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD || total > bytes.length - at) return { offset: expected, reason: `bad batch length ${h.batchLength}` }
    const last = batchLastOffset(h)
    const placed = first ? h.baseOffset <= offset && offset <= last : h.baseOffset === expected
    if (!placed) return { offset: expected, reason: `the batch at offset ${expected} carries offsets ${h.baseOffset}..${last}` }
    if (check.crc32c(bytes, at + CRC_START, at + total) !== h.crc) return { offset: h.baseOffset, reason: `the batch at offset ${h.baseOffset} fails its CRC-32C` }
    const epoch = check.epochAt(h.baseOffset)
    if (epoch !== undefined && epoch !== h.partitionLeaderEpoch) return { offset: h.baseOffset, reason: `the batch at offset ${h.baseOffset} carries leader epoch ${h.partitionLeaderEpoch}; the leader-epoch cache says ${epoch}` }
    expected = last + 1
    at += total
  }
  return null
}

/**
 * A replica's reads, checked before they are served. A read whose batches fail is confirmed against the log itself
 * (`reread`: the batch at that offset read again under the log's mutation lock, null when the log no longer holds
 * it, so a truncation or retention racing the read is not taken for damage). Confirmed damage is sticky: every later
 * read of this log fails at once, and the listeners are told once (the replica manager stops serving the partition
 * and reopens it through recovery, which cuts it at the damage).
 */
export class ServedReads {
  readonly #check: ServedBatchesCheck
  readonly #reread: (offset: number) => Promise<Uint8Array | null>
  readonly #listeners = new Set<(damage: ReadDamage) => void>()
  #damage: ReadDamage | null = null

  constructor(check: ServedBatchesCheck, reread: (offset: number) => Promise<Uint8Array | null>) {
    this.#check = check
    this.#reread = reread
  }

  /** Over `log`: a suspect batch is read again inside `log.exclusive` (after any truncation or retention queued). */
  static of(log: Pick<Log, 'exclusive' | 'read' | 'logStartOffset' | 'logEndOffset'>, check: ServedBatchesCheck): ServedReads {
    return new ServedReads(check, (offset) => log.exclusive(async () => (offset < log.logStartOffset || offset >= log.logEndOffset ? null : log.read(offset, 1, log.logEndOffset))))
  }

  /** The damage found so far; null while every read passed. */
  get damage(): ReadDamage | null {
    return this.#damage
  }

  /** Throws NOT_LEADER_OR_FOLLOWER once damage is known (the partition is not served from this replica any more). */
  assertIntact(): void {
    if (this.#damage) throw damagedReplicaError(this.#damage)
  }

  /**
   * The bytes `read` returns (for `offset`, below the log's readable end) when they pass. NOT_LEADER_OR_FOLLOWER
   * (retriable: the partition moves to another replica) once damage is confirmed, without reading (the log may be
   * closed for its repair by then); CORRUPT_MESSAGE (retriable) when the batch read again passes or is gone, since the
   * bytes read failed and are not served.
   */
  async checked(read: () => Promise<Uint8Array>, offset: number): Promise<Uint8Array> {
    this.assertIntact()
    const bytes = await read()
    this.assertIntact()
    const suspect = damageInRead(bytes, offset, this.#check)
    if (suspect === null) return bytes
    const again = await this.#reread(suspect.offset)
    const confirmed = again === null ? null : damageInRead(again, suspect.offset, this.#check)
    if (confirmed === null) throw new SamsaError('CORRUPT_MESSAGE', `a read at offset ${offset} failed its check (${suspect.reason}) but the log read again passes; retry`)
    if (this.#damage === null) {
      this.#damage = confirmed
      for (const l of [...this.#listeners]) l(confirmed)
    }
    throw damagedReplicaError(this.#damage)
  }

  /** Calls `listener` once, when damage is confirmed (at once if it is already); returns the unregister function. */
  onDamage(listener: (damage: ReadDamage) => void): () => void {
    const known = this.#damage
    if (known) void Promise.resolve().then(() => listener(known))
    else this.#listeners.add(listener)
    return () => void this.#listeners.delete(listener)
  }
}

function damagedReplicaError(d: ReadDamage): SamsaError {
  return new SamsaError('NOT_LEADER_OR_FOLLOWER', `this broker's replica is damaged at offset ${d.offset} (${d.reason}); it stops serving the partition and repairs it from another replica`, { damagedOffset: d.offset })
}
