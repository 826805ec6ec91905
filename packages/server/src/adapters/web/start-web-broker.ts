/**
 * @module The composition root shared by the Bun and Deno entries: one single-node broker on a data directory,
 * FileLogStorage through `node:fs` (both runtimes implement it), Hono for HTTP and /ws through the runtime's
 * `upgradeWebSocket` (transport/hono-websocket-route.ts), JSON console logs, Prometheus metrics on prom-client (the
 * same registry as Node's), TLS served by the runtime's own server, and Node's authentication and authorization
 * (token verifier, ACL file; the same rules: an open broker serves only loopback unless allowAnonymous).
 * Runtime specifics come in a `WebRuntime` the runtime's own folder fills; this file imports none. Invariants as on
 * Node: files (TLS, keys, ACLs) read and checked before the lock, the data-directory lock before the port, the port
 * before recovery (requests wait with 503), a failed start releases what it took, close() releases the lock last.
 */
import type { Context } from 'hono'
import type { UpgradeWebSocket, WSContext } from 'hono/ws'
import { CloseCodes } from '@samsa/shared'
import { Broker } from '../../broker/broker.js'
import { brokerConfig, type BrokerConfig } from '../../broker/broker-config.js'
import type { Logger } from '../../clock.js'
import { BrowserPolicy, defaultAllowedHosts } from '../../security/browser-policy.js'
import { refusalReporter } from '../../security/browser-refusals.js'
import { createApp } from '../../transport/app.js'
import { defaultAdvertisedUrl, urlHost } from '../../transport/advertised-url.js'
import { withHonoWebSocket } from '../../transport/hono-websocket-route.js'
import { clientAddress } from '../../transport/session-bridge.js'
import { authenticationConfigured, loadAuthenticationFiles, type AuthenticationFiles } from '../node/authentication-files.js'
import { openAuthorization, type AuthorizationOptions } from '../node/authorization.js'
import { bearerPrincipalOf } from '../node/bearer-principal.js'
import { brokerAuthentication, logAuthenticationMode } from '../node/broker-authentication.js'
import { acquireDataDirLock } from '../node/data-dir-lock.js'
import { checkDataDirMode } from '../node/data-dir-mode.js'
import { FileLogStorage } from '../node/file-log-storage.js'
import { nodeClock } from '../node/node-clock.js'
import { createPromMetrics } from '../node/prom-metrics.js'
import { readTlsMaterial, type TlsFiles, type TlsMaterial } from '../node/tls-files.js'
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
  /** Serves `fetch` on host:port, over TLS with `tls` (PEM certificate chain and key) when given. */
  listen(fetch: FetchHandler, host: string, port: number, tls?: TlsMaterial): Promise<WebServer>
}

export interface WebBrokerOptions {
  readonly dataDir: string
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
  readonly logger?: Logger
  readonly config?: Partial<Omit<BrokerConfig, 'log' | 'advertisedUrl' | 'authEnabled'>>
  /** Serve https:// and wss:// with this certificate and key (PEM files, read at start). */
  readonly tls?: TlsFiles
  /** Client authentication: any key source turns it on, as on Node (broker-authentication.ts). */
  readonly authentication?: AuthenticationFiles
  /** Authorization: the ACL file, a protected /metrics (on whenever authentication is). */
  readonly authorization?: AuthorizationOptions
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
  const authentication = opts.authentication ? await loadAuthenticationFiles(opts.authentication) : undefined
  const authEnabled = authenticationConfigured(authentication)
  const checked = brokerConfig({ ...opts.config, authEnabled })
  const auth = await brokerAuthentication(opts.host, checked, { ...(authentication ? { authentication } : {}), clustered: false })
  const tls = opts.tls ? await readTlsMaterial(opts.tls) : undefined
  const logger = opts.logger ?? consoleLogger()
  const metrics = createPromMetrics()
  const storage = new FileLogStorage(opts.dataDir)
  const lock = await acquireDataDirLock(opts.dataDir)
  let server: WebServer | null = null
  let handler: FetchHandler = () => new Response('starting', { status: 503 })
  let broker: Broker
  let config: BrokerConfig
  let stopAuthorization = () => {}
  try {
    await checkDataDirMode(storage, opts.dataDir, 'single-node')
    server = await runtime.listen((req, env) => handler(req, env), opts.host, opts.port, tls).catch((e: unknown) => {
      // Some runtimes check the certificate against the key only here (Deno): name the files, as a failed read does.
      const message = e instanceof Error ? e.message : String(e)
      throw new Error(opts.tls ? `cannot serve with the TLS certificate ${opts.tls.certFile} and key ${opts.tls.keyFile} on ${opts.host}:${opts.port}: ${message}` : message)
    })
    config = brokerConfig({ ...opts.config, authEnabled, advertisedUrl: defaultAdvertisedUrl(opts.host, server.port, tls !== undefined) })
    const { authorizer, stop } = await openAuthorization({ ...(authEnabled ? { enabled: true } : {}), ...opts.authorization }, config.aclPollIntervalMs, logger)
    stopAuthorization = stop
    broker = await Broker.start(config, { storage, clock: nodeClock, logger, metrics, authorizer, ...auth })
  } catch (e) {
    stopAuthorization()
    await server?.stop()
    await lock.release()
    throw e
  }
  metrics.attach(broker)
  const browserPolicy = new BrowserPolicy({ allowedOrigins: config.allowedOrigins, allowedHosts: [...defaultAllowedHosts(opts.host, config.advertisedUrl), ...config.allowedHosts] })
  const refused = refusalReporter(logger, metrics)
  const remoteAddressOf = (c: Context) => {
    const address = runtime.remoteAddressOf(c)
    return address === undefined ? undefined : clientAddress(address)
  }
  const app = createApp({
    broker,
    browserPolicy,
    refused,
    secure: tls !== undefined,
    ...(auth.authenticator ? { principalOf: bearerPrincipalOf(broker, auth.authenticator, config.allowAnonymous, remoteAddressOf) } : {}),
    metricsText: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
    staticAsset: async () => null,
    sdkFile: async () => null,
    remoteAddressOf,
    ...(opts.authorization?.protectMetrics ? { protectMetrics: true } : {}),
  })
  const ws = withHonoWebSocket({ broker, app, upgradeWebSocket: runtime.upgradeWebSocket, remoteAddressOf, browserPolicy, refused, ...pick(runtime) })
  handler = (req, env) => ws.app.fetch(req, env)
  const port = server.port
  const running = server
  const httpUrl = `${tls ? 'https' : 'http'}://${urlHost(opts.host)}:${port}`
  logger.info({ runtime: runtime.name, url: httpUrl, advertisedUrl: config.advertisedUrl, dataDir: opts.dataDir, topics: broker.listTopics().length }, 'broker listening')
  logAuthenticationMode(logger, opts.host, httpUrl, config)
  let closing: Promise<void> | null = null
  return {
    broker,
    port,
    url: config.advertisedUrl,
    close: () =>
      (closing ??= (async () => {
        try {
          stopAuthorization()
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
