/**
 * @module SessionHandshake: a connection's hello and reauthenticate exchanges. It agrees on the protocol version,
 * makes a connection a cluster peer when its hello names one, and sets the connection's principal from the credential
 * (SessionAuthentication). Invariants: `version` is 0 until a hello is accepted, then fixed for the connection's
 * life; a later hello never changes the credential (only reauthenticate does, for the same subject) and may only
 * make the connection a peer, authenticated as a first hello; while a hello's token is being verified `pending` is
 * true (the session holds later frames); a refused credential answers the hello and closes the connection with
 * UNAUTHORIZED (4401), or with TRY_AGAIN_LATER when the broker could not check it; a connection with no accepted
 * hello by helloTimeoutMs is closed with HELLO_TIMEOUT.
 */
import {
  ApiKeys, CloseCodes, MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, SamsaError, exchangeByApiKey,
  type Exchange, type FrameHeader, type HelloRequest, type ReauthenticateRequest,
} from '@samsa/shared'
import type { Broker } from '../broker/broker.js'
import type { Timer } from '../clock.js'
import type { Principal } from '../security/principal.js'
import type { PeerGate } from './session.js'
import { SessionAuthentication, brokerCouldNotCheck } from './session-authentication.js'
import { toSamsaError } from './to-samsa-error.js'

/** What the handshake needs of its session. */
export interface HandshakeHost {
  /** The connection (the Session itself): who it speaks for, its client id (kept for log lines), whether it closed. */
  readonly connection: { principal: Principal; clientId: string; readonly closed: boolean }
  reply(header: FrameHeader, exchange: Exchange<unknown, unknown>, res: unknown): void
  replyError(header: FrameHeader, error: SamsaError, cause?: unknown): void
  /** A function value (the session authentication keeps it to close the connection at expiry). */
  readonly close: (code: number, reason: string) => void
  /** A pending hello was accepted: the frames held meanwhile may be handled now. */
  helloSettled(): void
  /** The principal changed on reauthentication: subscriptions it no longer allows end. */
  recheckSubscriptions(): void
}

export class SessionHandshake {
  readonly #broker: Broker
  readonly #peers: PeerGate | undefined
  readonly #host: HandshakeHost
  readonly #auth: SessionAuthentication
  #version = 0
  #peerNodeId = 0
  #pending = false
  #helloTimer: Timer | null

  constructor(broker: Broker, peers: PeerGate | undefined, remoteAddress: string | undefined, host: HandshakeHost) {
    this.#broker = broker
    this.#peers = peers
    this.#host = host
    this.#auth = new SessionAuthentication(broker, remoteAddress, host.close)
    this.#helloTimer = broker.clock.setTimeout(() => {
      this.#helloTimer = null
      if (this.#version !== 0) return
      this.#auth.neverAuthenticated()
      host.close(CloseCodes.HELLO_TIMEOUT, `no hello within ${broker.limits.helloTimeoutMs} ms`)
    }, broker.limits.helloTimeoutMs)
  }

  /** 0 until hello succeeds; then the agreed version, which every later frame must carry. */
  get version(): number {
    return this.#version
  }

  /** The peer's node id once its hello named it a cluster peer; 0 for an ordinary client. */
  get peerNodeId(): number {
    return this.#peerNodeId
  }

  /** A hello is being verified: frames that arrive meanwhile must wait. */
  get pending(): boolean {
    return this.#pending
  }

  hello(header: FrameHeader, req: HelloRequest): void {
    const host = this.#host
    const version = Math.min(req.maxVersion, MAX_PROTOCOL_VERSION)
    if (version < Math.max(req.minVersion, MIN_PROTOCOL_VERSION)) {
      return host.replyError(header, new SamsaError('UNSUPPORTED_VERSION', `client speaks ${req.minVersion}..${req.maxVersion}; broker speaks ${MIN_PROTOCOL_VERSION}..${MAX_PROTOCOL_VERSION}`))
    }
    if (this.#version !== 0 && this.#version !== version) return host.replyError(header, new SamsaError('INVALID_REQUEST', 'the version is already agreed on this connection'))
    // A second hello changes no credential (reauthenticate does); it may only make the connection a peer, authenticated as a first one.
    if (this.#version !== 0 && (req.token !== undefined && !req.peer)) {
      return host.replyError(header, new SamsaError('INVALID_REQUEST', 'this connection already said hello: its credential changes only with reauthenticate'))
    }
    if (this.#version !== 0 && req.peer && this.#peerNodeId !== 0) return host.replyError(header, new SamsaError('INVALID_REQUEST', 'this connection is already a cluster peer'))
    if (req.peer) {
      const { nodeId, clusterId } = req.peer
      if (clusterId !== this.#broker.limits.clusterId) {
        return host.replyError(header, new SamsaError('INCONSISTENT_CLUSTER_ID', `peer ${nodeId} belongs to cluster "${clusterId.slice(0, 100)}", this broker to "${this.#broker.limits.clusterId}"`))
      }
      if (!this.#peers || !this.#peers.isPeer(nodeId) || nodeId === this.#broker.limits.brokerId) {
        return host.replyError(header, new SamsaError('CLUSTER_AUTHORIZATION_FAILED', `node ${nodeId} is not a cluster peer of this broker (a single node has none, and no node is its own peer)`))
      }
    }
    if (this.#version !== 0 && !req.peer) return this.#accept(header, req, version, host.connection.principal)
    let principal: Principal | Promise<Principal>
    try {
      principal = this.#auth.helloPrincipal(req)
    } catch (e) {
      return this.#unauthenticated(header, e)
    }
    if (!(principal instanceof Promise)) return this.#accept(header, req, version, principal)
    this.#pending = true
    principal.then(
      (p) => {
        this.#pending = false
        this.#accept(header, req, version, p)
        host.helloSettled()
      },
      (e: unknown) => {
        this.#pending = false
        this.#unauthenticated(header, e)
      },
    )
  }

  /**
   * A refused credential: the error answers the hello, then the connection closes with UNAUTHORIZED; but when the
   * broker could not check it (its keys unavailable) the connection just closes with TRY_AGAIN_LATER, so the client retries.
   */
  #unauthenticated(header: FrameHeader, e: unknown): void {
    const error = toSamsaError(e)
    if (brokerCouldNotCheck(e)) return this.#host.close(CloseCodes.TRY_AGAIN_LATER, error.message)
    this.#host.replyError(header, error, e)
    this.#host.close(CloseCodes.UNAUTHORIZED, error.message)
  }

  #accept(header: FrameHeader, req: HelloRequest, version: number, principal: Principal): void {
    const host = this.#host
    if (host.connection.closed) return
    if (req.peer) this.#peerNodeId = req.peer.nodeId
    host.connection.principal = principal
    this.#auth.enforceExpiry(principal)
    this.#version = version
    // Kept for log lines about this connection: bounded, whatever the client sent.
    host.connection.clientId = req.clientId.slice(0, 256)
    if (this.#helloTimer) this.#broker.clock.clearTimeout(this.#helloTimer)
    this.#helloTimer = null
    const c = this.#broker.limits
    host.reply(header, exchangeByApiKey.get(ApiKeys.HELLO)!, {
      version,
      brokerId: c.brokerId,
      clusterId: c.clusterId,
      maxFrameBytes: c.maxFrameBytes,
      maxBatchBytes: c.maxBatchBytes,
      maxRecordBytes: c.maxRecordBytes,
      maxSubscriptions: c.maxSubscriptionsPerConnection,
    })
  }

  /** A fresh token on a live connection: same subject, a later expiry; refused, the connection keeps its credential. */
  reauthenticate(header: FrameHeader, req: ReauthenticateRequest): void {
    const host = this.#host
    this.#auth.reauthenticate(host.connection.principal, req.token).then(
      (p) => {
        if (host.connection.closed) return
        host.connection.principal = p
        this.#auth.enforceExpiry(p)
        // The new token's grants may be narrower: subscriptions it no longer allows end now.
        host.recheckSubscriptions()
        host.reply(header, exchangeByApiKey.get(ApiKeys.REAUTHENTICATE)!, { expiresAtMs: p.expiresAtMs ?? -1 })
      },
      (e: unknown) => host.replyError(header, toSamsaError(e), e),
    )
  }

  /** The connection closed: no expiry or hello deadline fires any more. */
  close(): void {
    this.#auth.close()
    if (this.#helloTimer) this.#broker.clock.clearTimeout(this.#helloTimer)
    this.#helloTimer = null
  }
}
