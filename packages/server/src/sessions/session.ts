/**
 * @module Session: one WebSocket connection, independent of Hono and of the runtime. Feed it frames with
 * onFrame(); it answers through its SessionSocket. Every frame with a whole 8-byte header gets a response for
 * its correlation id (INVALID_REQUEST for a body that cannot be parsed) and the connection stays; only a frame
 * shorter than its header closes it with 1002. While a quota throttles the connection (connection-quotas.ts) no
 * frame is read or handled, and its responses and pushes wait, in order, until the throttle ends. While a hello is
 * being verified (a token), later frames wait and are handled in order once it is accepted; a refused one closes the
 * connection with UNAUTHORIZED (4401) (session-handshake.ts). No frame but hello is handled before a hello is
 * accepted, and every later one must carry the agreed version.
 */
import {
  ApiKeys, CloseCodes, closeCodeName, FRAME_HEADER_BYTES, ByteReader, ProtocolError, SamsaError,
  apiKeyName, decodeRaftMessageBody, encodeErrorFrame, encodeResponseFrame, exchangeByApiKey, readFrameHeader, type Exchange, type FrameHeader,
  type HelloRequest, type RaftWireMessage, type ReauthenticateRequest,
} from '@samsa/shared'
import type { Timer } from '../clock.js'
import type { Broker } from '../broker/broker.js'
import type { SessionSocket } from './session-socket.js'
import { ANONYMOUS, type Principal } from '../security/principal.js'
import { ConnectionQuotas } from './connection-quotas.js'
import { ReadPause } from './read-pause.js'
import { OutputBudget } from './output-budget.js'
import { RateLimitedLog, describeError } from './rate-limited-log.js'
import { SessionHandshake } from './session-handshake.js'
import { handleRequest, requestHandlers, type RequestHandlers } from './request-handlers.js'
import { SubscriptionTable } from './subscription-table.js'
import { toSamsaError } from './to-samsa-error.js'

/**
 * Where a Session sends broker-to-broker traffic, when this node runs a controller quorum. A connection becomes a
 * peer by naming, in its hello, a node id `isPeer` accepts and this broker's cluster id, and, when the cluster has a
 * secret (BrokerDeps.peerAuthenticator), a peer token signed with it for that node id.
 */
export interface PeerGate {
  isPeer(nodeId: number): boolean
  /** Raft messages a peer sent, already filtered to those whose `from` is that peer. */
  onRaftMessages(fromNodeId: number, messages: readonly RaftWireMessage[]): void
}

export class Session {
  readonly #broker: Broker
  readonly #peers: PeerGate | undefined
  readonly #socket: SessionSocket
  readonly subscriptions: SubscriptionTable
  readonly #handlers: RequestHandlers
  /** Hello and reauthenticate: the agreed version, the peer's node id, the principal's credential. */
  readonly #handshake: SessionHandshake
  clientId = ''
  #principal: Principal = ANONYMOUS
  /** This connection's quota slots, counters and throttle. */
  readonly #quotas: ConnectionQuotas
  /** Responses built while throttled, sent in order when the throttle ends. */
  readonly #held: Uint8Array[] = []
  #closed = false
  /** Everything queued for this connection, within maxBufferedBytes; pauses reading while over. */
  readonly #output: OutputBudget
  readonly #untrackOutput: () => void
  /**
   * Frames that arrived while the output was over budget, handled in order once it drains: no response is built
   * for a connection that is not reading. Reading is paused then, so only the rest of the socket chunk being
   * parsed arrives; a runtime that cannot pause is held to maxBufferedBytes of them (#deferredBytes) all the same.
   */
  readonly #deferred: Uint8Array[] = []
  #deferredBytes = 0
  /** Requests whose response is still pending; ≤ config.maxInFlightRequestsPerConnection. */
  #inFlight = 0
  /** Monotonic ms of the last frame received or response settled: the idle timeout counts from here. */
  #lastActivityMs: number
  /** One timer per connection, re-armed only when it fires (not per frame). */
  #idleTimer: Timer | null = null
  /** Work parked on this connection (fetch long-polls) to cancel when it closes. */
  readonly #closeListeners = new Set<() => void>()
  /** Lines about this connection's failed requests: no stacks for client-caused ones, rate-limited. */
  readonly #log: RateLimitedLog

  constructor(broker: Broker, socket: SessionSocket, peers?: PeerGate) {
    this.#broker = broker
    this.#peers = peers
    this.#socket = socket
    this.subscriptions = new SubscriptionTable(broker, this)
    this.#handlers = requestHandlers(broker, this)
    this.#log = new RateLimitedLog(broker.logger, broker.clock)
    const readPause = new ReadPause(socket)
    const session = this
    this.#quotas = new ConnectionQuotas(broker, {
      remoteAddress: socket.remoteAddress,
      get isPeer() {
        return session.#handshake.peerNodeId !== 0
      },
      pauseReading: (paused) => readPause.set('throttle', paused),
      throttleEnded: () => this.#throttleEnded(),
      exceeded: (reason) => this.close(CloseCodes.QUOTA_EXCEEDED, reason),
    })
    this.#output = new OutputBudget({
      socket: readPause.socketFor('output'),
      clock: broker.clock,
      maxBytes: broker.limits.maxBufferedBytes,
      slowConsumerTimeoutMs: broker.limits.slowConsumerTimeoutMs,
      readingPaused: (paused) => broker.metrics.connectionReadingPaused(paused),
      roomAgain: () => this.#roomAgain(),
      slowConsumer: (reason) => this.close(CloseCodes.SLOW_CONSUMER, reason),
    })
    this.#untrackOutput = broker.trackOutput(this.#output)
    this.#lastActivityMs = broker.clock.monotonicMs()
    this.#armIdleTimer(broker.limits.idleTimeoutMs)
    this.#handshake = new SessionHandshake(broker, peers, socket.remoteAddress, {
      get principal() {
        return session.principal
      },
      set principal(p: Principal) {
        session.principal = p
      },
      get clientId() {
        return session.clientId
      },
      set clientId(id: string) {
        session.clientId = id
      },
      get closed() {
        return session.#closed
      },
      reply: (header, exchange, res) => this.#reply(header, exchange, res),
      replyError: (header, error, cause) => this.#replyError(header, error, cause),
      close: (code, reason) => this.close(code, reason),
      helloSettled: () => this.#roomAgain(),
      recheckSubscriptions: () => this.subscriptions.recheckAuthorization(),
    })
    // Last: a connection past maxConnectionsPerIp or maxConnectionsPerPrincipal is closed at once (QUOTA_EXCEEDED).
    this.#quotas.open(this.#principal)
  }

  /** Who this connection speaks for: ANONYMOUS until authentication says otherwise; replaced on reauthentication. */
  get principal(): Principal {
    return this.#principal
  }

  /** Setting it moves the connection's quota slot to the new principal (closed with QUOTA_EXCEEDED when that one is full). */
  set principal(principal: Principal) {
    this.#principal = principal
    this.#quotas.principalChanged(principal)
  }

  /** The node id this connection named as a cluster peer in hello; 0 for an ordinary client. */
  /** The address the connection came from (a group member's clientHost). */
  get remoteAddress(): string {
    return this.#socket.remoteAddress ?? ''
  }

  get peerNodeId(): number {
    return this.#handshake.peerNodeId
  }

  /** 0 until hello succeeds; then the agreed version. */
  get version(): number {
    return this.#handshake.version
  }

  get closed(): boolean {
    return this.#closed
  }

  /** A binary frame from the client. Never throws. */
  onFrame(frame: Uint8Array): void {
    if (this.#closed) return
    this.#lastActivityMs = this.#broker.clock.monotonicMs()
    if (this.#output.congested || this.#quotas.throttled || this.#deferred.length > 0 || this.#handshake.pending) {
      this.#deferredBytes += frame.length
      if (this.#deferredBytes > this.#broker.limits.maxBufferedBytes) {
        return this.close(CloseCodes.SLOW_CONSUMER, `the client kept sending ${this.#deferredBytes} bytes of requests without reading its responses`)
      }
      this.#deferred.push(frame)
      return
    }
    this.#handleFrame(frame)
  }

  #roomAgain(): void {
    while (this.#deferred.length > 0 && !this.#output.congested && !this.#quotas.throttled && !this.#handshake.pending && !this.#closed) {
      const frame = this.#deferred.shift()!
      this.#deferredBytes -= frame.length
      this.#handleFrame(frame)
    }
    this.subscriptions.pumpAll()
  }

  #handleFrame(frame: Uint8Array): void {
    let header: FrameHeader
    try {
      header = readFrameHeader(frame)
    } catch (e) {
      this.close(CloseCodes.PROTOCOL_ERROR, e instanceof Error ? e.message : 'bad frame header')
      return
    }
    if (header.apiKey === ApiKeys.RAFT_MESSAGE) return this.#raftMessage(header, frame)
    const exchange = exchangeByApiKey.get(header.apiKey)
    if (!exchange) {
      this.#replyError(header, new SamsaError('UNKNOWN_API_KEY', `api key ${header.apiKey} is not known to this broker`))
      return
    }
    const version = this.#handshake.version
    if (header.apiKey !== ApiKeys.HELLO) {
      if (version === 0) return this.#replyError(header, new SamsaError('HELLO_REQUIRED', `send hello before ${exchange.name}`))
      if (header.apiVersion !== version) {
        return this.#replyError(header, new SamsaError('UNSUPPORTED_VERSION', `frame carries version ${header.apiVersion}; this connection agreed on ${version}`))
      }
    }
    let request: unknown
    try {
      request = exchange.decodeRequest(new ByteReader(frame, FRAME_HEADER_BYTES))
    } catch (e) {
      if (e instanceof ProtocolError) return this.#replyError(header, new SamsaError('INVALID_REQUEST', `malformed ${exchange.name} request: ${e.message}`))
      return this.#replyError(header, toSamsaError(e), e)
    }
    if (header.apiKey === ApiKeys.HELLO) return this.#handshake.hello(header, request as HelloRequest)
    if (header.apiKey === ApiKeys.REAUTHENTICATE) return this.#handshake.reauthenticate(header, request as ReauthenticateRequest)
    this.#dispatch(header, exchange, request)
  }

  /** A text frame: the protocol is binary only. */
  onTextFrame(): void {
    this.close(CloseCodes.UNSUPPORTED_DATA, 'Samsa speaks binary frames only')
  }

  /** A one-way raftMessage frame: handed to the controller when this connection is a peer; never answered otherwise than with an error. */
  #raftMessage(header: FrameHeader, frame: Uint8Array): void {
    if (this.#handshake.version === 0) return this.#replyError(header, new SamsaError('HELLO_REQUIRED', 'send hello before raftMessage'))
    const from = this.#handshake.peerNodeId
    if (from === 0 || !this.#peers) {
      return this.#replyError(header, new SamsaError('CLUSTER_AUTHORIZATION_FAILED', 'raftMessage is broker-to-broker: this connection did not identify as a cluster peer in hello'))
    }
    let messages: RaftWireMessage[]
    try {
      messages = decodeRaftMessageBody(new ByteReader(frame, FRAME_HEADER_BYTES))
    } catch (e) {
      if (e instanceof ProtocolError) return this.#replyError(header, new SamsaError('INVALID_REQUEST', `malformed raftMessage: ${e.message}`))
      return this.#replyError(header, toSamsaError(e), e)
    }
    // A peer speaks only for itself.
    this.#peers.onRaftMessages(from, messages.filter((m) => m.from === from))
  }

  #dispatch(header: FrameHeader, exchange: Exchange<unknown, unknown>, request: unknown): void {
    const max = this.#broker.limits.maxInFlightRequestsPerConnection
    if (this.#inFlight >= max) {
      return this.#replyError(header, new SamsaError('TOO_MANY_REQUESTS', `this connection already has ${max} requests in flight`, { maxInFlightRequests: max }))
    }
    let result: unknown
    try {
      this.#quotas.beforeRequest(header.apiKey, request)
      // Closed by a quota (a throttle past quotaMaxThrottleMs): the request is not handled.
      if (this.#closed) return
      result = handleRequest(this.#handlers, header.apiKey, request)
    } catch (e) {
      return this.#replyError(header, toSamsaError(e), e)
    }
    const noReply = header.apiKey === ApiKeys.PRODUCE && (request as { acks: number }).acks === 0
    if (!(result instanceof Promise)) return noReply ? undefined : this.#reply(header, exchange, result)
    this.#inFlight++
    result.finally(() => {
      this.#inFlight--
      this.#lastActivityMs = this.#broker.clock.monotonicMs()
    }).then(
      (res) => {
        if (!noReply) this.#reply(header, exchange, res)
      },
      (e: unknown) => {
        const error = toSamsaError(e)
        if (!noReply) return this.#replyError(header, error, e)
        // Nobody hears about a failed acks=0 produce: count it, and log a few per connection (no stack unless it is the broker's bug).
        if (this.#closed) return
        this.#broker.metrics.requestError(apiKeyName(header.apiKey), error.errorName)
        if (error.code === -1) this.#log.error({ err: e, clientId: this.clientId }, 'acks=0 produce failed unexpectedly')
        else this.#log.warn({ ...describeError(error), clientId: this.clientId }, 'acks=0 produce failed')
      },
    )
  }

  #reply(header: FrameHeader, exchange: Exchange<unknown, unknown>, res: unknown): void {
    if (this.#closed) return
    const frame = encodeResponseFrame(exchange, header.apiVersion, header.correlationId, res)
    // A fetch reply counts against the delivery quota, and waits out the throttle it causes (as Kafka's does).
    if (header.apiKey === ApiKeys.FETCH) this.#quotas.delivered(frame.length)
    this.#sendResponse(frame)
  }

  #sendResponse(frame: Uint8Array): void {
    if (this.#closed) return
    if (this.#quotas.throttled) return void this.#held.push(frame)
    this.#socket.send(frame)
    this.#output.sent()
  }

  #throttleEnded(): void {
    while (this.#held.length > 0 && !this.#quotas.throttled && !this.#closed) this.#sendResponse(this.#held.shift()!)
    if (!this.#quotas.throttled) this.#roomAgain()
  }

  /** `cause`: what was thrown, logged (rate-limited, with its stack) only when it is the broker's own failure. */
  #replyError(header: FrameHeader, error: SamsaError, cause: unknown = error): void {
    if (this.#closed) return
    this.#broker.metrics.requestError(apiKeyName(header.apiKey), error.errorName)
    if (error.code === -1) this.#log.error({ err: cause, apiKey: apiKeyName(header.apiKey), clientId: this.clientId }, 'request failed unexpectedly')
    this.#sendResponse(encodeErrorFrame(header.apiKey, header.apiVersion, header.correlationId, error))
  }

  #armIdleTimer(delayMs: number): void {
    if (this.#closed || this.#broker.limits.idleTimeoutMs <= 0) return
    this.#idleTimer = this.#broker.clock.setTimeout(() => this.#checkIdle(), delayMs)
  }

  /** Idle = no subscription, no request in flight and no frame for idleTimeoutMs. */
  #checkIdle(): void {
    this.#idleTimer = null
    if (this.#closed) return
    const timeoutMs = this.#broker.limits.idleTimeoutMs
    const now = this.#broker.clock.monotonicMs()
    if (this.subscriptions.size > 0 || this.#inFlight > 0) this.#lastActivityMs = now
    const idleMs = now - this.#lastActivityMs
    if (idleMs >= timeoutMs) return this.close(CloseCodes.IDLE_TIMEOUT, `idle: no frame for ${timeoutMs} ms and no subscription or request in flight`)
    this.#armIdleTimer(timeoutMs - idleMs)
  }

  /** Reserves room in the connection's output budget for a push about to be read; false while over budget. */
  tryReserveOutput(bytes: number): boolean {
    // A throttled connection gets no pushes; its subscriptions pump again when the throttle ends.
    return !this.#quotas.throttled && this.#output.tryReserve(bytes)
  }

  releaseOutput(bytes: number): void {
    this.#output.release(bytes)
  }

  /** Waits for room in the output budget (a fetch reply is read only then); rejects once the connection is closed. */
  reserveOutput(bytes: number): Promise<() => void> {
    return this.#output.reserve(bytes)
  }

  /** Runs `fn` when the connection closes (at once if it already has); returns the unregister function. */
  onClose(fn: () => void): () => void {
    if (this.#closed) {
      fn()
      return () => {}
    }
    this.#closeListeners.add(fn)
    return () => void this.#closeListeners.delete(fn)
  }

  /** A push: counts against the delivery quota (it may throttle the connection). */
  send(frame: Uint8Array): void {
    if (this.#closed) return
    this.#socket.send(frame)
    this.#output.sent()
    this.#quotas.delivered(frame.length)
  }

  close(code: number, reason: string): void {
    if (this.#closed) return
    this.#broker.metrics.connectionClosedByBroker(closeCodeName(code))
    this.#socket.close(code, reason.slice(0, 120))
    this.onClosed()
  }

  /** The socket is gone (either side closed it). Idempotent. */
  onClosed(): void {
    if (this.#closed) return
    this.#closed = true
    this.#quotas.close()
    this.#held.length = 0
    this.subscriptions.closeAll()
    this.#handshake.close()
    this.#output.close()
    this.#untrackOutput()
    this.#deferred.length = 0
    this.#deferredBytes = 0
    if (this.#idleTimer) this.#broker.clock.clearTimeout(this.#idleTimer)
    const listeners = [...this.#closeListeners]
    this.#closeListeners.clear()
    for (const fn of listeners) fn()
  }
}
