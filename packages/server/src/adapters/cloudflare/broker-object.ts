/**
 * @module SamsaBrokerObject: a broker as a Durable Object (docs/edge.md, "Cloudflare") — a namespace's catalog object
 * or a topic's object (object-role.ts), each running the Broker with the namespace's catalog as its cluster port
 * (EdgeCatalogPort). A topic's object is the single writer of its partition logs, kept in its SQLite database
 * (SqlLogStorage); the platform replicates that database, so nothing of Samsa's replication runs here. Client WebSockets use the Hibernation API
 * (`ctx.acceptWebSocket`, `webSocketMessage`, `webSocketClose`); what a connection needs after a wake is in its
 * attachment (session-attachment.ts). Timers of a second or more wait on the object's alarm (AlarmClock), so retention,
 * recovery points and idle timeouts run through `alarm()` and never keep the object awake.
 * Invariants: the broker starts once per object instance, before any request, message or alarm is handled
 * (blockConcurrencyWhile), and every socket the runtime held meanwhile is restored or closed as it starts; it opens each partition from its recovery point, so a wake verifies only what was written
 * after the last one; the advertised URL is the one of the request that started this instance (persisted, so a wake
 * by a message or an alarm reuses it); every admitted socket is counted closed once (the socket bridge); a topic object
 * runs under the broker id the catalog gave its topic (a broker started before its placement is started again).
 */
import { CloseCodes, ErrorMessages } from '@samsa/shared'
import { Broker } from '../../broker/broker.js'
import { ConfigError, brokerConfig, type BrokerConfigOverrides } from '../../broker/broker-config.js'
import type { Logger } from '../../clock.js'
import { defaultPartitionLogConfig } from '../../log/partition-log-config.js'
import { noopMetrics } from '../../observability/broker-metrics.js'
import { BrowserPolicy, defaultAllowedHosts } from '../../security/browser-policy.js'
import { isLoopbackHost } from '../../security/loopback-host.js'
import { refusalReporter } from '../../security/browser-refusals.js'
import { createApp } from '../../transport/app.js'
import { checkUpgrade, clientAddress, openSession, WEBSOCKET_PATH, type BridgedSession } from '../../transport/session-bridge.js'
import { consoleLogger, type LogLevel } from '../web/console-logger.js'
import { AlarmClock, DEFAULT_MIN_ALARM_INTERVAL_MS } from './alarm-clock.js'
import { attachmentAfter, correlationIdOf, emptyAttachment, parseAttachment, type SessionAttachment } from './session-attachment.js'
import { SqlLogStorage } from './sql-log-storage.js'
import { edgePeers } from './edge-peers.js'
import { CATALOG_BROKER_ID, EdgeCatalogPort, type CatalogTopic } from './edge-catalog.js'
import { catalogTopic, internalAnswer, type RemoteCatalog } from './catalog-sources.js'
import { ADVERTISED_URL_HEADER, INTERNAL_HEADER, ROLE_HEADER, TOPIC_HEADER } from './object-names.js'
import { ObjectRole, ignore, type OwnCatalog } from './object-role.js'
import { upgradeResponse, webSocketPair, type DurableObjectContext, type DurableObjectNamespaceBinding, type ObjectWebSocket } from './workers-types.js'

/** Bindings the Worker's configuration gives the object (wrangler.toml [vars]). */
export interface BrokerObjectEnv {
  /** JSON object of broker settings (the keys of `samsa start`'s settings table, camelCase), e.g. {"maxConnections":100}. */
  readonly SAMSA_SETTINGS?: string
  readonly SAMSA_LOG_LEVEL?: string
  /** How far ahead the object's alarm is set at least (AlarmClock; default 60 s): an idle object wakes at most this often. */
  readonly SAMSA_MIN_ALARM_INTERVAL_MS?: string
  /** The binding of this class: how a namespace's objects reach each other (the catalog and its topic objects). */
  readonly SAMSA_BROKER?: DurableObjectNamespaceBinding
}

/** A broker id no topic is given: a topic object's before the catalog has placed its topic on it. */
const UNPLACED_BROKER_ID = 2 ** 31 - 1


/**
 * Defaults that differ from `samsa start`'s (SAMSA_SETTINGS overrides them): an isolate has 128 MB, so the tail cache
 * is smaller; an object ends without a shutdown, so the recovery point (what a wake starts from) is written more
 * often; retention wakes the object less often.
 */
export const EDGE_DEFAULTS = {
  tailCacheBytes: 8 * 1024 * 1024,
  retentionCheckIntervalMs: 5 * 60_000,
  log: { recoveryPointIntervalMs: 10_000 },
} satisfies BrokerConfigOverrides

interface Running {
  readonly broker: Broker
  readonly app: { fetch(req: Request): Response | Promise<Response> }
  readonly policy: BrowserPolicy
  readonly refused: ReturnType<typeof refusalReporter>
  /** The catalog's tables, on the catalog object only. */
  readonly catalog: OwnCatalog | null
  /** A topic object's copy of the catalog. */
  readonly remote: RemoteCatalog | null
}

interface Live {
  readonly bridged: BridgedSession
  attachment: SessionAttachment
}

export class SamsaBrokerObject {
  readonly #ctx: DurableObjectContext
  readonly #env: BrokerObjectEnv
  readonly #logger: Logger
  readonly #clock: AlarmClock
  readonly #role: ObjectRole
  readonly #sessions = new Map<ObjectWebSocket, Live>()
  #running: Promise<Running> | null = null
  #started: Running | null = null

  constructor(ctx: DurableObjectContext, env: BrokerObjectEnv) {
    this.#ctx = ctx
    this.#env = env
    this.#logger = consoleLogger(logLevel(env.SAMSA_LOG_LEVEL))
    const minAlarmMs = Number(env.SAMSA_MIN_ALARM_INTERVAL_MS ?? DEFAULT_MIN_ALARM_INTERVAL_MS)
    this.#clock = new AlarmClock(
      ctx.storage,
      (e) => this.#logger.error({ err: String(e) }, 'a timer of the broker object failed'),
      Number.isFinite(minAlarmMs) && minAlarmMs >= 0 ? minAlarmMs : DEFAULT_MIN_ALARM_INTERVAL_MS,
    )
    this.#role = new ObjectRole({ exec: (q, ...b) => ctx.storage.sql.exec(q, ...b) }, (fn) => ctx.storage.transactionSync(fn), env.SAMSA_BROKER)
  }

  async fetch(req: Request): Promise<Response> {
    const advertised = req.headers.get(ADVERTISED_URL_HEADER)
    const url = new URL(req.url)
    const internal = req.headers.get(INTERNAL_HEADER) === '1'
    // A topic's object exists once the catalog placed its topic: a client's request for any other name starts nothing.
    const topic = req.headers.get(TOPIC_HEADER)
    if (!internal && req.headers.get(ROLE_HEADER) === 'topic' && topic !== null && this.#role.placedTopic() === null) {
      return new Response(`UNKNOWN_TOPIC_OR_PARTITION: ${ErrorMessages.unknownTopic(topic)}\n`, { status: 404 })
    }
    this.#role.remember(req)
    if (internal && url.pathname === '/internal/topic' && req.method === 'PUT') return internalAnswer(async () => this.#place(catalogTopic(await req.json()), advertised))
    const running = await this.#start(advertised)
    this.#clock.arm()
    try {
      if (internal && url.pathname.startsWith('/internal/')) return await this.#role.answer(req, url.pathname, running.broker, running.catalog, running.remote)
      if (url.pathname === WEBSOCKET_PATH && req.headers.get('upgrade')?.toLowerCase() === 'websocket') return this.#accept(req, running)
      // An HTTP request (a Durable Stream's, proxied here by the catalog) may name topics created since this object's copy
      // of the catalog was read (the stream catalog's own, for one): read it again first.
      await running.remote?.refresh().catch((e: unknown) => this.#logger.warn({ err: String(e) }, 'the catalog could not be read'))
      return await running.app.fetch(req)
    } finally {
      this.#clock.runDue()
    }
  }

  async webSocketMessage(ws: ObjectWebSocket, message: ArrayBuffer | string): Promise<void> {
    await this.#start(null)
    this.#clock.arm()
    const live = this.#sessions.get(ws) ?? this.#restore(ws)
    if (live === null) return
    const { session, maxFrameBytes } = live.bridged
    if (typeof message === 'string') return session.onTextFrame()
    const frame = new Uint8Array(message)
    if (frame.byteLength > maxFrameBytes) return session.close(CloseCodes.MESSAGE_TOO_BIG, ErrorMessages.frameTooLarge(frame.byteLength, maxFrameBytes))
    const next = attachmentAfter(live.attachment, frame)
    if (next !== null) {
      live.attachment = next
      ws.serializeAttachment(next)
    }
    session.onFrame(frame)
    this.#clock.runDue()
  }

  async webSocketClose(ws: ObjectWebSocket, code: number, reason: string): Promise<void> {
    this.#closed(ws)
    try {
      ws.close(code === 1005 || code === 1006 ? CloseCodes.NORMAL : code, reason)
    } catch {
      // already closed on our side
    }
  }

  async webSocketError(ws: ObjectWebSocket): Promise<void> {
    this.#closed(ws)
  }

  /**
   * Runs the broker's due timers. An object the alarm woke from eviction with no socket left has no one to serve:
   * it stops setting alarms and sleeps until its next request (which starts the broker, whose timers set it again),
   * instead of waking every retention interval forever.
   */
  async alarm(): Promise<void> {
    const cold = this.#running === null
    await this.#start(null)
    this.#clock.fire()
    if (cold && this.#ctx.getWebSockets().length === 0) this.#clock.disarm()
  }

  /** Starts the broker once per instance: on the first request (its advertised URL persisted) or a wake. */
  #start(advertised: string | null): Promise<Running> {
    // A start that failed is tried again by the next request (a transient storage error must not stick).
    this.#running ??= this.#startOnce(advertised).catch((e: unknown) => {
      this.#running = null
      throw e
    })
    return this.#running
  }

  #startOnce(advertised: string | null): Promise<Running> {
    return this.#ctx.blockConcurrencyWhile(async () => {
      const sql = this.#ctx.storage.sql
      if (advertised !== null) this.#role.set('advertisedUrl', advertised)
      const advertisedUrl = advertised ?? this.#role.value('advertisedUrl') ?? 'ws://localhost'
      const topic = this.#role.placedTopic()
      const catalogRole = this.#role.isCatalog
      const brokerId = catalogRole ? CATALOG_BROKER_ID : (topic?.brokerId ?? UNPLACED_BROKER_ID)
      const config = brokerConfig({ ...settings(this.#env.SAMSA_SETTINGS), advertisedUrl, brokerId })
      const host = new URL(advertisedUrl).hostname
      // No authentication here yet: as samsa start without a key, an object open to anyone serves only loopback.
      if (!config.allowAnonymous && !isLoopbackHost(host)) {
        throw new ConfigError(`refusing to serve ${host} with no authentication (not available on this runtime yet): set "allowAnonymous": true in SAMSA_SETTINGS to serve it open`)
      }
      const storage = new SqlLogStorage({ exec: (q, ...b) => sql.exec(q, ...b), transactionSync: (fn) => this.#ctx.storage.transactionSync(fn) })
      const broker = await Broker.start(config, { storage, clock: this.#clock, logger: this.#logger })
      const { own: catalog, source, remote } = this.#role.catalog(advertisedUrl, this.#logger)
      broker.useCluster(new EdgeCatalogPort(source, this.#clock))
      const policy = new BrowserPolicy({ allowedOrigins: config.allowedOrigins, allowedHosts: [...defaultAllowedHosts(new URL(advertisedUrl).host, advertisedUrl), ...config.allowedHosts] })
      const refused = refusalReporter(this.#logger, noopMetrics)
      const app = createApp({
        broker,
        browserPolicy: policy,
        refused,
        metricsText: async () => ({ contentType: 'text/plain; charset=utf-8', body: '# no Prometheus registry in a Durable Object\n' }),
        staticAsset: async () => null,
        sdkFile: async () => null,
        remoteAddressOf: (c) => c.req.header('cf-connecting-ip'),
        // Durable Streams across objects: proxied to the stream's object, the stream catalog read from its own.
        ...(this.#env.SAMSA_BROKER ? { streams: { ...edgePeers(this.#env.SAMSA_BROKER), followCatalog: false } } : {}),
      })
      this.#logger.info({ runtime: 'workerd', advertisedUrl, role: catalogRole ? 'catalog' : 'topic', brokerId, ...(topic ? { topic: topic.name } : {}), topics: broker.listTopics().length }, 'broker object started')
      this.#started = { broker, app, policy, refused, catalog, remote }
      // Sockets held while the object slept get their sessions back now (or are closed), not at their next frame:
      // a subscriber sends nothing while it waits for records, and must learn at once that it has to subscribe again.
      for (const ws of this.#ctx.getWebSockets()) if (!this.#sessions.has(ws)) this.#restore(ws)
      return this.#started
    })
  }

  /**
   * The catalog places a topic on this object: recorded, then its partitions created. A broker started before under
   * another id (a client came first) is started again under the topic's.
   */
  async #place(topic: CatalogTopic, advertised: string | null): Promise<void> {
    this.#role.placeTopic(topic)
    const running = this.#running && (await this.#running)
    if (running && running.broker.limits.brokerId !== topic.brokerId) {
      for (const ws of this.#ctx.getWebSockets()) {
        this.#closed(ws)
        closeQuietly(ws, CloseCodes.TRY_AGAIN_LATER, 'the broker object restarted; connect again')
      }
      await running.broker.shutdown()
      this.#running = null
      this.#started = null
    }
    const { broker, remote } = await this.#start(advertised)
    // Placed again (the catalog retried after losing an answer): the partitions are there.
    await broker.createLocalTopic(topic.name, topic.partitions, topic.configs).catch((e: unknown) => ignore(e, 'TOPIC_ALREADY_EXISTS'))
    remote?.setOwn(topic)
  }

  #accept(req: Request, running: Running): Response {
    const remote = req.headers.get('cf-connecting-ip')
    const refusal = checkUpgrade(running.policy, running.refused, { origin: req.headers.get('origin') ?? undefined, host: req.headers.get('host') ?? undefined }, remote ?? undefined)
    if (refusal) return new Response(`${refusal.message}\n`, { status: refusal.status })
    const { client, server } = webSocketPair()
    const attachment = emptyAttachment(remote === null ? null : clientAddress(remote))
    const opened = this.#open(server, attachment)
    if (opened.refused) {
      // Refused while opening (1013 over maxConnections, 4029 over a quota): a close before the 101 response is out
      // never reaches a hibernatable socket's client (workerd), so this one is accepted plainly and closed.
      server.accept()
      closeQuietly(server, opened.refused.code, opened.refused.reason)
      return upgradeResponse(client)
    }
    this.#ctx.acceptWebSocket(server)
    server.serializeAttachment(attachment)
    opened.handOver()
    return upgradeResponse(client)
  }

  /** A socket the object held while it slept: a new Session, its hello replayed unless it had subscribed. */
  #restore(ws: ObjectWebSocket): Live | null {
    const attachment = parseAttachment(ws.deserializeAttachment())
    if (attachment === null || attachment.hello === null || attachment.subscribed) {
      closeQuietly(ws, CloseCodes.TRY_AGAIN_LATER, 'the broker object restarted; connect and subscribe again')
      return null
    }
    const hello = new Uint8Array(attachment.hello)
    const opened = this.#open(ws, attachment, correlationIdOf(hello))
    if (opened.refused) {
      closeQuietly(ws, opened.refused.code, opened.refused.reason)
      return null
    }
    opened.handOver()
    opened.live.bridged.session.onFrame(hello)
    return opened.live
  }

  /**
   * Admits a socket through the bridge. A close the session asks for while opening is returned as `refused` (the
   * connection already counted closed); otherwise `handOver()` registers it, after which closes go to the socket.
   * `replayedHello`: the correlation id whose answer the client already has (a wake), never sent again.
   */
  #open(ws: ObjectWebSocket, attachment: SessionAttachment, replayedHello = -1): { refused: { code: number; reason: string }; live?: never } | { refused: null; live: Live; handOver(): void } {
    let swallow = replayedHello
    let handedOver = false
    let refused: { code: number; reason: string } | null = null
    const bridged = openSession(
      this.#runningBroker(),
      {
        send: (frame) => {
          if (swallow !== -1 && correlationIdOf(frame) === swallow) {
            swallow = -1
            return
          }
          ws.send(frame)
        },
        close: (code, reason) => {
          if (!handedOver) {
            refused ??= { code, reason }
            return
          }
          this.#closed(ws)
          closeQuietly(ws, code, reason)
        },
      },
      attachment.remoteAddress !== null ? { remoteAddress: attachment.remoteAddress } : {},
    )
    if (bridged === null || refused !== null) {
      bridged?.closed()
      return { refused: refused ?? { code: CloseCodes.TRY_AGAIN_LATER, reason: 'not admitted' } }
    }
    const live: Live = { bridged, attachment }
    return {
      refused: null,
      live,
      handOver: () => {
        handedOver = true
        this.#sessions.set(ws, live)
      },
    }
  }

  #closed(ws: ObjectWebSocket): void {
    const live = this.#sessions.get(ws)
    if (!live) return
    this.#sessions.delete(ws)
    live.bridged.closed()
  }

  #runningBroker(): Broker {
    if (this.#started === null) throw new Error('the broker object has not started')
    return this.#started.broker
  }
}

function closeQuietly(ws: ObjectWebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason.slice(0, 120))
  } catch {
    // the runtime refuses a second close
  }
}

/** SAMSA_SETTINGS over EDGE_DEFAULTS: the log's settings (segmentBytes, fsync…) may be given flat, as `samsa start` takes them. */
function settings(json: string | undefined): BrokerConfigOverrides {
  const parsed: unknown = json === undefined || json.trim() === '' ? {} : JSON.parse(json)
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError('SAMSA_SETTINGS must be a JSON object of broker settings')
  const top: Record<string, unknown> = {}
  const log: Record<string, unknown> = { ...EDGE_DEFAULTS.log }
  for (const [key, value] of Object.entries(parsed)) {
    if (key === 'log' && typeof value === 'object' && value !== null) Object.assign(log, value)
    else if (key in defaultPartitionLogConfig) log[key] = value
    else top[key] = value
  }
  return { ...EDGE_DEFAULTS, ...top, log }
}

function logLevel(level: string | undefined): LogLevel {
  return level === 'debug' || level === 'warn' || level === 'error' ? level : 'info'
}
