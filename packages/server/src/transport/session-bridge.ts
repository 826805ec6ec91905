/**
 * @module The socket bridge: what every runtime adapter shares between an accepted WebSocket and a Session.
 * Invariants: a refused upgrade (foreign Origin or Host) never becomes a WebSocket, on every runtime
 * (`checkUpgrade`); a connection over maxConnections (or opened while the broker shuts down) is closed with 1013 and
 * no Session (`openSession`); every admitted connection is counted closed exactly once, however many close events
 * the runtime fires. Adapters only translate: the Node adapter feeds frames from raw `ws` straight to the Session
 * (no per-frame work here; `ws` enforces maxFrameBytes); Hono-based adapters use `HonoSessionEvents`, which
 * normalises binary data to Uint8Array, closes a connection whose frame is over maxFrameBytes with 1009 (as `ws`
 * does on Node), and starts the session on the first event where a runtime never fires onOpen.
 */
import { CloseCodes, ErrorMessages, closeCodeName } from '@samsa/shared'
import type { Broker } from '../broker/broker.js'
import type { BrowserPolicy } from '../security/browser-policy.js'
import type { RefusalReporter } from '../security/browser-refusals.js'
import { Session, type PeerGate } from '../sessions/session.js'
import type { SessionSocket } from '../sessions/session-socket.js'

/** What an adapter fills from its runtime's socket. Absent bufferedAmount: slow-consumer protection is credit alone. */
export interface BridgeSocket {
  send(frame: Uint8Array): void
  close(code: number, reason: string): void
  bufferedAmount?(): number
  pauseReading?(): void
  resumeReading?(): void
}

export interface BridgeOptions {
  readonly peers?: PeerGate
  /** As the runtime saw it; an IPv4 client of a dual-stack socket is unmapped from ::ffff:. */
  readonly remoteAddress?: string
}

/** An admitted connection: feed it frames with `session.onFrame`, and call `closed()` on each close event. */
export interface BridgedSession {
  readonly session: Session
  /** The broker's maxFrameBytes: a larger frame closes the connection with 1009. */
  readonly maxFrameBytes: number
  closed(): void
}

export const WEBSOCKET_PATH = '/ws'

/** The adapter's socket as a Session sees it (methods on the prototype: no closures per connection). */
class BridgedSocket implements SessionSocket {
  readonly #socket: BridgeSocket
  readonly remoteAddress: string | undefined

  constructor(socket: BridgeSocket, remoteAddress: string | undefined) {
    this.#socket = socket
    this.remoteAddress = remoteAddress
  }

  send(frame: Uint8Array): void {
    this.#socket.send(frame)
  }

  close(code: number, reason: string): void {
    this.#socket.close(code, reason)
  }

  /** 0 where the runtime cannot tell: slow-consumer protection is credit alone there. */
  bufferedAmount(): number {
    return this.#socket.bufferedAmount?.() ?? 0
  }

  pauseReading(): void {
    this.#socket.pauseReading?.()
  }

  resumeReading(): void {
    this.#socket.resumeReading?.()
  }
}

/** Admission, Session wiring and close accounting; null (the socket closed with 1013) when not admitted. */
export function openSession(broker: Broker, socket: BridgeSocket, opts: BridgeOptions = {}): BridgedSession | null {
  if (!broker.tryOpenConnection()) {
    broker.metrics.connectionClosedByBroker(closeCodeName(CloseCodes.TRY_AGAIN_LATER))
    socket.close(CloseCodes.TRY_AGAIN_LATER, broker.shuttingDown ? 'broker is shutting down' : `broker is at maxConnections (${broker.limits.maxConnections})`)
    return null
  }
  const session = new Session(broker, new BridgedSocket(socket, opts.remoteAddress === undefined ? undefined : clientAddress(opts.remoteAddress)), opts.peers)
  let open = true
  return {
    session,
    maxFrameBytes: broker.limits.maxFrameBytes,
    closed: () => {
      if (!open) return
      open = false
      session.onClosed()
      broker.connectionClosed()
    },
  }
}

/** `::ffff:10.0.0.1` (an IPv4 client of a dual-stack socket) is the IPv4 client 10.0.0.1. */
export function clientAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}

export interface UpgradeRefusal {
  readonly status: 403 | 415 | 421
  readonly message: string
}

/** Origin and Host of a WebSocket upgrade (browsers send no preflight); null when it may proceed, the refusal reported. */
export function checkUpgrade(
  policy: BrowserPolicy | undefined,
  refused: RefusalReporter | undefined,
  headers: { readonly origin: string | undefined; readonly host: string | undefined },
  remoteAddress: string | undefined,
): UpgradeRefusal | null {
  const verdict = policy?.checkOrigin(headers)
  if (!verdict || verdict.ok) return null
  refused?.('ws', verdict.reason, headers, remoteAddress)
  return { status: verdict.status, message: verdict.message }
}

/** Binary WebSocket data as runtimes hand it: a view, a whole ArrayBuffer (Node's Buffer is a Uint8Array), a Blob. */
export type BinaryData = Uint8Array | ArrayBuffer | Blob

/** Uint8Array data is used as is (no copy); a Blob must be read (asynchronously) by the caller. */
export function binaryFrame(data: Uint8Array | ArrayBuffer): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data)
}

/** The subset of Hono's WSContext the bridge uses (hono/bun, hono/deno, hono/cloudflare-workers). */
export interface HonoSocket {
  send(data: Uint8Array<ArrayBuffer>): void
  close(code?: number, reason?: string): void
}

/**
 * Hono `upgradeWebSocket` events bound to one connection. The session starts on onOpen, or on the first message
 * where the runtime never fires onOpen; Blob frames are read in arrival order (later frames wait for them).
 */
export class HonoSessionEvents<S extends HonoSocket = HonoSocket> {
  #bridged: BridgedSession | null = null
  #refused = false
  /** Set while a Blob frame is being read: later frames queue behind it so order is kept. */
  #pending: Promise<void> | null = null
  readonly #start: (ws: S) => BridgedSession | null

  constructor(start: (ws: S) => BridgedSession | null) {
    this.#start = start
  }

  onOpen = (_evt: unknown, ws: S): void => {
    this.#ensure(ws)
  }

  onMessage = (evt: { readonly data: unknown }, ws: S): void => {
    const bridged = this.#ensure(ws)
    if (!bridged) return
    const data = evt.data
    if (typeof data === 'string') return bridged.session.onTextFrame()
    if (this.#pending || (typeof Blob !== 'undefined' && data instanceof Blob)) {
      this.#pending = (this.#pending ?? Promise.resolve())
        .then(() => (data instanceof Blob ? data.arrayBuffer() : data))
        .then((bytes) => {
          if (bytes instanceof ArrayBuffer || bytes instanceof Uint8Array) this.#deliver(bridged, binaryFrame(bytes))
        })
      return
    }
    if (data instanceof Uint8Array || data instanceof ArrayBuffer) this.#deliver(bridged, binaryFrame(data))
  }

  #deliver(bridged: BridgedSession, frame: Uint8Array): void {
    const max = bridged.maxFrameBytes
    if (frame.byteLength > max) return bridged.session.close(CloseCodes.MESSAGE_TOO_BIG, ErrorMessages.frameTooLarge(frame.byteLength, max))
    bridged.session.onFrame(frame)
  }


  onClose = (): void => {
    this.#bridged?.closed()
  }

  #ensure(ws: S): BridgedSession | null {
    if (this.#bridged || this.#refused) return this.#bridged
    this.#bridged = this.#start(ws)
    if (!this.#bridged) this.#refused = true
    return this.#bridged
  }
}
