/**
 * @module The composition root shared by the Bun and Deno entries: one single-node broker on a data directory,
 * FileLogStorage through `node:fs` (both runtimes implement it), Hono for HTTP and /ws through the runtime's
 * `upgradeWebSocket` (transport/hono-websocket-route.ts), JSON console logs, no Prometheus registry (/metrics says so).
 * A non-loopback host needs allowAnonymous (there is no authentication here yet).
 * Runtime specifics come in a `WebRuntime` the runtime's own folder fills; this file imports none. Invariants as on
 * Node: the data-directory lock before the port, the port before recovery (requests wait with 503), a failed start
 * releases what it took, close() releases the lock last.
 */
import type { Context } from 'hono'
import type { UpgradeWebSocket, WSContext } from 'hono/ws'
import { CloseCodes } from '@samsa/shared'
import { Broker } from '../../broker/broker.js'
import { ConfigError, brokerConfig, type BrokerConfig } from '../../broker/broker-config.js'
import type { Logger } from '../../clock.js'
import { noopMetrics } from '../../observability/broker-metrics.js'
import { BrowserPolicy, defaultAllowedHosts } from '../../security/browser-policy.js'
import { refusalReporter } from '../../security/browser-refusals.js'
import { createApp } from '../../transport/app.js'
import { defaultAdvertisedUrl, urlHost } from '../../transport/advertised-url.js'
import { withHonoWebSocket } from '../../transport/hono-websocket-route.js'
import { clientAddress } from '../../transport/session-bridge.js'
import { isLoopbackHost } from '../node/broker-authentication.js'
import { acquireDataDirLock } from '../node/data-dir-lock.js'
import { checkDataDirMode } from '../node/data-dir-mode.js'
import { FileLogStorage } from '../node/file-log-storage.js'
import { nodeClock } from '../node/node-clock.js'
import { consoleLogger } from './console-logger.js'

export type FetchHandler = (req: Request, env?: unknown) => Response | Promise<Response>

export interface WebServer {
  readonly port: number
  stop(): Promise<void>
}

/** What a runtime's folder provides: its Hono WebSocket helper, its client addresses, its server. */
export interface WebRuntime {
  readonly name: string
  /** Hono's upgradeWebSocket for this runtime (its socket and options types differ per runtime; neither is used). */
  readonly upgradeWebSocket: UpgradeWebSocket<any, any>
  readonly remoteAddressOf: (c: Context) => string | undefined
  /** Bytes queued on a socket, when the runtime tells (otherwise slow-consumer protection is credit alone). */
  readonly bufferedAmount?: (ws: WSContext) => number
  readonly prepare?: (ws: WSContext) => void
  listen(fetch: FetchHandler, host: string, port: number): Promise<WebServer>
}

export interface WebBrokerOptions {
  readonly dataDir: string
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
  readonly logger?: Logger
  readonly config?: Partial<Omit<BrokerConfig, 'log' | 'advertisedUrl'>>
}

export interface RunningWebBroker {
  readonly broker: Broker
  readonly port: number
  /** The advertised ws:// base URL. */
  readonly url: string
  /** Closes every connection (1001), flushes and fsyncs every log, stops the server, releases the lock. */
  close(): Promise<void>
}

export async function startWebBroker(runtime: WebRuntime, opts: WebBrokerOptions): Promise<RunningWebBroker> {
  const checked = brokerConfig(opts.config ?? {})
  // No authentication here yet: like samsa start without a key, a broker open to anyone serves only loopback.
  if (!checked.allowAnonymous && !isLoopbackHost(opts.host)) {
    throw new ConfigError(`refusing to serve ${opts.host} with no authentication (not available on this runtime yet): listen on 127.0.0.1, or pass --allow-anonymous to serve it open`)
  }
  const logger = opts.logger ?? consoleLogger()
  const storage = new FileLogStorage(opts.dataDir)
  const lock = await acquireDataDirLock(opts.dataDir)
  let server: WebServer | null = null
  let handler: FetchHandler = () => new Response('starting', { status: 503 })
  let broker: Broker
  let config: BrokerConfig
  try {
    await checkDataDirMode(storage, opts.dataDir, 'single-node')
    server = await runtime.listen((req, env) => handler(req, env), opts.host, opts.port)
    config = brokerConfig({ ...opts.config, advertisedUrl: defaultAdvertisedUrl(opts.host, server.port, false) })
    broker = await Broker.start(config, { storage, clock: nodeClock, logger })
  } catch (e) {
    await server?.stop()
    await lock.release()
    throw e
  }
  const browserPolicy = new BrowserPolicy({ allowedOrigins: config.allowedOrigins, allowedHosts: [...defaultAllowedHosts(opts.host, config.advertisedUrl), ...config.allowedHosts] })
  const refused = refusalReporter(logger, noopMetrics)
  const remoteAddressOf = (c: Context) => {
    const address = runtime.remoteAddressOf(c)
    return address === undefined ? undefined : clientAddress(address)
  }
  const app = createApp({
    broker,
    browserPolicy,
    refused,
    metricsText: async () => ({ contentType: 'text/plain; charset=utf-8', body: `# no Prometheus registry on ${runtime.name}\n` }),
    staticAsset: async () => null,
    sdkFile: async () => null,
    remoteAddressOf,
  })
  const ws = withHonoWebSocket({ broker, app, upgradeWebSocket: runtime.upgradeWebSocket, remoteAddressOf, browserPolicy, refused, ...pick(runtime) })
  handler = (req, env) => ws.app.fetch(req, env)
  const port = server.port
  const running = server
  logger.info({ runtime: runtime.name, url: `http://${urlHost(opts.host)}:${port}`, advertisedUrl: config.advertisedUrl, dataDir: opts.dataDir, topics: broker.listTopics().length }, 'broker listening')
  let closing: Promise<void> | null = null
  return {
    broker,
    port,
    url: config.advertisedUrl,
    close: () =>
      (closing ??= (async () => {
        try {
          const shutdown = broker.shutdown()
          ws.closeAll(CloseCodes.GOING_AWAY, 'broker shutting down')
          await shutdown
          await running.stop()
        } finally {
          await lock.release()
        }
        logger.info({}, 'broker stopped')
      })()),
  }
}

function pick(runtime: WebRuntime): { bufferedAmount?: (ws: WSContext) => number; prepare?: (ws: WSContext) => void } {
  return { ...(runtime.bufferedAmount ? { bufferedAmount: runtime.bufferedAmount } : {}), ...(runtime.prepare ? { prepare: runtime.prepare } : {}) }
}
