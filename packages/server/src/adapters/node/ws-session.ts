/**
 * @module Binds a `ws` socket to a Session. Frames are read from the raw `ws` socket (Hono's per-message
 * wrapper costs ~2 µs a frame and copies the bytes); Hono only performs the upgrade.
 */
import type { WebSocket } from 'ws'
import { CloseCodes } from '@samsa/shared'
import type { Broker } from '../../broker/broker.js'
import { Session } from '../../sessions/session.js'

export function bindWebSocket(broker: Broker, ws: WebSocket): Session | null {
  if (!broker.tryOpenConnection()) {
    ws.close(CloseCodes.TRY_AGAIN_LATER, broker.shuttingDown ? 'broker is shutting down' : `broker is at maxConnections (${broker.config.maxConnections})`)
    return null
  }
  const session = new Session(broker, {
    send: (frame) => ws.send(frame),
    close: (code, reason) => ws.close(code, reason),
    bufferedAmount: () => ws.bufferedAmount,
    pauseReading: () => ws.pause(),
    resumeReading: () => ws.resume(),
  })
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return session.onTextFrame()
    session.onFrame(data as Buffer)
  })
  ws.once('close', () => {
    session.onClosed()
    broker.connectionClosed()
  })
  ws.on('error', (err) => broker.logger.debug({ err: err.message }, 'websocket error'))
  return session
}
