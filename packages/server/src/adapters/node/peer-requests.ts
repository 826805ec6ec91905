/**
 * @module PeerRequests: request/response calls from this node to another node's `/ws` as a cluster peer (hello with
 * the peer tail), for the broker-to-controller exchanges (cluster/controller-channel.ts) and a follower's fetches
 * from its partition leaders (replica-links.ts). One lazily opened
 * connection per target node; requests are correlated by id and each has a deadline.
 *
 * Invariants: every call settles exactly once (answer, the peer's SamsaError, REQUEST_TIMED_OUT, or NETWORK_EXCEPTION
 * when the connection fails or closes); at most `maxInFlight` calls wait per connection (more: NETWORK_EXCEPTION at
 * once); a closed connection is forgotten and the next call opens a new one.
 */
import WebSocket from 'ws'
import { PEER_HELLO_CORRELATION_ID, peerSocketUrl, sendPeerHello, type PeerLinkKind } from './peer-hello.js'
import { MIN_PROTOCOL_VERSION, SamsaError, decodeResponseFrame, encodeRequestFrame, exchanges, type Exchange, type Logger } from '@samsa/shared'
import type { ControllerExchange, ControllerRequest, ControllerResponse, PeerRequester } from '../../cluster/controller-channel.js'

export interface PeerRequestsOptions {
  readonly nodeId: number
  readonly clusterId: string
  /** The cluster secret: each hello then carries a fresh peer token signed with it. */
  readonly clusterSecret?: Uint8Array
  /** Base URL (ws://host:port) of every node this one may call. */
  readonly urls: ReadonlyMap<number, string>
  readonly logger: Logger
  readonly timeoutMs: number
  readonly maxInFlight?: number
  /** What these connections carry (named in their URL for what sits on the path); the receiver ignores it. */
  readonly link?: PeerLinkKind
  /** PEM CA bundle trusted for wss:// peer URLs, besides Node's default store (a private CA). */
  readonly ca?: string
}

interface Pending {
  readonly exchange: Exchange<unknown, unknown>
  readonly resolve: (v: unknown) => void
  readonly reject: (e: Error) => void
  readonly timer: NodeJS.Timeout
}

class PeerConnection {
  readonly #ws: WebSocket
  readonly #pending = new Map<number, Pending>()
  readonly #ready: Promise<void>
  #nextId = PEER_HELLO_CORRELATION_ID + 1
  #closed = false

  constructor(url: string, opts: PeerRequestsOptions, onClosed: () => void) {
    const ws = new WebSocket(peerSocketUrl(url, opts.nodeId, opts.link), { perMessageDeflate: false, ...(opts.ca ? { ca: opts.ca } : {}) })
    this.#ws = ws
    ws.binaryType = 'nodebuffer'
    this.#ready = new Promise<void>((resolve, reject) => {
      ws.on('open', () => sendPeerHello(ws, opts.nodeId, opts.clusterId, opts.clusterSecret))
      ws.on('message', (data: Buffer) => {
        let r: ReturnType<typeof decodeResponseFrame>
        try {
          r = decodeResponseFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
        } catch {
          return ws.close(1002, 'bad frame')
        }
        if (r.header.correlationId === PEER_HELLO_CORRELATION_ID) {
          if (r.error) {
            reject(new SamsaError('NETWORK_EXCEPTION', `peer refused hello: ${r.error.errorName}: ${r.error.message}`))
            return ws.close(1000, 'hello refused')
          }
          return resolve()
        }
        const p = this.#pending.get(r.header.correlationId)
        if (!p) return
        this.#pending.delete(r.header.correlationId)
        clearTimeout(p.timer)
        if (r.error) return p.reject(r.error)
        try {
          p.resolve(p.exchange.decodeResponse(r.body!))
        } catch (e) {
          p.reject(new SamsaError('NETWORK_EXCEPTION', `undecodable ${p.exchange.name} answer: ${String(e)}`))
        }
      })
      ws.on('error', (err) => {
        reject(new SamsaError('NETWORK_EXCEPTION', `peer ${url}: ${err.message}`))
        opts.logger.debug({ url, err: err.message }, 'controller request link failed')
      })
      ws.on('close', () => {
        this.#closed = true
        reject(new SamsaError('NETWORK_EXCEPTION', `peer ${url} closed the connection`))
        for (const p of this.#pending.values()) {
          clearTimeout(p.timer)
          p.reject(new SamsaError('NETWORK_EXCEPTION', `peer ${url} closed the connection before answering ${p.exchange.name}`))
        }
        this.#pending.clear()
        onClosed()
      })
    })
    this.#ready.catch(() => {})
  }

  async request(exchange: Exchange<unknown, unknown>, req: unknown, opts: PeerRequestsOptions): Promise<unknown> {
    try {
      await withDeadline(this.#ready, opts.timeoutMs, `hello to a peer`)
    } catch (e) {
      // A link that cannot say hello in time (a blackholed peer) is dropped, so the next call dials again.
      this.close()
      throw e
    }
    if (this.#closed) throw new SamsaError('NETWORK_EXCEPTION', 'the peer connection closed')
    if (this.#pending.size >= (opts.maxInFlight ?? 64)) throw new SamsaError('NETWORK_EXCEPTION', `${this.#pending.size} requests already wait on this peer`)
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new SamsaError('REQUEST_TIMED_OUT', `no answer to ${exchange.name} within ${opts.timeoutMs} ms`))
      }, opts.timeoutMs)
      this.#pending.set(id, { exchange, resolve, reject, timer })
      this.#ws.send(encodeRequestFrame(exchange, MIN_PROTOCOL_VERSION, id, req))
    })
  }

  get closed(): boolean {
    return this.#closed
  }

  close(): void {
    this.#closed = true
    this.#ws.terminate()
  }
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SamsaError('REQUEST_TIMED_OUT', `${what} took more than ${ms} ms`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

export class PeerRequests implements PeerRequester {
  readonly #opts: PeerRequestsOptions
  readonly #connections = new Map<number, PeerConnection>()
  #closed = false

  constructor(opts: PeerRequestsOptions) {
    this.#opts = opts
  }

  request<K extends ControllerExchange>(nodeId: number, name: K, req: ControllerRequest<K>): Promise<ControllerResponse<K>> {
    const url = this.#opts.urls.get(nodeId)
    if (!url) return Promise.reject(new SamsaError('NOT_CONTROLLER', `node ${nodeId} has no known URL`))
    return this.call(nodeId, url, exchanges[name] as Exchange<unknown, unknown>, req) as Promise<ControllerResponse<K>>
  }

  /** Any exchange to node `nodeId` at base URL `url` (a voter's from `urls`, a broker's advertised URL from the image). */
  call<Q, S>(nodeId: number, url: string, exchange: Exchange<Q, S>, req: Q): Promise<S> {
    if (this.#closed) return Promise.reject(new SamsaError('NETWORK_EXCEPTION', 'this node is shutting down'))
    let c = this.#connections.get(nodeId)
    if (!c || c.closed) {
      const conn: PeerConnection = new PeerConnection(url, this.#opts, () => {
        if (this.#connections.get(nodeId) === conn) this.#connections.delete(nodeId)
      })
      c = conn
      this.#connections.set(nodeId, conn)
    }
    return c.request(exchange as Exchange<unknown, unknown>, req, this.#opts) as Promise<S>
  }

  close(): void {
    this.#closed = true
    for (const c of this.#connections.values()) c.close()
    this.#connections.clear()
  }
}
