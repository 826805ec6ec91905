/**
 * @module The liveness check of a connected socket: a `ping` every interval after the previous pong, and a probe at
 * once when a request goes unanswered (a blackholed path shows nothing else, not even a close). A ping without a
 * pong within the timeout reports the socket half-open (`missed`); the connection then closes it and starts over.
 *
 * Invariants: at most one ping is outstanding (`probing`); the periodic timer runs only while connected (the
 * connection calls `start` on connecting and `stop` on leaving); an answer, or a timeout, for a socket that is no
 * longer current changes nothing (the new socket has its own heartbeat).
 */
import { SamsaError } from '@samsa/shared'
import type { Clock, Logger, TimerHandle } from '../ports.js'

export interface HeartbeatDeps {
  readonly clock: Clock
  readonly log: Logger
  /** A ping is sent this many ms after the previous pong; 0 disables the periodic ping (probes still run). */
  readonly intervalMs: number
  /** A ping without a pong within this many ms means the socket is half-open. */
  readonly timeoutMs: number
  /** The current socket (identity only), or null. */
  socket(): unknown
  connected(): boolean
  /** Sends a ping on the current socket; rejects with REQUEST_TIMED_OUT when no pong comes in time. */
  ping(timeoutMs: number): Promise<unknown>
  /** No pong in time: the socket is half-open. */
  missed(message: string): void
}

export class Heartbeat {
  readonly #deps: HeartbeatDeps
  /** The next periodic ping, scheduled only while connected. */
  #timer: TimerHandle | null = null
  /** A ping is outstanding (periodic, or a probe after a request timed out). */
  #probing = false

  constructor(deps: HeartbeatDeps) {
    this.#deps = deps
  }

  /** A new socket: nothing is outstanding on it. */
  reset(): void {
    this.#probing = false
  }

  /** (Re)schedules the periodic ping. */
  start(): void {
    this.stop()
    const { intervalMs, clock } = this.#deps
    if (intervalMs <= 0) return
    this.#timer = clock.setTimeout(() => {
      this.#timer = null
      this.#ping()
    }, intervalMs)
  }

  stop(): void {
    if (this.#timer !== null) this.#deps.clock.clearTimeout(this.#timer)
    this.#timer = null
  }

  /** A request written to the socket got no answer in time: is anyone there? (Skipped while a ping is outstanding.) */
  probe(exchange: string, timeoutMs: number): void {
    if (this.#probing || !this.#deps.connected()) return
    this.#deps.log.info({ exchange, timeoutMs }, 'request timed out: probing the socket')
    this.stop()
    this.#ping()
  }

  /** Sends a ping over the current socket; a pong schedules the next, a timeout declares the socket half-open. */
  #ping(): void {
    const deps = this.#deps
    const socket = deps.socket()
    if (!deps.connected() || socket === null) return
    const { timeoutMs } = deps
    this.#probing = true
    deps.ping(timeoutMs).then(
      () => {
        if (socket !== deps.socket()) return
        this.#probing = false
        if (deps.connected()) this.start()
      },
      (error: unknown) => {
        if (socket !== deps.socket()) return // that socket is already gone; the new one has its own heartbeat
        this.#probing = false
        if (error instanceof SamsaError && error.errorName === 'REQUEST_TIMED_OUT') {
          deps.log.warn({ timeoutMs }, 'no pong: closing the half-open socket')
          return deps.missed(`no pong within ${timeoutMs} ms`)
        }
        if (deps.connected()) this.start()
      },
    )
  }
}
