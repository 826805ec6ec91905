/**
 * @module One connection to the brokers: the hello handshake, push routing, and reconnect with full-jitter backoff
 * across the broker URLs. It performs the effects of the pure reducer in `connection-state.ts`, in order, one event
 * at a time (events raised while performing are queued), and owns the connection's reconnect timer and its parts:
 * broker-socket.ts (one socket attempt and its open timeout), request-table.ts (correlation ids, in-flight, queued
 * and timed-out requests), heartbeat.ts (ping and probe), status-waits.ts (statuses(), ready(), connectOrFail()).
 *
 * Silence is a failure (a blackholed path shows nothing else, not even a close): a socket that has not opened within
 * requestTimeoutMs is given up (the next URL is tried), and a request written to the socket that gets no answer
 * within its timeout makes the connection probe the socket at once with a heartbeat ping (even when periodic
 * heartbeats are off): no pong within heartbeatTimeoutMs closes it and the connection starts over. A socket that is
 * merely slow answers the ping and keeps its late answers (onLateResponse). With a `token`, each hello carries one
 * and token-keeper.ts refreshes it in-band; a refused token closes the connection for good (SASL_AUTHENTICATION_FAILED
 * is not retriable), while a TOKEN_EXPIRED close is an ordinary reconnect (with a fresh token from the function).
 */
import {
  ApiKeys, MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, SamsaError, decodePush, helloClientSide as hello, pingClientSide as ping, readFrameHeader,
  reauthenticateClientSide as reauthenticate, type ClientExchange, type HelloRequest, type HelloResponse, type Push,
} from '@samsa/shared'
import { clientClosedError, clientError } from '../client-errors.js'
import { silentLogger, systemClock, type Clock, type Logger, type Random, type TimerHandle } from '../ports.js'
import { normalizeBrokers } from '../validation/broker-url.js'
import { backoffDelayMs, defaultBackoff } from './backoff.js'
import { BrokerSocket } from './broker-socket.js'
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_HEARTBEAT_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, type ConnectionOptions, type RequestOptions } from './connection-options.js'
import { ConnectionReasons, initialConnectionState, transition, type ConnectionEffect, type ConnectionEvent, type ConnectionState } from './connection-state.js'
import { Emitter } from './emitter.js'
import { Heartbeat } from './heartbeat.js'
import { RequestTable, pendingRequest, type PendingRequest } from './request-table.js'
import { TokenKeeper } from './token-keeper.js'
import { connectOrFail, statusStream, whenReady } from './status-waits.js'

export { clientClosedError } from '../client-errors.js'
export { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_HEARTBEAT_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, type ConnectionOptions, type RequestOptions } from './connection-options.js'

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

export class Connection {
  readonly #opts: ConnectionOptions
  /** The normalized broker base URLs. */
  readonly #brokers: readonly string[]
  readonly #clock: Clock
  readonly #random: Random
  readonly #log: Logger
  readonly #events = new Emitter<ConnectionEvents>()
  #state = initialConnectionState()
  /** The live socket, or null; a socket let go reports nothing more (broker-socket.ts). */
  #socket: BrokerSocket | null = null
  /** Queued, in-flight and timed-out requests; nothing is in flight whenever #socket is null. */
  readonly #requests: RequestTable
  readonly #heartbeat: Heartbeat
  readonly #tokens: TokenKeeper
  #hello: HelloResponse | null = null
  #reconnectTimer: TimerHandle | null = null
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
    this.#requests = new RequestTable(this.#clock, this.#log)
    this.#heartbeat = new Heartbeat({
      clock: this.#clock,
      log: this.#log,
      intervalMs: opts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      timeoutMs: opts.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
      socket: () => this.#socket,
      connected: () => this.#state.status === 'connected',
      ping: (timeoutMs) => this.request(ping, {}, { timeoutMs }),
      missed: (message) => this.#dispatch({ type: 'heartbeatMissed', message }),
    })
    this.#tokens = new TokenKeeper(opts.token, {
      clock: this.#clock,
      log: this.#log,
      reauthenticate: (token) => this.request(reauthenticate, { token }).then((r) => r.expiresAtMs),
    })
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
    return statusStream(this)
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
    return connectOrFail(this, this.#brokers, this.#clock, timeoutMs)
  }

  /** Resolves with the hello response once connected; rejects if the connection closes first. */
  ready(): Promise<HelloResponse> {
    return whenReady(this)
  }

  /** Sends a request, waiting for a connection if there is none; rejects with a SamsaError. */
  request<Req, Res>(exchange: ClientExchange<Req, Res>, request: Req, options: RequestOptions<Res> = {}): Promise<Res> {
    if (this.#state.status === 'closed') return Promise.reject(clientClosedError('the client is closed'))
    return new Promise<Res>((resolve, reject) => {
      const noResponse = options.noResponse ?? false
      const failOnDisconnect = options.failOnDisconnect ?? false
      // No response (acks 0): the promise resolves, empty, once the frame is written.
      const written = noResponse ? () => (resolve as (value?: Res) => void)() : undefined
      const pending = pendingRequest(exchange, request, { resolve, reject, noResponse, failOnDisconnect, written, onLate: options.onLateResponse })
      this.#requests.arm(pending, options.timeoutMs ?? this.#opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, this.#onTimeout)
      if (this.#state.status === 'connected') this.#write(pending)
      else {
        this.#requests.enqueue(pending)
        this.connect()
        if (failOnDisconnect) this.#retryNow()
      }
    })
  }

  /** Waiting out the reconnect backoff: the attempt is made now instead. */
  #retryNow(): void {
    if (this.#state.status !== 'disconnected' || this.#reconnectTimer === null) return
    this.#perform({ type: 'cancelReconnect' })
    this.#dispatch({ type: 'backoffElapsed' })
  }

  close(): void {
    this.#dispatch({ type: 'close' })
    this.#network?.removeEventListener('online', this.#onOnline)
    this.#network?.removeEventListener('offline', this.#onOffline)
  }

  /** A request timed out; written to the socket and unanswered: is anyone there? (A ping's own timeout is the heartbeat's to judge.) */
  readonly #onTimeout = (pending: PendingRequest, written: boolean, timeoutMs: number): void => {
    if (written && pending.exchange !== ping) this.#heartbeat.probe(pending.exchange.name, timeoutMs)
  }

  #write(pending: PendingRequest): void {
    const socket = this.#socket
    if (socket === null) return this.#requests.enqueue(pending)
    this.#requests.write(pending, this.#hello?.version ?? 0, (frame) => socket.send(frame))
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
        if (state.status === 'connected' && previous.status !== 'connected') this.#heartbeat.start()
        if (state.status !== 'connected') {
          this.#heartbeat.stop()
          this.#tokens.stopped()
        }
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
        return socket?.discard(effect.closeCode, effect.message)
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
        return this.#requests.failInFlight(new SamsaError('NETWORK_EXCEPTION', `connection lost: ${effect.message}`))
      case 'flushQueued':
        for (const p of this.#requests.takeQueued()) this.#write(p)
        return
      case 'failAll':
        return this.#requests.failAll(clientClosedError(effect.message))
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

  #open(attempt: number): void {
    const url = `${this.#brokers[attempt % this.#brokers.length]!}/ws`
    const openTimeoutMs = this.#opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    let socket: BrokerSocket
    try {
      socket = new BrokerSocket(this.#opts.WebSocket, url, { clock: this.#clock, log: this.#log, openTimeoutMs }, {
        opened: () => {
          if (socket === this.#socket) this.#dispatch({ type: 'socketOpened' })
        },
        message: (data) => {
          if (socket === this.#socket) this.#receive(data)
        },
        closed: (closeCode, message) => {
          if (socket !== this.#socket) return
          this.#socket = null
          this.#dispatch({ type: 'socketClosed', closeCode, message })
        },
      })
    } catch (error) {
      this.#log.warn({ url, error }, 'could not open socket')
      return this.#dispatch({ type: 'socketClosed', closeCode: 1006, message: `cannot open ${url}: ${error instanceof Error ? error.message : String(error)}` })
    }
    this.#log.debug({ url, attempt }, 'opening socket')
    this.#socket = socket
    this.#heartbeat.reset()
  }

  #sendHello(): void {
    const socket = this.#socket
    this.#hello = null
    let token: string | Promise<string> | undefined
    try {
      token = this.#tokens.forHello()
    } catch (error) {
      token = Promise.reject(error)
    }
    if (!(token instanceof Promise)) return this.#writeHello(socket, token)
    token.then(
      (t) => {
        if (socket === this.#socket) this.#writeHello(socket, t)
      },
      (error: unknown) => {
        if (socket !== this.#socket) return
        this.#log.warn({ error: error instanceof Error ? error.message : String(error) }, 'the token function failed; retrying with backoff')
        this.#dispatch({ type: 'handshakeFailed', retriable: true, message: `the token function failed: ${error instanceof Error ? error.message : String(error)}` })
      },
    )
  }

  #writeHello(socket: BrokerSocket | null, token: string | undefined): void {
    const request: HelloRequest = { clientId: this.#opts.clientId, minVersion: MIN_PROTOCOL_VERSION, maxVersion: MAX_PROTOCOL_VERSION, ...(token !== undefined ? { token } : {}) }
    const pending = pendingRequest(hello, request, {
      resolve: (res) => {
        if (socket !== this.#socket) return
        if (res.version < MIN_PROTOCOL_VERSION || res.version > MAX_PROTOCOL_VERSION) {
          const message = `broker chose protocol version ${res.version}, outside ${MIN_PROTOCOL_VERSION}..${MAX_PROTOCOL_VERSION}`
          this.#handshakeError = new SamsaError('UNSUPPORTED_VERSION', message)
          return this.#dispatch({ type: 'handshakeFailed', retriable: false, message })
        }
        this.#hello = res
        this.#session++
        this.#log.info({ brokerId: res.brokerId, version: res.version, session: this.#session }, 'connected')
        this.#dispatch({ type: 'handshakeSucceeded' })
        if (this.#state.status === 'connected') this.#tokens.started(token)
      },
      reject: (error) => {
        if (socket !== this.#socket) return
        const retriable = !(error instanceof SamsaError) || error.retriable
        if (!retriable) this.#handshakeError = error
        this.#dispatch({ type: 'handshakeFailed', retriable, message: error.message })
      },
    })
    this.#requests.arm(pending, this.#opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, this.#onTimeout)
    this.#write(pending)
  }

  /** A frame from the live socket: a push goes to the `push` listeners, a response to its request. */
  #receive(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) {
      this.#log.warn({ type: typeof data }, 'ignoring a non-binary frame')
      return
    }
    const bytes = new Uint8Array(data)
    try {
      const header = readFrameHeader(bytes)
      if (header.apiKey === ApiKeys.PUSH) {
        for (const error of this.#events.emit('push', decodePush(bytes))) this.#log.error({ error }, 'push listener threw')
        return
      }
      this.#requests.answer(header, bytes)
    } catch (error) {
      this.#log.warn({ error }, 'undecodable frame; closing the socket')
      this.#perform({ type: 'closeSocket', closeCode: 1002, message: 'undecodable frame' })
      this.#dispatch({ type: 'socketClosed', closeCode: 1002, message: `undecodable frame: ${error instanceof Error ? error.message : String(error)}` })
    }
  }
}
