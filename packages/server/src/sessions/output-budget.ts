/**
 * @module OutputBudget: one byte budget (maxBufferedBytes) for everything queued for one connection — pushes
 * of all its subscriptions, fetch replies, every response. Invariants:
 * - output that has to be read from the log first (pushes, fetch replies) reserves its size before the read,
 *   so it is never built while the budget is spent: queuedBytes (socket buffer + reservations) stays within
 *   maxBytes plus at most one frame (a reservation always succeeds when nothing is queued, and a single batch
 *   larger than the reservation is still sent whole);
 * - while over budget the connection is congested: reading from its socket is paused (backpressure: the client
 *   cannot queue more requests), fetch reads wait in FIFO order and subscriptions stop pumping;
 * - output built but held back (responses waiting out a quota throttle) counts as queued until it is sent;
 * - congestion ends when queuedBytes falls to half the budget (hysteresis); a connection congested for
 *   slowConsumerTimeoutMs is closed as a slow consumer.
 */
import { SamsaError } from '@samsa/shared'
import type { Clock, Timer } from '../clock.js'
import type { SessionSocket } from './session-socket.js'

export interface OutputBudgetHost {
  readonly socket: SessionSocket
  readonly clock: Clock
  readonly maxBytes: number
  readonly slowConsumerTimeoutMs: number
  /** Reading from the socket was paused (true) or resumed (false). */
  readingPaused(paused: boolean): void
  /** There is room again: producers of output that gave up (subscriptions) may try again. */
  roomAgain(): void
  slowConsumer(reason: string): void
}

interface Waiter {
  readonly bytes: number
  readonly grant: (release: () => void) => void
  readonly fail: (e: SamsaError) => void
}

/** How often a congested connection is checked for having drained (the socket port has no drain event). */
export const DRAIN_CHECK_INTERVAL_MS = 25

export class OutputBudget {
  readonly #host: OutputBudgetHost
  #reservedBytes = 0
  readonly #waiters: Waiter[] = []
  /** Set while congested (reading paused): since when, on the monotonic clock. */
  #congestedSinceMs: number | null = null
  #timer: Timer | null = null
  #closed = false

  constructor(host: OutputBudgetHost) {
    this.#host = host
  }

  /** Bytes in the socket's send buffer plus bytes reserved for output being read. */
  get queuedBytes(): number {
    return this.#host.socket.bufferedAmount() + this.#reservedBytes
  }

  get congested(): boolean {
    return this.#congestedSinceMs !== null
  }

  /** Reserves room for output not built yet; false (and the connection congested) when there is none. */
  tryReserve(bytes: number): boolean {
    if (this.#closed) return false
    if (this.#waiters.length === 0 && this.#hasRoom(bytes)) {
      this.#reservedBytes += bytes
      return true
    }
    this.#congest()
    return false
  }

  /**
   * Output built but held back (a response waiting out a quota throttle): counted as queued until released, whatever
   * the budget, so what is read and built after it waits for room.
   */
  hold(bytes: number): void {
    if (this.#closed) return
    this.#reservedBytes += bytes
    if (this.queuedBytes > this.#host.maxBytes) this.#congest()
  }

  /** Gives back a reservation (or a hold) once its output was sent (or not built after all). */
  release(bytes: number): void {
    this.#reservedBytes -= bytes
  }

  /** Waits (FIFO) for room; resolves with the release function; rejects with NETWORK_EXCEPTION if the connection closes first. */
  reserve(bytes: number): Promise<() => void> {
    if (this.tryReserve(bytes)) return Promise.resolve(this.#releaser(bytes))
    if (this.#closed) return Promise.reject(gone())
    return new Promise((grant, fail) => this.#waiters.push({ bytes, grant, fail }))
  }

  /** After anything was handed to the socket: a send buffer over budget congests the connection. */
  sent(): void {
    if (!this.#closed && this.#host.socket.bufferedAmount() > this.#host.maxBytes) this.#congest()
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer) this.#host.clock.clearTimeout(this.#timer)
    this.#timer = null
    if (this.#congestedSinceMs !== null) {
      // Read again so the closing handshake (the client's close frame, or its reset) is seen and the socket freed.
      this.#host.socket.resumeReading()
      this.#host.readingPaused(false)
    }
    this.#congestedSinceMs = null
    for (const w of this.#waiters.splice(0)) w.fail(gone())
  }

  #hasRoom(bytes: number): boolean {
    const queued = this.queuedBytes
    return queued === 0 || queued + bytes <= this.#host.maxBytes
  }

  #releaser(bytes: number): () => void {
    let done = false
    return () => {
      if (done) return
      done = true
      this.release(bytes)
    }
  }

  #congest(): void {
    if (this.#closed) return
    if (this.#congestedSinceMs === null) {
      this.#congestedSinceMs = this.#host.clock.monotonicMs()
      this.#host.socket.pauseReading()
      this.#host.readingPaused(true)
    }
    this.#scheduleCheck()
  }

  #scheduleCheck(): void {
    if (this.#timer || this.#closed) return
    this.#timer = this.#host.clock.setTimeout(() => {
      this.#timer = null
      this.#check()
    }, DRAIN_CHECK_INTERVAL_MS)
  }

  #check(): void {
    if (this.#closed || this.#congestedSinceMs === null) return
    while (this.#waiters.length > 0 && this.#hasRoom(this.#waiters[0]!.bytes)) {
      const w = this.#waiters.shift()!
      this.#reservedBytes += w.bytes
      w.grant(this.#releaser(w.bytes))
    }
    if (this.#waiters.length === 0 && this.queuedBytes <= this.#host.maxBytes / 2) {
      this.#congestedSinceMs = null
      this.#host.socket.resumeReading()
      this.#host.readingPaused(false)
      this.#host.roomAgain()
      return
    }
    const { slowConsumerTimeoutMs } = this.#host
    if (this.#host.clock.monotonicMs() - this.#congestedSinceMs >= slowConsumerTimeoutMs) {
      return this.#host.slowConsumer(`the client did not read ${this.#host.socket.bufferedAmount()} queued bytes within ${slowConsumerTimeoutMs} ms`)
    }
    this.#host.roomAgain()
    this.#scheduleCheck()
  }
}

function gone(): SamsaError {
  return new SamsaError('NETWORK_EXCEPTION', 'the connection closed before the response could be sent')
}
