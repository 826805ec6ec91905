/**
 * @module The HTTP surface (Hono): /ws, /healthz, /metrics, the admin REST API under /v1/topics and /v1/groups (group-routes.ts), the Durable Streams protocol under /v1/stream/ (durable-streams/), the demo app
 * (its index.html at / and its files under /app/, through the static-assets port), and the SDK bundles at /sdk/samsa.js (ES module) and /sdk/samsa.iife.js (a script setting the global `Samsa`),
 * each with its source map.
 * Translation only: every rule lives in the broker, and the browser rules (Host, Origin, JSON writes, page headers) in
 * security/browser-policy.ts. Authorization: each admin route asks `principalOf` who the request speaks for (401 when
 * it throws SASL_AUTHENTICATION_FAILED), then the broker's access control (403 for a right it lacks): list and
 * describe need describe (the list shows only describable topics), create create, delete delete; `/metrics` needs
 * admin when `protectMetrics` is set.
 */
import { Hono, type Context } from 'hono'
import { SamsaError } from '@samsa/shared'
import type { Broker } from '../broker/broker.js'
import { ANONYMOUS, type Principal } from '../security/principal.js'
import { createTopicAs, deleteTopicAs } from '../security/authorization/topic-changes.js'
import { toSamsaError } from '../sessions/to-samsa-error.js'
import { quotaPrincipal } from '../security/quotas/broker-quotas.js'
import { assetPath, type StaticAssets } from './static-assets.js'
import { PAGE_SECURITY_HEADERS, demoContentSecurityPolicy, type BrowserPolicy, type RefusalReason } from '../security/browser-policy.js'
import type { RefusalReporter } from '../security/browser-refusals.js'
import { defaultDurableStreamsOptions, mountDurableStreams, type DurableStreamsOptions } from './durable-streams/routes.js'
import { mountGroupRoutes } from './group-routes.js'

export const SDK_FILES = ['samsa.js', 'samsa.js.map', 'samsa.iife.js', 'samsa.iife.js.map'] as const
export type SdkFile = (typeof SDK_FILES)[number]

export interface AppDeps {
  readonly broker: Broker
  readonly metricsText: () => Promise<{ contentType: string; body: string }>
  /** The built demo app's files (index.html, app/*); see static-assets.ts. */
  readonly staticAsset: StaticAssets
  /**
   * A file of the built SDK: the ES module, the classic script that sets the global `Samsa` (for a plain
   * `<script>` tag) and their source maps. null when it is not built.
   */
  readonly sdkFile: (name: SdkFile) => Promise<string | null>
  /** /v1/cluster: this node's id and, when it runs a controller quorum, its role, term, leader and commit index. */
  readonly cluster?: () => object
  /**
   * Host check on every request, Origin and JSON content-type checks on REST writes (POST, PUT, PATCH, DELETE).
   * Absent: no checks (embedding tests only; the Node adapter always sets it).
   */
  readonly browserPolicy?: BrowserPolicy
  readonly refused?: RefusalReporter
  /** Served over TLS: the demo page's CSP allows wss: to its host instead of ws:. */
  readonly secure?: boolean
  /** The client's address as the runtime saw it (the topic-creation quota keys an anonymous request on it). */
  readonly remoteAddressOf?: (c: Context) => string | undefined
  /** The Durable Streams HTTP protocol's prefix, limits and authorization hooks (transport/durable-streams/routes.ts). */
  readonly streams?: Partial<DurableStreamsOptions>
  /**
   * Who an HTTP request speaks for (authentication: a `Authorization: Bearer <jwt>` header, never a query parameter);
   * throws SamsaError('SASL_AUTHENTICATION_FAILED') for a bad or missing token (answered 401). Default: ANONYMOUS.
   */
  readonly principalOf?: (c: Context) => Promise<Principal>
  /** `/metrics` answers only a principal with the admin right (while authorization is on). */
  readonly protectMetrics?: boolean
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const REFUSAL_NAMES: Record<RefusalReason, string> = { origin: 'FORBIDDEN_ORIGIN', host: 'MISDIRECTED_HOST', 'content-type': 'UNSUPPORTED_MEDIA_TYPE' }

const HTTP_STATUS: Record<string, 400 | 401 | 403 | 404 | 409 | 421 | 422 | 429 | 500 | 503> = {
  SASL_AUTHENTICATION_FAILED: 401,
  TOPIC_AUTHORIZATION_FAILED: 403,
  GROUP_AUTHORIZATION_FAILED: 403,
  CLUSTER_AUTHORIZATION_FAILED: 403,
  INVALID_TOPIC_EXCEPTION: 400,
  INVALID_PARTITIONS: 400,
  INVALID_REQUEST: 400,
  UNKNOWN_TOPIC_OR_PARTITION: 404,
  TOPIC_ALREADY_EXISTS: 409,
  POLICY_VIOLATION: 422,
  THROTTLING_QUOTA_EXCEEDED: 429,
  BROKER_SHUTTING_DOWN: 503,
  KAFKA_STORAGE_ERROR: 503,
  INVALID_GROUP_ID: 400,
  GROUP_ID_NOT_FOUND: 404,
  NOT_COORDINATOR: 421,
  COORDINATOR_NOT_AVAILABLE: 503,
  COORDINATOR_LOAD_IN_PROGRESS: 503,
}

/** The JSON error body and HTTP status of anything a handler threw (SASL_AUTHENTICATION_FAILED → 401, …). */
export function errorResponse(c: Context, err: unknown) {
  const e = toSamsaError(err)
  const wait = e.details.throttleTimeMs
  const status = HTTP_STATUS[e.errorName] ?? 500
  if (status === 401) c.header('WWW-Authenticate', 'Bearer')
  // A throttled request says when to retry, in whole seconds (RFC 9110 Retry-After).
  if (typeof wait === 'number') c.header('Retry-After', String(Math.ceil(wait / 1000)))
  return c.json({ error: { code: e.code, name: e.errorName, message: e.message, retriable: e.retriable, details: e.details } }, status)
}

export function createApp(deps: AppDeps): Hono {
  const { broker } = deps
  const { access } = broker
  const principalOf = deps.principalOf ?? (async () => ANONYMOUS)
  const app = new Hono()
  const streamsPrefix = deps.streams?.prefix ?? defaultDurableStreamsOptions.prefix

  // No route reads cookies or any other credential the browser attaches on its own (no ambient authority).
  app.use('*', async (c, next) => {
    const policy = deps.browserPolicy
    if (policy) {
      const headers = { origin: c.req.header('origin'), host: c.req.header('host'), contentType: c.req.header('content-type') }
      // HTTP streams carry any content type (the protocol's), so they are held to the Origin check on every method
      // but a CORS preflight, reads included (a stream read is data, not a page); a preflight grants nothing by itself
      // (the request it announces is checked). Other writes must also be JSON.
      const verdict = c.req.path.startsWith(streamsPrefix)
        ? c.req.method === 'OPTIONS' ? policy.checkHost(headers) : policy.checkOrigin(headers)
        : WRITE_METHODS.has(c.req.method) ? policy.checkWrite(headers, c.req.method !== 'DELETE') : policy.checkHost(headers)
      if (!verdict.ok) {
        deps.refused?.('http', verdict.reason, headers)
        return c.json({ error: { name: REFUSAL_NAMES[verdict.reason], message: verdict.message } }, verdict.status)
      }
    }
    await next()
    for (const [k, v] of Object.entries(PAGE_SECURITY_HEADERS)) c.res.headers.set(k, v)
  })

  const upgradeRequired = (c: Context) =>
    c.text('426 Upgrade Required: /ws speaks the Samsa protocol over WebSocket. Connect with a WebSocket client (ws://HOST:PORT/ws), e.g. the SDK: createClient({ brokers: ["ws://HOST:PORT"] }).\n', 426, {
      upgrade: 'websocket',
      connection: 'Upgrade',
    })
  // WebSocket upgrades of /ws are served by the runtime adapter before Hono (Node: the server's 'upgrade' event); what reaches here is plain HTTP.
  app.get('/ws', upgradeRequired)
  app.get('/healthz', (c) =>
    broker.shuttingDown ? c.json({ status: 'shutting-down' }, 503) : c.json({ status: 'ok', brokerId: broker.limits.brokerId, topics: broker.listTopics().length, connections: broker.connectionCount }),
  )
  app.get('/metrics', async (c) => {
    try {
      if (deps.protectMetrics) access.authorize(await principalOf(c), 'admin', 'cluster', 'http', 'authorize', 'read /metrics')
    } catch (e) {
      return errorResponse(c, e)
    }
    const m = await deps.metricsText()
    return c.body(m.body, 200, { 'content-type': m.contentType })
  })

  app.get('/v1/cluster', (c) =>
    c.json(deps.cluster?.() ?? { nodeId: broker.limits.brokerId, role: 'standalone', term: null, leaderId: null, commitIndex: null }),
  )
  app.get('/v1/topics', async (c) => {
    let principal: Principal
    try {
      principal = await principalOf(c)
    } catch (e) {
      return errorResponse(c, e)
    }
    return c.json({ topics: broker.listTopics().filter((t) => access.may(principal, 'describe', t.name)) })
  })
  app.post('/v1/topics', async (c) => {
    let principal: Principal
    try {
      principal = await principalOf(c)
    } catch (e) {
      return errorResponse(c, e)
    }
    let body: unknown
    try {
      body = await c.req.json()
    } catch {
      body = undefined
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return errorResponse(c, new SamsaError('INVALID_REQUEST', 'the body must be a JSON object: {"name": "...", "partitions": 1}'))
    }
    const { name, partitions = 1, configs } = body as { name?: unknown; partitions?: unknown; configs?: unknown }
    try {
      // The same quota as the protocol's createTopic.
      broker.quotas.assertTopicCreation(quotaPrincipal(principal, deps.remoteAddressOf?.(c)))
      // The same check, code and message as the protocol's createTopic (the broker checks the untrusted values).
      const created = await createTopicAs(broker, principal, 'http', name, partitions, configs === undefined ? {} : { configs: configMap(configs) })
      return c.json(broker.describeTopic(created.name), 201)
    } catch (e) {
      return errorResponse(c, e)
    }
  })
  app.get('/v1/topics/:name', async (c) => {
    try {
      const name = c.req.param('name')
      access.authorize(await principalOf(c), 'describe', name, 'http')
      return c.json(broker.describeTopic(name))
    } catch (e) {
      return errorResponse(c, e)
    }
  })
  app.delete('/v1/topics/:name', async (c) => {
    try {
      await deleteTopicAs(broker, await principalOf(c), 'http', c.req.param('name'))
      return c.body(null, 204)
    } catch (e) {
      return errorResponse(c, e)
    }
  })

  mountGroupRoutes(app, broker, principalOf, errorResponse)

  // The same principal (Bearer token) and the same ACLs as the admin API and /ws.
  mountDurableStreams(app, broker, {
    ...defaultDurableStreamsOptions,
    principalOf,
    authorize: async (principal, operation, topic) => access.authorize(principal, operation, topic, 'http'),
    ...deps.streams,
  })

  for (const name of SDK_FILES) {
    app.get(`/sdk/${name}`, async (c) => {
      const body = await deps.sdkFile(name)
      if (body === null) return c.text(`The SDK file ${name} is not built: run \`npm run build\`.`, 404)
      const type = name.endsWith('.map') ? 'application/json; charset=utf-8' : 'text/javascript; charset=utf-8'
      return c.body(body, 200, { 'content-type': type, 'cache-control': 'no-cache' })
    })
  }
  app.get('/', async (c) => {
    const index = await deps.staticAsset('index.html')
    if (index === null) return c.text('Samsa broker. The demo app is not installed (run `npm run build`).', 200)
    const csp = demoContentSecurityPolicy(c.req.header('host'), deps.secure === true)
    return c.body(index.body, 200, { 'content-type': index.contentType, 'cache-control': 'no-cache', 'content-security-policy': csp })
  })
  app.get('/app/*', async (c) => {
    const path = assetPath(c.req.path)
    const asset = path === null ? null : await deps.staticAsset(path)
    if (asset === null) return notFound(c)
    return c.body(asset.body, 200, { 'content-type': asset.contentType, 'cache-control': 'no-cache' })
  })
  app.notFound(notFound)
  return app
}

/** The JSON 404 for every unknown route (also set on any app that mounts this one: Hono does not carry it over). */
export function notFound(c: Context) {
  return c.json({ error: { name: 'NOT_FOUND', message: `no route for ${c.req.method} ${c.req.path}` } }, 404)
}

/** A REST createTopic's `configs`: an object of string values (checked by name and value in topic-configs.ts). */
function configMap(configs: unknown): Record<string, string> {
  if (typeof configs !== 'object' || configs === null || Array.isArray(configs) || Object.values(configs).some((v) => typeof v !== 'string')) {
    throw new SamsaError('INVALID_CONFIG', 'configs must be a JSON object of string values, e.g. {"cleanup.policy": "compact"}')
  }
  return Object.fromEntries(Object.entries(configs).map(([k, v]) => [k, String(v)]))
}
