/**
 * @module One open room: its latest page of messages, then every new one live, and earlier pages on demand.
 * Opening reads the partition's log start and high watermark and subscribes from a page before the end (or from
 * the saved scroll anchor), never from the beginning; an earlier page is a bounded read of [lo, hi) with
 * `until: 'end'`, left as soon as it reaches hi. Rooms have one partition (0).
 */
import type { ConsumerRecord, Gap, SamsaClient, Subscription } from '@samsa/client-browser'
import { roomTopic } from './message.js'

export const PAGE_SIZE = 30
const RETRY_MS = 2_000

export interface FeedEvents {
  /** The room's bounds as last read from the broker. */
  bounds(logStart: number, highWatermark: number): void
  /** Records of the live subscription, in offset order. */
  live(record: ConsumerRecord): void
  /** An earlier page, in offset order (possibly empty), and whether anything is left before it. */
  earlier(records: ConsumerRecord[], more: boolean): void
  gap(gap: Gap): void
  /** The room's topic does not exist (deleted, or never created). */
  deleted(): void
  /** A subscription failed for good, or a read failed; `retrying` when the feed keeps trying by itself. */
  error(error: Error, retrying: boolean): void
  /** Waiting for the broker to learn where the room starts and ends. */
  waiting(on: boolean): void
}

const errorName = (e: unknown) => (e as { errorName?: string } | null)?.errorName

export class RoomFeed {
  readonly room: string
  readonly #topic: string
  readonly #client: SamsaClient
  readonly #events: FeedEvents
  #live: Subscription | null = null
  #closed = false
  #retry: ReturnType<typeof setTimeout> | null = null
  /** The lowest offset shown so far; earlier pages load below it. */
  #earliest: number | null = null
  #logStart = 0
  #loadingEarlier: Promise<void> | null = null

  constructor(client: SamsaClient, room: string, events: FeedEvents) {
    this.#client = client
    this.room = room
    this.#topic = roomTopic(room)
    this.#events = events
  }

  /** Starts at a page before the end, or at `anchor` (an offset the user had scrolled to) when it is earlier. */
  start(anchor: number | null): void {
    void this.#open(anchor)
  }

  get earliest(): number | null {
    return this.#earliest
  }

  async #open(anchor: number | null): Promise<void> {
    this.#events.waiting(true)
    let bounds: { logStart: number; highWatermark: number }
    try {
      const desc = await this.#client.admin.describeTopic(this.#topic)
      const p = desc.partitions.find((x) => x.partition === 0)
      if (!p) throw new Error(`${this.#topic} has no partition 0`)
      bounds = { logStart: p.logStartOffset, highWatermark: p.highWatermark }
    } catch (e) {
      if (this.#closed) return
      if (errorName(e) === 'UNKNOWN_TOPIC_OR_PARTITION') {
        this.#events.waiting(false)
        this.#events.deleted()
        return
      }
      // Broker unreachable or slow: keep trying; the view says it is waiting.
      this.#events.error(e as Error, true)
      this.#retry = setTimeout(() => void this.#open(anchor), RETRY_MS)
      return
    }
    if (this.#closed) return
    this.#events.waiting(false)
    this.#logStart = bounds.logStart
    this.#events.bounds(bounds.logStart, bounds.highWatermark)
    const fromEnd = Math.max(bounds.logStart, bounds.highWatermark - PAGE_SIZE)
    const start = anchor !== null && anchor < fromEnd ? Math.max(bounds.logStart, anchor - 5) : fromEnd
    this.#earliest = start
    const sub = this.#client.consumer({ id: 'chat-view' }).subscribe(this.#topic, { from: { 0: start }, reset: 'earliest' })
    this.#live = sub
    sub.onRecord((r) => {
      if (this.#earliest === null || r.offset < this.#earliest) this.#earliest = r.offset
      this.#events.live(r)
    })
    sub.onGap((g) => this.#events.gap(g))
    sub.onError((e) => this.#ended(e))
    this.#events.earlier([], start > bounds.logStart)
  }

  #ended(e: Error): void {
    if (this.#closed) return
    const name = errorName(e)
    if (name === 'TOPIC_DELETED' || name === 'UNKNOWN_TOPIC_OR_PARTITION') this.#events.deleted()
    else this.#events.error(e, false)
  }

  /** Loads the page before the earliest shown offset; resolves when it is shown. One load at a time. */
  loadEarlier(): Promise<void> {
    return (this.#loadingEarlier ??= this.#loadEarlier().finally(() => (this.#loadingEarlier = null)))
  }

  async #loadEarlier(): Promise<void> {
    const hi = this.#earliest
    if (hi === null || hi <= this.#logStart) return this.#events.earlier([], false)
    const lo = Math.max(this.#logStart, hi - PAGE_SIZE)
    const page: ConsumerRecord[] = []
    const sub = this.#client.consumer({ id: 'chat-history' }).subscribe(this.#topic, { from: { 0: lo }, until: 'end', reset: 'earliest' })
    let gapTo: number | null = null
    sub.onGap((g) => {
      gapTo = g.to
      this.#events.gap(g)
    })
    try {
      for await (const r of sub) {
        if (r.offset >= hi) break
        page.push(r)
      }
    } catch (e) {
      if (!this.#closed) this.#events.error(e as Error, false)
      return
    } finally {
      sub.close()
    }
    if (this.#closed) return
    const first = page[0]?.offset ?? gapTo ?? lo
    if (gapTo !== null) this.#logStart = Math.max(this.#logStart, gapTo)
    this.#earliest = Math.min(hi, first)
    this.#events.earlier(page, this.#earliest > this.#logStart)
  }

  close(): void {
    this.#closed = true
    if (this.#retry) clearTimeout(this.#retry)
    this.#live?.close()
  }
}
