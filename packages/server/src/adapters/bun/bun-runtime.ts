/**
 * @module Bun's part of the web composition (start-web-broker.ts): `Bun.serve` with hono/bun's `upgradeWebSocket`
 * and `websocket` handler (TLS through its `tls` option), client addresses from `server.requestIP`, buffered bytes
 * from `getBufferedAmount()`.
 * Bun cannot pause reading a socket: frames that arrive while output is over budget are held within maxBufferedBytes.
 * Only the Bun entry (main.ts) loads this file.
 */
import { getConnInfo, upgradeWebSocket, websocket } from 'hono/bun'
import type { WebRuntime } from '../web/start-web-broker.js'
import { rawNumber } from '../web/raw-socket.js'

interface BunServer {
  readonly port: number
  stop(closeActiveConnections?: boolean): Promise<void> | void
}

declare const Bun: {
  serve(options: {
    hostname: string
    port: number
    fetch: (req: Request, server: unknown) => Response | Promise<Response>
    websocket: unknown
    tls?: { cert: string; key: string }
  }): BunServer
}

export const bunRuntime: WebRuntime = {
  name: 'bun',
  upgradeWebSocket,
  remoteAddressOf: (c) => getConnInfo(c).remote.address,
  bufferedAmount: (ws) => rawNumber(ws.raw, 'getBufferedAmount') ?? 0,
  listen: async (fetch, hostname, port, tls) => {
    const server = Bun.serve({ hostname, port, fetch: (req, env) => fetch(req, env), websocket, ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}) })
    return { port: server.port, stop: async () => void (await server.stop(true)) }
  },
}
