/**
 * @module The broker's HTTP(S) server on @hono/node-server: listening on host:port (https:// and wss:// when given
 * TLS material) with the header and request timeouts that cut slow requests and upgrades, failed accepts counted and
 * logged, and the URLs a node is reached at. Invariants: `listenHttp` resolves only once the port is bound (a busy
 * port rejects); once listening, a failed accept (EMFILE, ENFILE) never reaches an unhandled 'error' event.
 */
import { createServer as createHttpsServer } from 'node:https'
import { IncomingMessage, type Server } from 'node:http'
import { serve, type ServerType } from '@hono/node-server'
import type { Logger } from '../../clock.js'
import { nodeClock } from './node-clock.js'
import type { TlsMaterial } from './tls-files.js'
import { clientAddress } from '../../transport/session-bridge.js'

export { defaultAdvertisedUrl, urlHost } from '../../transport/advertised-url.js'

export interface HttpServerOptions {
  readonly host: string
  readonly port: number
  readonly tls: TlsMaterial | null
  /** An HTTP request or a WebSocket upgrade must deliver its headers within this. */
  readonly headersTimeoutMs: number
  /** Bounds a whole request (body included); raised to headersTimeoutMs when below it. */
  readonly requestTimeoutMs: number
  readonly fetch: (req: Request, env: unknown) => Response | Promise<Response>
}

export function listenHttp(opts: HttpServerOptions): Promise<ServerType> {
  const { tls, headersTimeoutMs } = opts
  return new Promise<ServerType>((resolve, reject) => {
    const s = serve({
      fetch: opts.fetch,
      port: opts.port,
      hostname: opts.host,
      ...(tls ? { createServer: createHttpsServer } : {}),
      serverOptions: {
        ...(tls ? { cert: tls.cert, key: tls.key } : {}),
        headersTimeout: headersTimeoutMs,
        // requestTimeout bounds a whole request (body included) and may not be below headersTimeout.
        requestTimeout: Math.max(headersTimeoutMs, opts.requestTimeoutMs),
        // Node checks both timeouts at this interval (default 30 s): a slow upgrade is cut within headersTimeoutMs + this.
        connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(headersTimeoutMs / 4))),
      },
    })
    s.once('error', reject)
    s.once('listening', () => resolve(s))
  })
}

/**
 * Once listening, the server reports a failed accept (EMFILE, ENFILE) as 'error': with no listener that would kill
 * the broker. Counted, and logged at most every 10 s (the operator's problem, not a client's).
 */
export function reportAcceptErrors(server: ServerType | Server, counted: () => void, logger: Logger): void {
  let acceptWarnedAtMs = -Infinity
  server.on('error', (err: NodeJS.ErrnoException) => {
    counted()
    const now = nodeClock.monotonicMs()
    if (now - acceptWarnedAtMs < 10_000) return
    acceptWarnedAtMs = now
    logger.warn({ err: err.message, code: err.code }, 'accepting a connection failed')
  })
}

/** The client address of an HTTP request, from @hono/node-server's bindings (`env.incoming`). */
export function requestAddress(env: unknown): string | undefined {
  if (typeof env !== 'object' || env === null || !('incoming' in env) || !(env.incoming instanceof IncomingMessage)) return undefined
  const address = env.incoming.socket.remoteAddress
  return address === undefined ? undefined : clientAddress(address)
}
