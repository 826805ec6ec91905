/**
 * @module Binds an upgraded `ws` socket to a Session (or refuses it with 1013), with the client's address as the
 * upgrade's socket saw it (an IPv4 client on a dual-stack server unmapped from ::ffff:). Errors on the socket are
 * handled by the upgrade (ws-upgrade.ts), which attaches its listener before calling this.
 */
import type { WebSocket } from 'ws'
import { CloseCodes, closeCodeName } from '@samsa/shared'
import type { Broker } from '../../broker/broker.js'
import { Session, type PeerGate } from '../../sessions/session.js'

export function bindWebSocket(broker: Broker, ws: WebSocket, peers?: PeerGate, remoteAddress?: string): Session | null {
  if (!broker.tryOpenConnection()) {
    broker.metrics.connectionClosedByBroker(closeCodeName(CloseCodes.TRY_AGAIN_LATER))
    ws.close(CloseCodes.TRY_AGAIN_LATER, broker.shuttingDown ? 'broker is shutting down' : `broker is at maxConnections (${broker.limits.maxConnections})`)
    return null
  }
  const session = new Session(broker, {
    send: (frame) => ws.send(frame),
    close: (code, reason) => ws.close(code, reason),
    bufferedAmount: () => ws.bufferedAmount,
    pauseReading: () => ws.pause(),
    resumeReading: () => ws.resume(),
    ...(remoteAddress !== undefined ? { remoteAddress: clientAddress(remoteAddress) } : {}),
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

/** `::ffff:10.0.0.1` (an IPv4 client of a dual-stack socket) is the IPv4 client 10.0.0.1. */
export function clientAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}
