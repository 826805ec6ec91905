/** @module The Node composition root: file storage, real clock, pino, prom-client, Hono on @hono/node-server, ws sockets. */
import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { serve, type ServerType } from '@hono/node-server'
import { createNodeWebSocket } from '@hono/node-ws'
import { Hono } from 'hono'
import { CloseCodes } from '@samsa/shared'
import { Broker } from '../../broker/broker.js'
import { brokerConfig, type BrokerConfig } from '../../broker/broker-config.js'
import type { Logger } from '../../clock.js'
import type { PartitionLogConfig } from '../../log/partition-log.js'
import { createApp, notFound } from '../../transport/app.js'
import { FileLogStorage } from './file-log-storage.js'
import { nativeCrc32c } from './native-crc32c.js'
import { nodeClock } from './node-clock.js'
import { createPinoLogger } from './pino-logger.js'
import { createPromMetrics } from './prom-metrics.js'
import { bindWebSocket } from './ws-session.js'

export interface StartBrokerOptions {
  readonly host?: string
  /** 0 picks a free port. */
  readonly port?: number
  readonly dataDir: string
  readonly logger?: Logger
  /** The base URL clients are given (metadata, RunningBroker.url); default ws://host:port. */
  readonly advertisedUrl?: string
  readonly config?: Partial<Omit<BrokerConfig, 'log' | 'advertisedUrl'>> & { log?: Partial<PartitionLogConfig> }
}

export interface RunningBroker {
  readonly broker: Broker
  readonly port: number
  /** http://host:port */
  readonly httpUrl: string
  /** ws://host:port, the base URL clients are given. */
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
  const logger = opts.logger ?? createPinoLogger()
  const metrics = createPromMetrics()
  const storage = new FileLogStorage(opts.dataDir)

  // Listen first so a busy port fails before any recovery work; requests wait for the broker.
  let handler: (req: Request, env: unknown) => Response | Promise<Response> = () => new Response('starting', { status: 503 })
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: (req, env) => handler(req, env), port: opts.port ?? 8080, hostname: host })
    s.once('error', reject)
    s.once('listening', () => resolve(s))
  })
  const port = (server.address() as AddressInfo).port
  const url = opts.advertisedUrl ?? `ws://${host}:${port}`
  const config = brokerConfig({ ...opts.config, advertisedUrl: url })
  let broker: Broker
  try {
    const crc32c = nativeCrc32c()
    broker = await Broker.start(config, { storage, clock: nodeClock, logger, metrics, ...(crc32c ? { crc32c } : {}) })
  } catch (e) {
    server.close()
    throw e
  }
  metrics.attach(broker)

  const wsHolder = new Hono()
  const nodeWs = createNodeWebSocket({ app: wsHolder })
  // @hono/node-ws creates its ws server with no options: bound the frame size here (ws closes with 1009 above it).
  ;(nodeWs.wss.options as { maxPayload: number }).maxPayload = config.maxFrameBytes
  const app = createApp({
    broker,
    upgrade: nodeWs.upgradeWebSocket(() => ({
      onOpen: (_evt, ws) => {
        bindWebSocket(broker, ws.raw as import('ws').WebSocket)
      },
    })),
    metricsText: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
    demoHtml: cachedFile(() => join(dirname(require.resolve('@samsa/demo/package.json')), 'index.html')),
    sdkBundle: cachedFile(() => join(dirname(require.resolve('@samsa/client-browser')), 'samsa.js')),
  })
  wsHolder.route('/', app)
  wsHolder.notFound(notFound)
  nodeWs.injectWebSocket(server)
  handler = (req, env) => wsHolder.fetch(req, env)
  logger.info({ url: `http://${host}:${port}`, dataDir: opts.dataDir, fsync: config.log.fsync, topics: broker.topics.list().length }, 'broker listening')

  let closing: Promise<void> | null = null
  return {
    broker,
    port,
    httpUrl: `http://${host}:${port}`,
    url,
    close: () =>
      (closing ??= (async () => {
        const shutdown = broker.shutdown()
        for (const client of nodeWs.wss.clients) client.close(CloseCodes.GOING_AWAY, 'broker shutting down')
        await shutdown
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          for (const client of nodeWs.wss.clients) client.terminate()
          ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
        })
        logger.info({}, 'broker stopped')
      })()),
  }
}
