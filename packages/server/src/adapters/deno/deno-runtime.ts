/**
 * @module Deno's part of the web composition (start-web-broker.ts): `Deno.serve` with hono/deno's `upgradeWebSocket`
 * (TLS through its `cert` and `key` options),
 * client addresses from the serve handler's `remoteAddr`, buffered bytes from the WebSocket's `bufferedAmount`,
 * binary frames asked for as ArrayBuffer (Deno's default is Blob). Deno cannot pause reading a socket: frames that
 * arrive while output is over budget are held within maxBufferedBytes. Only the Deno entry (main.ts) loads this file.
 */
import { getConnInfo, upgradeWebSocket } from 'hono/deno'
import type { WebRuntime } from '../web/start-web-broker.js'
import { rawNumber } from '../web/raw-socket.js'

interface DenoServer {
  readonly addr: { readonly port: number }
  shutdown(): Promise<void>
}

declare const Deno: {
  serve(options: { hostname: string; port: number; onListen?: () => void; cert?: string; key?: string }, handler: (req: Request, info: unknown) => Response | Promise<Response>): DenoServer
}

export const denoRuntime: WebRuntime = {
  name: 'deno',
  upgradeWebSocket,
  remoteAddressOf: (c) => getConnInfo(c).remote.address,
  bufferedAmount: (ws) => rawNumber(ws.raw, 'bufferedAmount') ?? 0,
  prepare: (ws) => {
    if (typeof ws.raw === 'object' && ws.raw !== null && 'binaryType' in ws.raw) Reflect.set(ws.raw, 'binaryType', 'arraybuffer')
  },
  listen: async (fetch, hostname, port, tls) => {
    const server = Deno.serve({ hostname, port, onListen: () => {}, ...(tls ? { cert: tls.cert, key: tls.key } : {}) }, (req, info) => fetch(req, info))
    return { port: server.addr.port, stop: () => server.shutdown() }
  },
}
