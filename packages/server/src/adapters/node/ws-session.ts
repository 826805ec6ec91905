/**
 * @module The Node translation of the socket bridge (transport/session-bridge.ts): an upgraded raw `ws` socket
 * (bufferedAmount, pause/resume) bound to a Session, frames fed straight from `ws` to the Session (no per-frame work
 * in between). Errors on the socket are handled by the upgrade (ws-upgrade.ts), which attaches its listener before
 * calling this.
 */
import type { WebSocket } from 'ws'
import type { Broker } from '../../broker/broker.js'
import type { PeerGate, Session } from '../../sessions/session.js'
import { openSession, type BridgeSocket } from '../../transport/session-bridge.js'

export { clientAddress } from '../../transport/session-bridge.js'

export function bindWebSocket(broker: Broker, ws: WebSocket, peers?: PeerGate, remoteAddress?: string): Session | null {
  const bridged = openSession(broker, new WsBridgeSocket(ws), { ...(peers ? { peers } : {}), ...(remoteAddress !== undefined ? { remoteAddress } : {}) })
  if (!bridged) return null
  const { session } = bridged
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return session.onTextFrame()
    session.onFrame(data as Buffer)
  })
  ws.once('close', bridged.closed)
  return session
}

/** A `ws` socket as the bridge sees it (methods on the prototype: no closures per connection). */
class WsBridgeSocket implements BridgeSocket {
  readonly #ws: WebSocket

  constructor(ws: WebSocket) {
    this.#ws = ws
  }

  send(frame: Uint8Array): void {
    this.#ws.send(frame)
  }

  close(code: number, reason: string): void {
    this.#ws.close(code, reason)
  }

  bufferedAmount(): number {
    return this.#ws.bufferedAmount
  }

  pauseReading(): void {
    this.#ws.pause()
  }

  resumeReading(): void {
    this.#ws.resume()
  }
}
