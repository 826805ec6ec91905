/**
 * @module Binds an upgraded `ws` socket to a Session (or refuses it with 1013). Errors on the socket are handled
 * by the upgrade (ws-upgrade.ts), which attaches its listener before calling this.
 */
import type { WebSocket } from 'ws'
import { CloseCodes } from '@samsa/shared'
import type { Broker } from '../../broker/broker.js'
import { Session, type PeerGate } from '../../sessions/session.js'

export function bindWebSocket(broker: Broker, ws: WebSocket, peers?: PeerGate): Session | null {
  if (!broker.tryOpenConnection()) {
    ws.close(CloseCodes.TRY_AGAIN_LATER, broker.shuttingDown ? 'broker is shutting down' : `broker is at maxConnections (${broker.limits.maxConnections})`)
    return null
  }
  const session = new Session(broker, {
    send: (frame) => ws.send(frame),
    close: (code, reason) => ws.close(code, reason),
    bufferedAmount: () => ws.bufferedAmount,
    pauseReading: () => ws.pause(),
    resumeReading: () => ws.resume(),
  }, peers)
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return session.onTextFrame()
    session.onFrame(data as Buffer)
  })
  ws.once('close', () => {
    session.onClosed()
    broker.connectionClosed()
  })
  return session
}
