/**
 * @module The Node composition root: the data-directory lock, file storage, real clock, pino, prom-client, Hono on
 * @hono/node-server for HTTP, and the broker's own `ws` server for /ws upgrades.
 */
import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serve, type ServerType } from '@hono/node-server'
import { CloseCodes } from '@samsa/shared'
import { Broker } from '../../broker/broker.js'
import { brokerConfig, type BrokerConfig } from '../../broker/broker-config.js'
import type { Logger } from '../../clock.js'
import type { PartitionLogConfig } from '../../log/partition-log.js'
import { createApp, type SdkFile } from '../../transport/app.js'
import { acquireDataDirLock } from './data-dir-lock.js'
import { FileLogStorage } from './file-log-storage.js'
import { nativeCrc32c } from './native-crc32c.js'
import { nodeClock } from './node-clock.js'
import { staticFiles } from './static-files.js'
import { createPinoLogger } from './pino-logger.js'
import { createPromMetrics } from './prom-metrics.js'
import { attachWebSocketServer } from './ws-upgrade.js'

export interface StartBrokerOptions {
  readonly host?: string
  /** 0 picks a free port. */
  readonly port?: number
  readonly dataDir: string
  /**
   * The ws:// or wss:// base URL clients are told to use (metadata). Default: ws://host:port, with 127.0.0.1 for
   * a wildcard host (0.0.0.0, ::), which is no address a client can connect to.
   */
  readonly advertisedUrl?: string
  readonly logger?: Logger
  readonly config?: Partial<Omit<BrokerConfig, 'log' | 'advertisedUrl'>> & { log?: Partial<PartitionLogConfig> }
}

export interface RunningBroker {
  readonly broker: Broker
  readonly port: number
  /** http://host:port */
  readonly httpUrl: string
  /** The advertised base URL clients are given (ws://host:port unless advertisedUrl was set). */
  readonly url: string
  /** Closes every connection (1001), flushes and fsyncs every log. */
  close(): Promise<void>
}

const require = createRequire(import.meta.url)

function cachedFile(resolve: () => string): () => Promise<string | null> {
  let cached: Promise<string | null> | null = null
  return () => (cached ??= readFile(resolve(), 'utf8').catch(() => null))
}

export async function startBroker(opts: StartBrokerOptions): Promise<RunningBroker> {
  const host = opts.host ?? '127.0.0.1'
  // Every setting (the advertised URL included) is checked before the lock and the port are taken.
  brokerConfig({ ...opts.config, ...(opts.advertisedUrl !== undefined ? { advertisedUrl: opts.advertisedUrl } : {}) })
  const logger = opts.logger ?? createPinoLogger()
  const metrics = createPromMetrics()
  const storage = new FileLogStorage(opts.dataDir)
  const headersTimeoutMs = opts.config?.headersTimeoutMs ?? brokerConfig().headersTimeoutMs

  // The lock comes first: a second broker on this directory must not even bind a port.
  const lock = await acquireDataDirLock(opts.dataDir)
  let server: ServerType | null = null
  let broker: Broker
  let config: BrokerConfig
  // Listen before recovery so a busy port fails before any recovery work; requests wait for the broker.
  let handler: (req: Request, env: unknown) => Response | Promise<Response> = () => new Response('starting', { status: 503 })
  try {
    server = await new Promise<ServerType>((resolve, reject) => {
      const s = serve({
        fetch: (req, env) => handler(req, env),
        port: opts.port ?? 8080,
        hostname: host,
        serverOptions: {
          headersTimeout: headersTimeoutMs,
          // requestTimeout bounds a whole request (body included) and may not be below headersTimeout.
          requestTimeout: Math.max(headersTimeoutMs, opts.config?.requestTimeoutMs ?? brokerConfig().requestTimeoutMs),
          // Node checks both timeouts at this interval (default 30 s): a slow upgrade is cut within headersTimeoutMs + this.
          connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(headersTimeoutMs / 4))),
        },
      })
      s.once('error', reject)
      s.once('listening', () => resolve(s))
    })
    const port = (server.address() as AddressInfo).port
    config = brokerConfig({ ...opts.config, advertisedUrl: opts.advertisedUrl ?? defaultAdvertisedUrl(host, port) })
    const crc32c = nativeCrc32c()
    broker = await Broker.start(config, { storage, clock: nodeClock, logger, metrics, ...(crc32c ? { crc32c } : {}) })
  } catch (e) {
    server?.close()
    await lock.release()
    throw e
  }
  const port = (server.address() as AddressInfo).port
  const url = config.advertisedUrl
  const httpUrl = `http://${urlHost(host)}:${port}`
  metrics.attach(broker)

  const wss = attachWebSocketServer(server as import('node:http').Server, {
    broker,
    logger,
    maxFrameBytes: config.maxFrameBytes,
    connectionError: (stage) => metrics.connectionError(stage),
  })
  const sdkFiles: Partial<Record<SdkFile, () => Promise<string | null>>> = {}
  const app = createApp({
    broker,
    metricsText: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
    // The build copies the built demo app (apps/demo/dist) into packages/server/demo, so an installed @samsa/server carries it.
    staticAsset: staticFiles(fileURLToPath(new URL('../../../demo/', import.meta.url))),
    sdkFile: (name) => (sdkFiles[name] ??= cachedFile(() => join(dirname(require.resolve('@samsa/client-browser')), name)))(),
  })
  handler = (req, env) => app.fetch(req, env)
  logger.info({ url: httpUrl, advertisedUrl: url, dataDir: opts.dataDir, fsync: config.log.fsync, topics: broker.topics.list().length }, 'broker listening')
  const running = server

  let closing: Promise<void> | null = null
  return {
    broker,
    port,
    httpUrl,
    url,
    close: () =>
      (closing ??= (async () => {
        try {
          const shutdown = broker.shutdown()
          for (const client of wss.clients) client.close(CloseCodes.GOING_AWAY, 'broker shutting down')
          await shutdown
          await new Promise<void>((resolve) => {
            running.close(() => resolve())
            for (const client of wss.clients) client.terminate()
            ;(running as { closeAllConnections?: () => void }).closeAllConnections?.()
          })
        } finally {
          await lock.release()
        }
        logger.info({}, 'broker stopped')
      })()),
  }
}

/** ws://host:port; a wildcard bind address is no address a client can use, so it is advertised as loopback. */
function defaultAdvertisedUrl(host: string, port: number): string {
  const wildcard = host === '0.0.0.0' || host === '::' || host === '[::]' || host === ''
  return `ws://${wildcard ? '127.0.0.1' : urlHost(host)}:${port}`
}

/** An IPv6 literal needs brackets in a URL. */
function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}
