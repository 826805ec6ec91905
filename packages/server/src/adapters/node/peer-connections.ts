/**
 * @module PeerConnections: the controller's outbound WebSocket links, one per other voter, to its advertised URL's
 * `/ws`. Each link says hello as a cluster peer (node id, cluster id, and a peer token with a cluster secret), then carries one-way raftMessage frames;
 * the other direction is the other node's own link to us. A lost link reconnects with exponential backoff.
 *
 * Invariants: frames for a peer that is not connected (or whose socket holds more than maxBufferedBytes) wait in a
 * queue bounded by maxQueuedBytes; when full the oldest frames go first (Raft tolerates loss, and the newest
 * messages matter most) and each dropped frame is counted. Nothing here blocks or throws into the driver.
 */
import WebSocket from 'ws'
import { MIN_PROTOCOL_VERSION, decodeResponseFrame, encodeRaftMessageFrame, exchanges, type Logger } from '@samsa/shared'
import { peerSocketUrl, sendPeerHello } from './peer-hello.js'
import type { RaftTransport } from '../../controller/raft-driver.js'
import type { Message, NodeId } from '../../controller/raft/index.js'

export interface PeerConnectionsOptions {
  readonly nodeId: NodeId
  readonly clusterId: string
  /** The cluster secret: each hello then carries a fresh peer token signed with it. */
  readonly clusterSecret?: Uint8Array
  /** Every other voter's base URL (ws://host:port); `/ws` is appended. */
  readonly peers: ReadonlyMap<NodeId, string>
  readonly logger: Logger
  /** Bytes of frames held per peer while it is unreachable (default 4 MiB). */
  readonly maxQueuedBytes?: number
  /** Above this many bytes in the socket's own buffer, frames queue instead (default 4 MiB). */
  readonly maxBufferedBytes?: number
  readonly minBackoffMs?: number
  readonly maxBackoffMs?: number
  /** Counts frames dropped from a full queue. */
  readonly onDropped?: (peer: NodeId, frames: number) => void
  /** PEM CA bundle trusted for wss:// peer URLs, besides Node's default store (a private CA). */
  readonly ca?: string
}

class PeerLink {
  #ws: WebSocket | null = null
  #ready = false
  #queue: Uint8Array[] = []
  #queuedBytes = 0
  #backoffMs: number
  #timer: NodeJS.Timeout | null = null
  #closed = false
  #lastError = ''

  constructor(
    readonly peer: NodeId,
    readonly url: string,
    readonly opts: PeerConnectionsOptions,
  ) {
    this.#backoffMs = opts.minBackoffMs ?? 50
  }

  get connected(): boolean {
    return this.#ready
  }

  get queuedBytes(): number {
    return this.#queuedBytes
  }

  send(frame: Uint8Array): void {
    if (this.#closed) return
    const ws = this.#ws
    if (this.#ready && ws && ws.bufferedAmount <= (this.opts.maxBufferedBytes ?? 4 * 1024 * 1024) && this.#queue.length === 0) {
      ws.send(frame)
      return
    }
    this.#queue.push(frame)
    this.#queuedBytes += frame.length
    let dropped = 0
    const max = this.opts.maxQueuedBytes ?? 4 * 1024 * 1024
    while (this.#queuedBytes > max && this.#queue.length > 0) {
      this.#queuedBytes -= this.#queue.shift()!.length
      dropped++
    }
    if (dropped > 0) this.opts.onDropped?.(this.peer, dropped)
    if (this.#ready) this.#flush()
  }

  connect(): void {
    if (this.#closed) return
    this.#timer = null
    const ws = new WebSocket(peerSocketUrl(this.url, this.opts.nodeId, 'raft'), { perMessageDeflate: false, ...(this.opts.ca ? { ca: this.opts.ca } : {}) })
    this.#ws = ws
    ws.binaryType = 'nodebuffer'
    ws.on('open', () => {
      sendPeerHello(ws, this.opts.nodeId, this.opts.clusterId, this.opts.clusterSecret)
    })
    ws.on('message', (data: Buffer) => {
      let r: ReturnType<typeof decodeResponseFrame>
      try {
        r = decodeResponseFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
      } catch {
        return ws.close(1002, 'bad frame')
      }
      if (r.error) {
        // A refused hello (wrong cluster, not a voter there yet) or a refused frame: try again later.
        this.#warn(`${r.error.errorName}: ${r.error.message}`)
        if (!this.#ready) ws.close(1000, 'peer hello refused')
        return
      }
      if (!this.#ready) {
        const { version } = exchanges.hello.decodeResponse(r.body)
        // raftMessage frames are encoded once for every link, at MIN_PROTOCOL_VERSION (the only version today).
        if (version !== MIN_PROTOCOL_VERSION) {
          this.#warn(`peer agreed on protocol version ${version}; raft frames use ${MIN_PROTOCOL_VERSION}`)
          return ws.close(1000, 'unsupported version')
        }
        this.#ready = true
        this.#backoffMs = this.opts.minBackoffMs ?? 50
        this.#lastError = ''
        this.opts.logger.info({ peer: this.peer, url: this.url }, 'controller peer connected')
        this.#flush()
      }
    })
    ws.on('error', (err) => this.#warn(err.message))
    ws.on('close', () => {
      if (this.#ws !== ws) return
      this.#ready = false
      this.#ws = null
      this.#scheduleReconnect()
    })
  }

  #flush(): void {
    const ws = this.#ws
    while (ws && this.#ready && this.#queue.length > 0 && ws.bufferedAmount <= (this.opts.maxBufferedBytes ?? 4 * 1024 * 1024)) {
      const frame = this.#queue.shift()!
      this.#queuedBytes -= frame.length
      ws.send(frame)
    }
  }

  #warn(message: string): void {
    // One line per distinct failure until the link is up again (a down peer would otherwise log every backoff).
    if (message === this.#lastError) return
    this.#lastError = message
    this.opts.logger.warn({ peer: this.peer, url: this.url, err: message }, 'controller peer link failed; reconnecting with backoff')
  }

  #scheduleReconnect(): void {
    if (this.#closed) return
    const delay = this.#backoffMs * (0.5 + Math.random() / 2)
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.opts.maxBackoffMs ?? 2_000)
    this.#timer = setTimeout(() => this.connect(), delay)
  }

  close(): void {
    this.#closed = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#ws?.terminate()
    this.#ws = null
    this.#ready = false
    this.#queue = []
    this.#queuedBytes = 0
  }
}

export class PeerConnections implements RaftTransport {
  readonly #links = new Map<NodeId, PeerLink>()

  constructor(opts: PeerConnectionsOptions) {
    for (const [peer, url] of opts.peers) if (peer !== opts.nodeId) this.#links.set(peer, new PeerLink(peer, url, opts))
  }

  start(): void {
    for (const link of this.#links.values()) link.connect()
  }

  send(to: NodeId, messages: readonly Message[]): void {
    this.#links.get(to)?.send(encodeRaftMessageFrame(MIN_PROTOCOL_VERSION, messages))
  }

  /** Per peer: connected, and bytes waiting. */
  status(): { peer: NodeId; connected: boolean; queuedBytes: number }[] {
    return [...this.#links.values()].map((l) => ({ peer: l.peer, connected: l.connected, queuedBytes: l.queuedBytes }))
  }

  close(): void {
    for (const link of this.#links.values()) link.close()
  }
}
