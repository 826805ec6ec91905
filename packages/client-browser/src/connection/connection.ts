/**
 * @module One WebSocket per client: the hello handshake, request/response correlation with per-request timeouts,
 * push routing, and reconnect with full-jitter backoff across the broker URLs. It performs the effects of the
 * pure reducer in `connection-state.ts` and owns every timer and socket of the connection.
 *
 * Silence is a failure (a blackholed path shows nothing else, not even a close): a socket that has not opened within
 * requestTimeoutMs is given up (the next URL is tried), and a request written to the socket that gets no answer
 * within its timeout makes the connection probe the socket at once with a heartbeat ping (even when periodic
 * heartbeats are off): no pong within heartbeatTimeoutMs closes it and the connection starts over. A socket that is
 * merely slow answers the ping and keeps its late answers (onLateResponse).
 */
import {
  ApiKeys,
  ErrorCodes,
  MAX_PROTOCOL_VERSION,
  MIN_PROTOCOL_VERSION,
  SamsaError,
  decodePush,
  decodeResponseFrame,
  encodeRequestFrame,
  hello,
  ping,
  readFrameHeader,
  type Exchange,
  type HelloResponse,
  type Push,
} from '@samsa/shared'
import { silentLogger, systemClock, type Clock, type Logger, type Random, type TimerHandle, type WebSocketConstructor, type WebSocketLike } from '../ports.js'
import { backoffDelayMs, defaultBackoff, type BackoffPolicy } from './backoff.js'
import { ConnectionReasons, initialConnectionState, transition, type ConnectionEffect, type ConnectionEvent, type ConnectionState } from './connection-state.js'
import { clientError } from '../client-errors.js'
import { normalizeBrokers } from '../validation/broker-url.js'
import { Emitter } from './emitter.js'

export interface ConnectionOptions {
  /** Base URLs (`ws://host:port`, normalized as in validation/broker-url.ts); the connection uses `<base>/ws` and rotates through them on reconnect. */
  readonly brokers: readonly string[]
  readonly clientId: string
  readonly WebSocket: WebSocketConstructor
  readonly clock?: Clock
  readonly random?: Random
  readonly logger?: Logger
  readonly requestTimeoutMs?: number
  readonly backoff?: BackoffPolicy
  /** Source of `online`/`offline` events; defaults to globalThis when it is an EventTarget (browsers); null disables. */
  readonly networkEvents?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> | null
  /** While connected, a `ping` is sent this many ms after the previous pong. Default 15 000; 0 disables heartbeats. */
  readonly heartbeatIntervalMs?: number
  /** A ping without a pong within this many ms means the socket is half-open: it is closed and the client reconnects. Default 10 000. */
  readonly heartbeatTimeoutMs?: number
}

export interface StatusChange {
  readonly previous: ConnectionState
  readonly current: ConnectionState
}

export interface ConnectionEvents extends Record<string, unknown> {
  /** The status or its reason changed. */
  status: StatusChange
  /** A server push (records or the end of a subscription). */
  push: Push
}

export interface RequestOptions<Res = unknown> {
  readonly timeoutMs?: number
  /** No response is expected (produce with acks 0): resolves once written. */
  readonly noResponse?: boolean
  /**
   * Called with a successful response that arrives on the same socket after the request timed out (the promise has
   * already rejected), so the caller can undo what the broker did, e.g. unsubscribe a subscription it gave up on.
   */
  readonly onLateResponse?: (response: Res) => void
}

interface PendingRequest {
  readonly exchange: Exchange<unknown, unknown>
  readonly request: unknown
  readonly noResponse: boolean
  readonly resolve: (response: unknown) => void
  readonly reject: (error: Error) => void
  timer: TimerHandle | null
  readonly onLate?: ((response: unknown) => void) | undefined
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 10_000
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000

/** The client was closed; not retriable, so retry loops stop. */
export function clientClosedError(message: string): SamsaError {
  return new SamsaError({ ...ErrorCodes.NETWORK_EXCEPTION, retriable: false }, message)
}

export class Connection {
  readonly #opts: ConnectionOptions
  /** The normalized broker base URLs. */
  readonly #brokers: readonly string[]
  readonly #clock: Clock
  readonly #random: Random
  readonly #log: Logger
  readonly #events = new Emitter<ConnectionEvents>()
  #state = initialConnectionState()
  /** The live socket, or null; events from any other socket are ignored. */
  #socket: WebSocketLike | null = null
  /** Written to #socket and awaiting a response, by correlation id; empty whenever #socket is null. */
  readonly #inFlight = new Map<number, PendingRequest>()
  /** Timed-out requests of #socket that want a late response (onLateResponse), by correlation id; cleared with #inFlight. */
  readonly #timedOut = new Map<number, PendingRequest>()
  /** Waiting for a connection, in the order they were issued; written in that order on connect. */
  #queued: PendingRequest[] = []
  /** Never 0: push frames use 0. */
  #nextCorrelationId = 1
  #hello: HelloResponse | null = null
  #reconnectTimer: TimerHandle | null = null
  /** The next heartbeat ping, scheduled only while connected. */
  #heartbeatTimer: TimerHandle | null = null
  /** Gives up on #socket if it has not opened within requestTimeoutMs; null once it opened or closed. */
  #openTimer: TimerHandle | null = null
  /** A heartbeat ping is outstanding (scheduled, or a probe after a request timed out). */
  #probing = false
  /** Incremented on every successful handshake; consumers re-subscribe when it changes. */
  #session = 0
  #dispatching = false
  readonly #eventQueue: ConnectionEvent[] = []
  readonly #onOnline = () => this.#dispatch({ type: 'online' })
  readonly #onOffline = () => this.#dispatch({ type: 'offline' })
  readonly #network: ConnectionOptions['networkEvents']
  /** The error of a handshake that failed for good, kept for `closed`. */
  #handshakeError: Error | null = null
  #resolveClosed!: (error: Error | undefined) => void
  /**
   * Settles once, when the state becomes `closed`: undefined after close(), else the error that closed it for good
   * (CONNECTION_REJECTED for a terminal close code, the handshake's error for a fatal handshake). Never rejects.
   */
  readonly closed: Promise<Error | undefined> = new Promise((resolve) => (this.#resolveClosed = resolve))

  constructor(opts: ConnectionOptions) {
    this.#brokers = normalizeBrokers(opts.brokers, 'new Connection(options)', 'options.brokers')
    this.#opts = opts
    this.#clock = opts.clock ?? systemClock
    this.#random = opts.random ?? Math.random
    this.#log = (opts.logger ?? silentLogger).child({ component: 'connection', clientId: opts.clientId })
    const g = globalThis as Partial<EventTarget>
    this.#network = opts.networkEvents !== undefined ? opts.networkEvents : typeof g.addEventListener === 'function' ? (g as EventTarget) : null
    this.#network?.addEventListener('online', this.#onOnline)
    this.#network?.addEventListener('offline', this.#onOffline)
  }

  get state(): ConnectionState {
    return this.#state
  }
  /** The broker's answer to the last successful hello (limits, agreed version). */
  get helloResponse(): HelloResponse | null {
    return this.#hello
  }
  get session(): number {
    return this.#session
  }

  on<K extends keyof ConnectionEvents>(event: K, listener: (payload: ConnectionEvents[K]) => void): () => void {
    return this.#events.on(event, listener)
  }

  /**
   * The current state, then every change, as an async iterable; it ends after yielding the `closed` state (or when
   * the consumer breaks out). Changes are buffered, so a slow reader sees every one in order.
   */
  statuses(): AsyncIterableIterator<ConnectionState> {
    const buffered: ConnectionState[] = [this.#state]
    let wake: (() => void) | null = null
    let done = false
    const off = this.on('status', ({ current }) => {
      buffered.push(current)
      wake?.()
      wake = null
    })
    const finish = (): IteratorResult<ConnectionState> => {
      done = true
      off()
      buffered.length = 0
      return { done: true, value: undefined }
    }
    const iterator: AsyncIterableIterator<ConnectionState> = {
      next: async () => {
        for (;;) {
          if (done) return { done: true, value: undefined }
          const state = buffered.shift()
          if (state !== undefined) {
            if (state.status === 'closed') {
              off()
              done = true
            }
            return { done: false, value: state }
          }
          await new Promise<void>((resolve) => (wake = resolve))
        }
      },
      return: async () => finish(),
      [Symbol.asyncIterator]: () => iterator,
    }
    return iterator
  }

  /** Starts connecting (idempotent). Requests also start it. */
  connect(): void {
    this.#dispatch({ type: 'connect' })
  }

  /**
   * Connects now and resolves with the hello response, or rejects fast: with CONNECTION_FAILED once every broker URL
   * has failed one attempt (refused, unreachable, upgrade refused) or while the platform reports no network, with
   * CONNECT_TIMEOUT after timeoutMs, with the closing error if the connection closes for good. A rejection changes
   * nothing else: the connection keeps retrying in the background (close() stops it).
   */
  connectOrFail(timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS): Promise<HelloResponse> {
    if (this.#state.status === 'connected' && this.#hello) return Promise.resolve(this.#hello)
    if (this.#state.status === 'closed') return this.closed.then((error) => Promise.reject(error ?? clientClosedError(this.#state.reason.message)))
    return new Promise((resolve, reject) => {
      let failures = 0
      const finish = (outcome: () => void) => {
        off()
        this.#clock.clearTimeout(timer)
        outcome()
      }
      const timer = this.#clock.setTimeout(
        () => finish(() => reject(clientError('CONNECT_TIMEOUT', `no connection to ${this.#brokers.join(', ')} within ${timeoutMs} ms (${this.#state.reason.message})`, { timeoutMs }))),
        timeoutMs,
      )
      const check = (current: ConnectionState, previous: ConnectionState | null) => {
        if (current.status === 'connected' && this.#hello) return finish(() => resolve(this.#hello!))
        if (current.status === 'closed') return finish(() => void this.closed.then((error) => reject(error ?? clientClosedError(current.reason.message))))
        if (!current.online) {
          return finish(() => reject(clientError('CONNECTION_FAILED', `cannot connect to ${this.#brokers.join(', ')}: the platform reports no network`)))
        }
        if (previous?.status === 'connecting' && current.status === 'disconnected' && ++failures >= this.#brokers.length) {
          const closeCode = current.reason.closeCode
          return finish(() => reject(clientError('CONNECTION_FAILED', `cannot connect to ${this.#brokers.join(', ')}: ${current.reason.message}`, closeCode === undefined ? {} : { closeCode })))
        }
      }
      const off = this.on('status', ({ previous, current }) => check(current, previous))
      this.connect()
      check(this.#state, null)
    })
  }

  /** Resolves with the hello response once connected; rejects if the connection closes first. */
  ready(): Promise<HelloResponse> {
    if (this.#state.status === 'connected' && this.#hello) return Promise.resolve(this.#hello)
    if (this.#state.status === 'closed') return Promise.reject(clientClosedError(this.#state.reason.message))
    this.connect()
    return new Promise((resolve, reject) => {
      const off = this.on('status', ({ current }) => {
        if (current.status === 'connected' && this.#hello) resolve(this.#hello)
        else if (current.status === 'closed') reject(clientClosedError(current.reason.message))
        else return
        off()
      })
    })
  }

  /** Sends a request, waiting for a connection if there is none; rejects with a SamsaError. */
  request<Req, Res>(exchange: Exchange<Req, Res>, request: Req, options: RequestOptions<Res> = {}): Promise<Res> {
    if (this.#state.status === 'closed') return Promise.reject(clientClosedError('the client is closed'))
    return new Promise<Res>((resolve, reject) => {
      const pending: PendingRequest = {
        exchange: exchange as Exchange<unknown, unknown>,
        request,
        noResponse: options.noResponse ?? false,
        resolve: resolve as (r: unknown) => void,
        reject,
        timer: null,
        onLate: options.onLateResponse as ((response: unknown) => void) | undefined,
      }
      const timeoutMs = options.timeoutMs ?? this.#opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
      pending.timer = this.#clock.setTimeout(() => this.#timeOut(pending, timeoutMs), timeoutMs)
      if (this.#state.status === 'connected') this.#write(pending)
      else {
        this.#queued.push(pending)
        this.connect()
      }
    })
  }

  close(): void {
    this.#dispatch({ type: 'close' })
    this.#network?.removeEventListener('online', this.#onOnline)
    this.#network?.removeEventListener('offline', this.#onOffline)
  }

  #timeOut(pending: PendingRequest, timeoutMs: number): void {
    pending.timer = null
    let written = false
    for (const [id, p] of this.#inFlight) {
      if (p !== pending) continue
      written = true
      this.#inFlight.delete(id)
      if (pending.onLate !== undefined) this.#timedOut.set(id, pending)
    }
    this.#queued = this.#queued.filter((p) => p !== pending)
    pending.reject(new SamsaError('REQUEST_TIMED_OUT', `${pending.exchange.name} got no response within ${timeoutMs} ms`))
    // Written to the socket and unanswered: is anyone there? (A ping's own timeout is the heartbeat's to judge.)
    if (written && pending.exchange !== ping && !this.#probing && this.#state.status === 'connected') {
      this.#log.info({ exchange: pending.exchange.name, timeoutMs }, 'request timed out: probing the socket')
      this.#stopHeartbeat()
      this.#heartbeat()
    }
  }

  #settle(pending: PendingRequest): void {
    if (pending.timer !== null) this.#clock.clearTimeout(pending.timer)
    pending.timer = null
  }

  #write(pending: PendingRequest): void {
    const socket = this.#socket
    if (socket === null) return void this.#queued.push(pending)
    const correlationId = this.#nextCorrelationId
    this.#nextCorrelationId = this.#nextCorrelationId >= 0xffff_ffff ? 1 : this.#nextCorrelationId + 1
    const version = this.#hello?.version ?? 0
    let frame: Uint8Array
    try {
      frame = encodeRequestFrame(pending.exchange, version, correlationId, pending.request)
    } catch (error) {
      this.#settle(pending)
      return pending.reject(error instanceof Error ? error : new Error(String(error)))
    }
    if (!pending.noResponse) this.#inFlight.set(correlationId, pending)
    socket.send(frame)
    if (pending.noResponse) {
      this.#settle(pending)
      pending.resolve(undefined)
    }
  }

  #dispatch(event: ConnectionEvent): void {
    this.#eventQueue.push(event)
    if (this.#dispatching) return
    this.#dispatching = true
    try {
      for (let e = this.#eventQueue.shift(); e !== undefined; e = this.#eventQueue.shift()) {
        const previous = this.#state
        const { state, effects } = transition(previous, e)
        this.#state = state
        for (const effect of effects) this.#perform(effect)
        if (state.status === 'connected' && previous.status !== 'connected') this.#scheduleHeartbeat()
        if (state.status !== 'connected') this.#stopHeartbeat()
        if (state.status === 'closed' && previous.status !== 'closed') this.#resolveClosed(this.#closingError(state))
        if (state.status !== previous.status || state.reason !== previous.reason) {
          this.#log.debug({ from: previous.status, to: state.status, reason: state.reason.code, attempt: state.attempt }, 'connection status')
          for (const error of this.#events.emit('status', { previous, current: state })) this.#log.error({ error }, 'status listener threw')
        }
      }
    } finally {
      this.#dispatching = false
    }
  }

  #perform(effect: ConnectionEffect): void {
    switch (effect.type) {
      case 'openSocket':
        return this.#open(effect.attempt)
      case 'sendHello':
        return this.#sendHello()
      case 'closeSocket': {
        const socket = this.#socket
        this.#socket = null
        this.#clearOpenTimer()
        try {
          socket?.close(effect.closeCode, effect.message)
        } catch (error) {
          this.#log.debug({ error }, 'socket close threw')
        }
        return
      }
      case 'scheduleReconnect': {
        const delayMs = backoffDelayMs(effect.attempt, this.#opts.backoff ?? defaultBackoff, this.#random)
        this.#log.info({ attempt: effect.attempt, delayMs }, 'reconnecting after backoff')
        this.#reconnectTimer = this.#clock.setTimeout(() => {
          this.#reconnectTimer = null
          this.#dispatch({ type: 'backoffElapsed' })
        }, delayMs)
        return
      }
      case 'cancelReconnect':
        if (this.#reconnectTimer !== null) this.#clock.clearTimeout(this.#reconnectTimer)
        this.#reconnectTimer = null
        return
      case 'failInFlight':
        return this.#failInFlight(new SamsaError('NETWORK_EXCEPTION', `connection lost: ${effect.message}`))
      case 'flushQueued': {
        const queued = this.#queued
        this.#queued = []
        for (const p of queued) this.#write(p)
        return
      }
      case 'failAll': {
        const error = clientClosedError(effect.message)
        this.#failInFlight(error)
        const queued = this.#queued
        this.#queued = []
        for (const p of queued) {
          this.#settle(p)
          p.reject(error)
        }
        return
      }
    }
  }

  /** Why the connection closed for good; undefined when the application closed it. */
  #closingError(state: ConnectionState): Error | undefined {
    switch (state.reason.code) {
      case ConnectionReasons.CLOSE_REQUESTED:
        return undefined
      case ConnectionReasons.TERMINAL_CLOSE_CODE:
        return clientError('CONNECTION_REJECTED', `the broker closed the connection with ${state.reason.closeCode}: ${state.reason.message}`, { closeCode: state.reason.closeCode ?? 0 })
      default:
        return this.#handshakeError ?? clientClosedError(state.reason.message)
    }
  }

  #scheduleHeartbeat(): void {
    this.#stopHeartbeat()
    const intervalMs = this.#opts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS
    if (intervalMs <= 0) return
    this.#heartbeatTimer = this.#clock.setTimeout(() => {
      this.#heartbeatTimer = null
      this.#heartbeat()
    }, intervalMs)
  }

  #clearOpenTimer(): void {
    if (this.#openTimer !== null) this.#clock.clearTimeout(this.#openTimer)
    this.#openTimer = null
  }

  #stopHeartbeat(): void {
    if (this.#heartbeatTimer !== null) this.#clock.clearTimeout(this.#heartbeatTimer)
    this.#heartbeatTimer = null
  }

  /** Sends a ping over the current socket; a pong schedules the next, a timeout declares the socket half-open. */
  #heartbeat(): void {
    const socket = this.#socket
    if (this.#state.status !== 'connected' || socket === null) return
    const timeoutMs = this.#opts.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS
    this.#probing = true
    this.request(ping, {}, { timeoutMs }).then(
      () => {
        if (socket !== this.#socket) return
        this.#probing = false
        if (this.#state.status === 'connected') this.#scheduleHeartbeat()
      },
      (error: unknown) => {
        if (socket !== this.#socket) return // that socket is already gone; the new one has its own heartbeat
        this.#probing = false
        if (error instanceof SamsaError && error.errorName === 'REQUEST_TIMED_OUT') {
          this.#log.warn({ timeoutMs }, 'no pong: closing the half-open socket')
          return this.#dispatch({ type: 'heartbeatMissed', message: `no pong within ${timeoutMs} ms` })
        }
        if (this.#state.status === 'connected') this.#scheduleHeartbeat()
      },
    )
  }

  #failInFlight(error: SamsaError): void {
    const pending = [...this.#inFlight.values()]
    this.#inFlight.clear()
    this.#timedOut.clear()
    for (const p of pending) {
      this.#settle(p)
      p.reject(error)
    }
  }

  #open(attempt: number): void {
    const base = this.#brokers[attempt % this.#brokers.length]!
    const url = `${base}/ws`
    let socket: WebSocketLike
    try {
      socket = new this.#opts.WebSocket(url)
    } catch (error) {
      this.#log.warn({ url, error }, 'could not open socket')
      return this.#dispatch({ type: 'socketClosed', closeCode: 1006, message: `cannot open ${url}: ${error instanceof Error ? error.message : String(error)}` })
    }
    this.#log.debug({ url, attempt }, 'opening socket')
    socket.binaryType = 'arraybuffer'
    this.#socket = socket
    this.#probing = false
    const openTimeoutMs = this.#opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.#clearOpenTimer()
    this.#openTimer = this.#clock.setTimeout(() => {
      this.#openTimer = null
      if (socket !== this.#socket) return
      this.#log.warn({ url, timeoutMs: openTimeoutMs }, 'socket not open in time: giving up on it')
      this.#socket = null
      try {
        socket.close()
      } catch (error) {
        this.#log.debug({ error }, 'socket close threw')
      }
      this.#dispatch({ type: 'socketClosed', closeCode: 1006, message: `could not connect to ${url}: no answer within ${openTimeoutMs} ms` })
    }, openTimeoutMs)
    socket.addEventListener('open', () => {
      if (socket !== this.#socket) return
      this.#clearOpenTimer()
      this.#dispatch({ type: 'socketOpened' })
    })
    socket.addEventListener('message', (event: { data: unknown }) => {
      if (socket === this.#socket) this.#receive(event.data)
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
      if (socket !== this.#socket) return
      this.#socket = null
      this.#clearOpenTimer()
      const code = event.code ?? 1006
      const message = event.reason || (opened ? `socket to ${url} closed (${code})` : `could not connect to ${url}${failure ? ` (${failure})` : ''}: refused, unreachable or not a Samsa broker`)
      this.#dispatch({ type: 'socketClosed', closeCode: code, message })
    })
  }

  #sendHello(): void {
    const socket = this.#socket
    const timeoutMs = this.#opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.#hello = null
    const pending: PendingRequest = {
      exchange: hello as Exchange<unknown, unknown>,
      request: { clientId: this.#opts.clientId, minVersion: MIN_PROTOCOL_VERSION, maxVersion: MAX_PROTOCOL_VERSION },
      noResponse: false,
      resolve: (r) => {
        if (socket !== this.#socket) return
        const res = r as HelloResponse
        if (res.version < MIN_PROTOCOL_VERSION || res.version > MAX_PROTOCOL_VERSION) {
          const message = `broker chose protocol version ${res.version}, outside ${MIN_PROTOCOL_VERSION}..${MAX_PROTOCOL_VERSION}`
          this.#handshakeError = new SamsaError('UNSUPPORTED_VERSION', message)
          return this.#dispatch({ type: 'handshakeFailed', retriable: false, message })
        }
        this.#hello = res
        this.#session++
        this.#log.info({ brokerId: res.brokerId, version: res.version, session: this.#session }, 'connected')
        this.#dispatch({ type: 'handshakeSucceeded' })
      },
      reject: (error) => {
        if (socket !== this.#socket) return
        const retriable = !(error instanceof SamsaError) || error.retriable
        if (!retriable) this.#handshakeError = error
        this.#dispatch({ type: 'handshakeFailed', retriable, message: error.message })
      },
      timer: null,
    }
    pending.timer = this.#clock.setTimeout(() => this.#timeOut(pending, timeoutMs), timeoutMs)
    this.#write(pending)
  }

  #receive(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) {
      this.#log.warn({ type: typeof data }, 'ignoring a non-binary frame')
      return
    }
    const bytes = new Uint8Array(data)
    let pending: PendingRequest | undefined
    try {
      const header = readFrameHeader(bytes)
      if (header.apiKey === ApiKeys.PUSH) {
        for (const error of this.#events.emit('push', decodePush(bytes))) this.#log.error({ error }, 'push listener threw')
        return
      }
      pending = this.#inFlight.get(header.correlationId)
      const late = pending === undefined ? this.#timedOut.get(header.correlationId) : undefined
      if (late !== undefined) {
        this.#timedOut.delete(header.correlationId)
        if (header.apiKey !== late.exchange.apiKey) return
        const decoded = decodeResponseFrame(bytes)
        if (decoded.error !== null) return
        const response = late.exchange.decodeResponse(decoded.body)
        try {
          late.onLate?.(response)
        } catch (error) {
          this.#log.error({ error }, 'onLateResponse threw')
        }
        return
      }
      if (pending === undefined) return this.#log.debug({ correlationId: header.correlationId }, 'response for no pending request (timed out?)')
      this.#inFlight.delete(header.correlationId)
      this.#settle(pending)
      if (header.apiKey !== pending.exchange.apiKey) {
        return pending.reject(new SamsaError('UNKNOWN_SERVER_ERROR', `response apiKey ${header.apiKey} does not match request ${pending.exchange.name}`))
      }
      const decoded = decodeResponseFrame(bytes)
      if (decoded.error !== null) pending.reject(decoded.error)
      else pending.resolve(pending.exchange.decodeResponse(decoded.body))
    } catch (error) {
      pending?.reject(new SamsaError('CORRUPT_MESSAGE', `undecodable ${pending.exchange.name} response`))
      this.#log.warn({ error }, 'undecodable frame; closing the socket')
      this.#perform({ type: 'closeSocket', closeCode: 1002, message: 'undecodable frame' })
      this.#dispatch({ type: 'socketClosed', closeCode: 1002, message: `undecodable frame: ${error instanceof Error ? error.message : String(error)}` })
    }
  }
}
