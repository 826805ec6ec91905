/**
 * @module PushReads: the reads of one partition's subscriptions, shared. When the high watermark moves, every
 * subscription of the partition pumps; those at the same offset join one read (one storage or tail-cache read, one
 * scan of its batches) and one encoded frame per (apiVersion, subscriptionId): subscriptions with the same id on
 * different connections — the usual case, ids count from 1 per connection — hand the very same bytes to their sockets.
 * Invariants:
 * - a read is shared only while it is in flight, and only between callers asking for the same offset while the
 *   partition shows the same high watermark and log start: each gets what a read of its own issued at that moment
 *   would give (the batches below that high watermark do not change);
 * - the shared read asks for what its first caller may take; a caller allowed fewer bytes gets the leading whole
 *   batches within its limit (at least one), as a read of its own with that limit returns them; one allowed more gets
 *   the shared read whole (less than it could take: it reads on from there), so no caller reads more than one storage
 *   read of its own would;
 * - a frame handed out is never written to again (sockets may hold it queued);
 * - every caller's callback is called exactly once, after read() returned (never from inside it), in the order
 *   the callers asked.
 * Callbacks instead of a promise per caller: a read shared by 500 subscriptions settles one promise, not 500.
 */
import { batchLastOffset, encodePushRecords, readBatchHeader, scanBatches } from '@samsa/shared'
import type { PartitionLog } from '../log/partition-log.js'

/** What a push of `records` from `offset` carries, computed once per read. */
export class PreparedPush {
  /** Offset after the last record pushed. */
  readonly nextOffset: number
  /** Records pushed the client keeps (those of the first batch below `offset` are skipped by it). */
  readonly records: number
  readonly #frames = new Map<number, Uint8Array>()
  /** The frame last handed out and its key: a fan-out asks for the same (version, id) again and again. */
  #lastKey = -1
  #lastFrame: Uint8Array | null = null
  /** Deliveries of this push not yet reported (count()). */
  #delivered = 0

  constructor(
    readonly offset: number,
    readonly bytes: Uint8Array,
    readonly highWatermark: number,
    readonly logStartOffset: number,
  ) {
    let last = -1
    let records = 0
    for (const b of scanBatches(bytes)) {
      last = batchLastOffset(b.header)
      records += b.header.recordCount
    }
    this.nextOffset = last + 1
    this.records = records - Math.max(0, offset - readBatchHeader(bytes, 0).baseOffset)
  }

  /** The push frame for a subscription; the same bytes for every caller with the same version and id. */
  frame(apiVersion: number, subscriptionId: number): Uint8Array {
    const key = apiVersion * 2 ** 32 + subscriptionId
    if (key === this.#lastKey && this.#lastFrame !== null) return this.#lastFrame
    let frame = this.#frames.get(key)
    if (frame === undefined) {
      frame = encodePushRecords(apiVersion, subscriptionId, this.highWatermark, this.logStartOffset, this.bytes)
      this.#frames.set(key, frame)
    }
    this.#lastKey = key
    this.#lastFrame = frame
    return frame
  }

  /**
   * One delivery of this push: `report(records, bytes)` is called once for all deliveries counted in the same turn
   * (in a microtask), with their sums (metrics labelled per topic cost a hash per update: one per read, not per socket).
   */
  count(report: (records: number, bytes: number) => void): void {
    if (this.#delivered++ > 0) return
    // A microtask (a resolved promise, no runtime timer: the core stays free of scheduling globals).
    void Promise.resolve().then(() => {
      const n = this.#delivered
      this.#delivered = 0
      report(this.records * n, this.bytes.length * n)
    })
  }

  /** The leading whole batches within maxBytes (the first even when larger); this push when all fit. */
  within(maxBytes: number): PreparedPush {
    if (this.bytes.length <= maxBytes) return this
    let end = 0
    for (const b of scanBatches(this.bytes)) {
      if (end > 0 && b.at + b.totalBytes > maxBytes) break
      end = b.at + b.totalBytes
    }
    return new PreparedPush(this.offset, this.bytes.subarray(0, end), this.highWatermark, this.logStartOffset)
  }
}

type Waiter = (push: PreparedPush | null, err: unknown) => void

interface InFlight {
  readonly highWatermark: number
  readonly logStartOffset: number
  readonly waiters: { readonly maxBytes: number; readonly done: Waiter }[]
}

export class PushReads {
  readonly #log: PartitionLog
  /** Reads in flight by offset, each for the high watermark and log start it was issued at. */
  readonly #inFlight = new Map<number, InFlight>()

  constructor(log: PartitionLog) {
    this.#log = log
  }

  /**
   * Calls `done` once with the push from `offset` within maxBytes (null: nothing readable there), or with the read's
   * error (err undefined on success).
   */
  read(offset: number, maxBytes: number, done: Waiter): void {
    const highWatermark = this.#log.highWatermark
    const logStartOffset = this.#log.logStartOffset
    const entry = this.#inFlight.get(offset)
    if (entry !== undefined && entry.highWatermark === highWatermark && entry.logStartOffset === logStartOffset) {
      entry.waiters.push({ maxBytes, done })
      return
    }
    const mine: InFlight = { highWatermark, logStartOffset, waiters: [{ maxBytes, done }] }
    this.#inFlight.set(offset, mine)
    const settle = (push: PreparedPush | null, err: unknown): void => {
      if (this.#inFlight.get(offset) === mine) this.#inFlight.delete(offset)
      // One caller's failure must not cost the others their push: each is called, the first failure rethrown after.
      let failure: { error: unknown } | null = null
      for (const w of mine.waiters) {
        try {
          w.done(push === null ? null : push.within(w.maxBytes), err)
        } catch (e) {
          failure ??= { error: e }
        }
      }
      if (failure !== null) throw failure.error
    }
    this.#readShared(offset, maxBytes).then((push) => settle(push, undefined), (err: unknown) => settle(null, err ?? new Error('read failed')))
  }

  async #readShared(offset: number, maxBytes: number): Promise<PreparedPush | null> {
    const r = await this.#log.read(offset, maxBytes)
    if (r.records.length === 0) return null
    const push = new PreparedPush(offset, r.records, r.highWatermark, r.logStartOffset)
    return push.nextOffset > offset ? push : null
  }
}

/** One PushReads per partition log (across connections), created on first use. */
export class PushReadsRegistry {
  readonly #byLog = new WeakMap<PartitionLog, PushReads>()

  for(log: PartitionLog): PushReads {
    let reads = this.#byLog.get(log)
    if (reads === undefined) {
      reads = new PushReads(log)
      this.#byLog.set(log, reads)
    }
    return reads
  }
}
