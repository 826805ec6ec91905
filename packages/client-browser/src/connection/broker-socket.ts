/**
 * @module One WebSocket attempt to one broker (`<base>/ws`, binary frames): it reports opened, each message and one
 * close, with the best failure text the runtime gives ("connect ECONNREFUSED …" from ws; browsers say nothing). A
 * socket that has not opened within the open timeout is given up and reported closed (1006), so a blackholed broker
 * does not hold the connection.
 *
 * Invariants: it reports `closed` at most once, and after that, or after `discard()`, it reports nothing more, so
 * events of a socket the connection has let go can never touch its successor.
 */
import type { Clock, Logger, TimerHandle, WebSocketConstructor, WebSocketLike } from '../ports.js'

export interface BrokerSocketEvents {
  opened(): void
  message(data: unknown): void
  closed(closeCode: number, message: string): void
}

export class BrokerSocket {
  readonly url: string
  readonly #socket: WebSocketLike
  readonly #log: Logger
  readonly #clock: Clock
  /** Gives up on the socket if it has not opened in time; null once it opened or closed. */
  #openTimer: TimerHandle | null
  /** Reports events; false once closed or discarded. */
  #live = true

  /** Opens a socket to `url`; throws what the WebSocket constructor throws (a bad URL, no WebSocket). */
  constructor(WebSocket: WebSocketConstructor, url: string, opts: { clock: Clock; log: Logger; openTimeoutMs: number }, events: BrokerSocketEvents) {
    const socket = new WebSocket(url)
    this.url = url
    this.#socket = socket
    this.#log = opts.log
    this.#clock = opts.clock
    socket.binaryType = 'arraybuffer'
    const { openTimeoutMs } = opts
    this.#openTimer = opts.clock.setTimeout(() => {
      this.#openTimer = null
      if (!this.#live) return
      this.#log.warn({ url, timeoutMs: openTimeoutMs }, 'socket not open in time: giving up on it')
      this.discard()
      events.closed(1006, `could not connect to ${url}: no answer within ${openTimeoutMs} ms`)
    }, openTimeoutMs)
    socket.addEventListener('open', () => {
      if (!this.#live) return
      this.#clearOpenTimer()
      events.opened()
    })
    socket.addEventListener('message', (event: { data: unknown }) => {
      if (this.#live) events.message(event.data)
    })
    let opened = false
    /** What the runtime said about the failure (ws: "connect ECONNREFUSED 127.0.0.1:1"; browsers say nothing). */
    let failure = ''
    socket.addEventListener('open', () => (opened = true))
    socket.addEventListener('error', (event: { message?: unknown; error?: { message?: unknown } } | undefined) => {
      const message = event?.message ?? event?.error?.message
      if (typeof message === 'string' && message !== '') failure = message
      this.#log.debug({ url, error: failure }, 'socket error')
    })
    socket.addEventListener('close', (event: { code?: number; reason?: string }) => {
      if (!this.#live) return
      this.#live = false
      this.#clearOpenTimer()
      const code = event.code ?? 1006
      const message = event.reason || (opened ? `socket to ${url} closed (${code})` : `could not connect to ${url}${failure ? ` (${failure})` : ''}: refused, unreachable or not a Samsa broker`)
      events.closed(code, message)
    })
  }

  send(frame: Uint8Array): void {
    this.#socket.send(frame)
  }

  /** Lets the socket go: closes it and reports nothing more. */
  discard(closeCode?: number, message?: string): void {
    this.#live = false
    this.#clearOpenTimer()
    try {
      this.#socket.close(closeCode, message)
    } catch (error) {
      this.#log.debug({ error }, 'socket close threw')
    }
  }

  #clearOpenTimer(): void {
    if (this.#openTimer !== null) this.#clock.clearTimeout(this.#openTimer)
    this.#openTimer = null
  }
}
