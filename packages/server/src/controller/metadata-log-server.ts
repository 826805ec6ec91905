/**
 * @module MetadataLogServer: a controller voter's side of fetchMetadata, which broker-only nodes (observers of the
 * metadata log) long-poll. It keeps the most recent committed batches in memory, as applied (at most
 * `maxKeptEntries` and `maxKeptBytes`; the Raft log on disk stays the driver's), and answers a fetch with the kept
 * batches after the observer's offset, or with the encoded current image when some of them are no longer kept.
 *
 * Invariants: the kept batches are exactly every committed batch with an offset in (keptAfter, image.offset], in
 * order, so an answer never skips one; a fetch waits at most min(its maxWaitMs, `maxWaitMs`), and at most
 * `maxWaiting` fetches wait at once (more are answered at once); an answer holds at most maxBytes of entries (at
 * least one when any is due).
 */
import type { FetchMetadataRequest, FetchMetadataResponse, MetadataLogEntry } from '@samsa/shared'
import type { Clock, Timer } from '../clock.js'
import { encodeMetadataImage, type MetadataImage } from './metadata/index.js'

export interface MetadataLogServerOptions {
  readonly clock: Clock
  /** This voter's committed image and the controller leader it knows (0: none) in its term. */
  readonly current: () => { readonly image: MetadataImage; readonly leaderId: number; readonly term: number }
  /** Batches kept for observers (default 1,000, the snapshot interval) and their byte budget (default 8 MiB). */
  readonly maxKeptEntries?: number
  readonly maxKeptBytes?: number
  /** Fetches allowed to wait at once (default 256) and the longest wait granted (default 10 s). */
  readonly maxWaiting?: number
  readonly maxWaitMs?: number
  /** Entry bytes in one answer at most (default 1 MiB), whatever the fetch asks. */
  readonly maxAnswerBytes?: number
}

interface Waiting {
  readonly req: FetchMetadataRequest
  readonly resolve: (r: FetchMetadataResponse) => void
  readonly timer: Timer
}

export class MetadataLogServer {
  readonly #o: MetadataLogServerOptions
  #kept: MetadataLogEntry[] = []
  #keptBytes = 0
  /** Every committed batch after this offset is in #kept. */
  #keptAfter = -1
  readonly #waiting = new Set<Waiting>()
  #stopped = false

  constructor(opts: MetadataLogServerOptions) {
    this.#o = opts
  }

  /** A committed batch was applied at `offset` (after every earlier one). */
  onApplied(offset: number, data: Uint8Array): void {
    // A copy: the entry may be a view into a larger buffer read from the Raft log, which it would keep alive.
    this.#kept.push({ offset, data: data.slice() })
    this.#keptBytes += data.length
    const maxEntries = this.#o.maxKeptEntries ?? 1_000
    const maxBytes = this.#o.maxKeptBytes ?? 8 * 1024 * 1024
    while (this.#kept.length > 0 && (this.#kept.length > maxEntries || this.#keptBytes > maxBytes)) {
      const dropped = this.#kept.shift()!
      this.#keptBytes -= dropped.data.length
      this.#keptAfter = dropped.offset
    }
    this.wake()
  }

  /** The image was replaced by a snapshot's: nothing before it is kept. */
  onRestored(imageOffset: number): void {
    this.#kept = []
    this.#keptBytes = 0
    this.#keptAfter = imageOffset
    this.wake()
  }

  /** Answers every waiting fetch that is due (a new batch, or a controller leader other than the one it knows). */
  wake(): void {
    for (const w of [...this.#waiting]) if (this.#stopped || this.#due(w.req)) this.#answer(w)
  }

  fetch(req: FetchMetadataRequest): Promise<FetchMetadataResponse> {
    const waitMs = Math.min(req.maxWaitMs, this.#o.maxWaitMs ?? 10_000)
    if (this.#stopped || waitMs <= 0 || this.#due(req) || this.#waiting.size >= (this.#o.maxWaiting ?? 256)) return Promise.resolve(this.#response(req))
    return new Promise((resolve) => {
      const w: Waiting = { req, resolve, timer: this.#o.clock.setTimeout(() => this.#answer(w), waitMs) }
      this.#waiting.add(w)
    })
  }

  /** Fetches waiting now (≤ maxWaiting). */
  get waiting(): number {
    return this.#waiting.size
  }

  /** Answers every waiting fetch now. */
  stop(): void {
    this.#stopped = true
    this.wake()
  }

  #due(req: FetchMetadataRequest): boolean {
    const { image, leaderId } = this.#o.current()
    return image.offset > req.afterOffset || (leaderId !== 0 && leaderId !== req.knownLeaderId)
  }

  #answer(w: Waiting): void {
    if (!this.#waiting.delete(w)) return
    this.#o.clock.clearTimeout(w.timer)
    w.resolve(this.#response(w.req))
  }

  #response(req: FetchMetadataRequest): FetchMetadataResponse {
    const { image, leaderId, term } = this.#o.current()
    const head = { leaderId, term, latestOffset: image.offset }
    if (req.afterOffset >= image.offset) return { ...head, snapshot: null, entries: [] }
    if (req.afterOffset < this.#keptAfter) return { ...head, snapshot: encodeMetadataImage(image), entries: [] }
    const maxBytes = Math.min(req.maxBytes, this.#o.maxAnswerBytes ?? 1024 * 1024)
    const entries: MetadataLogEntry[] = []
    let bytes = 0
    for (const e of this.#kept) {
      if (e.offset <= req.afterOffset) continue
      if (entries.length > 0 && bytes + e.data.length > maxBytes) break
      entries.push(e)
      bytes += e.data.length
    }
    return { ...head, snapshot: null, entries }
  }
}
