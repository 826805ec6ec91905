/**
 * @module WebSocket upgrades on the broker's Node HTTP server, through the broker's own `ws` server (noServer,
 * maxPayload = maxFrameBytes). Invariant: every socket a client opens has an 'error' listener from the moment
 * Node hands it over, so nothing a client does (a reset before the request line, mid-headers, mid-handshake,
 * mid-frame, mid-push; a malformed request; an oversized or invalid frame) can reach an unhandled 'error' event.
 * Each such error is counted by stage and logged at debug. An upgrade from a foreign Origin or to a foreign Host is
 * answered 403/421 on the raw socket before the handshake (browsers send no preflight for WebSockets).
 */
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type { Broker } from '../../broker/broker.js'
import type { Logger } from '../../clock.js'
import type { PeerGate } from '../../sessions/session.js'
import type { BrowserPolicy } from '../../security/browser-policy.js'
import type { RefusalReporter } from '../../security/browser-refusals.js'
import { bindWebSocket } from './ws-session.js'
import type { ConnectionErrorStage } from './connection-error-stage.js'
import { WEBSOCKET_PATH, checkUpgrade } from '../../transport/session-bridge.js'

export { WEBSOCKET_PATH }

export interface WebSocketUpgradeDeps {
  readonly broker: Broker
  readonly logger: Logger
  readonly maxFrameBytes: number
  readonly connectionError: (stage: ConnectionErrorStage) => void
  /** Set when this node runs a controller quorum: connections that hello as a peer may send raftMessage frames. */
  readonly peers?: PeerGate
  /** Host and Origin checks, made before the handshake completes: a refused upgrade never becomes a WebSocket. */
  readonly browserPolicy?: BrowserPolicy
  readonly refused?: RefusalReporter
}

const STATUS_LINES: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
}

const REFUSAL_STATUS_LINES: Record<number, string> = { 403: '403 Forbidden', 415: '415 Unsupported Media Type', 421: '421 Misdirected Request' }

export function attachWebSocketServer(server: Server, deps: WebSocketUpgradeDeps): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: deps.maxFrameBytes })
  const report = (stage: ConnectionErrorStage, err: Error) => {
    deps.connectionError(stage)
    deps.logger.debug({ stage, code: (err as NodeJS.ErrnoException).code, err: err.message }, 'client connection error')
  }

  // Replaces Node's default handler (same responses), so every such error is counted and logged.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    report('http', err)
    if (socket.writable && (socket as { bytesWritten?: number }).bytesWritten === 0) {
      socket.write(`HTTP/1.1 ${STATUS_LINES[err.code ?? ''] ?? '400 Bad Request'}\r\nConnection: close\r\n\r\n`)
    }
    socket.destroy()
  })

  const websocketError = (err: Error) => report('websocket', err)

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // The listener lives as long as the socket: made apart (watchErrors), so its closure holds no reference to the
    // upgrade request (headers and all) for the connection's life.
    const stage = watchErrors(socket, report)
    if (pathOf(req) !== WEBSOCKET_PATH) {
      socket.end(`HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nWebSocket connections go to ${WEBSOCKET_PATH}\n`)
      return
    }
    const headers = { origin: req.headers.origin, host: req.headers.host }
    const refusal = checkUpgrade(deps.browserPolicy, deps.refused, headers, req.socket.remoteAddress)
    if (refusal) {
      socket.end(`HTTP/1.1 ${REFUSAL_STATUS_LINES[refusal.status]}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${refusal.message}\n`)
      return
    }
    const remoteAddress = req.socket.remoteAddress
    wss.handleUpgrade(req, socket, head, (ws) => {
      stage.upgraded = true
      ws.on('error', websocketError)
      bindWebSocket(deps.broker, ws, deps.peers, remoteAddress)
    })
  })
  return wss
}

/** Counts and logs every error of a socket, as 'upgrade' until `upgraded` is set, then as 'socket'. */
function watchErrors(socket: Duplex, report: (stage: ConnectionErrorStage, err: Error) => void): { upgraded: boolean } {
  const stage = { upgraded: false }
  socket.on('error', (err) => report(stage.upgraded ? 'socket' : 'upgrade', err))
  return stage
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}
