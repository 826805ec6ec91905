/**
 * @module The HTTP surface (Hono): /ws, /healthz, /metrics, the admin REST API under /v1/topics, the demo page
 * at / and the SDK bundle at /sdk/samsa.js. Translation only: every rule lives in the broker.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { SamsaError } from '@samsa/shared'
import type { Broker } from '../broker/broker.js'
import { toSamsaError } from '../sessions/to-samsa-error.js'

export interface AppDeps {
  readonly broker: Broker
  /** The runtime's WebSocket upgrade for /ws (it creates a Session per connection). */
  readonly upgrade: MiddlewareHandler
  readonly metricsText: () => Promise<{ contentType: string; body: string }>
  readonly demoHtml: () => Promise<string | null>
  readonly sdkBundle: () => Promise<string | null>
}

const HTTP_STATUS: Record<string, 400 | 404 | 409 | 422 | 500 | 503> = {
  INVALID_TOPIC_EXCEPTION: 400,
  INVALID_PARTITIONS: 400,
  INVALID_REQUEST: 400,
  UNKNOWN_TOPIC_OR_PARTITION: 404,
  TOPIC_ALREADY_EXISTS: 409,
  POLICY_VIOLATION: 422,
  BROKER_SHUTTING_DOWN: 503,
  KAFKA_STORAGE_ERROR: 503,
}

function errorResponse(c: Context, err: unknown) {
  const e = toSamsaError(err)
  return c.json({ error: { code: e.code, name: e.errorName, message: e.message, retriable: e.retriable, details: e.details } }, HTTP_STATUS[e.errorName] ?? 500)
}

export function createApp(deps: AppDeps): Hono {
  const { broker } = deps
  const app = new Hono()

  app.get('/ws', deps.upgrade)
  app.get('/healthz', (c) =>
    broker.shuttingDown ? c.json({ status: 'shutting-down' }, 503) : c.json({ status: 'ok', brokerId: broker.config.brokerId, topics: broker.topics.list().length, connections: broker.connectionCount }),
  )
  app.get('/metrics', async (c) => {
    const m = await deps.metricsText()
    return c.body(m.body, 200, { 'content-type': m.contentType })
  })

  const describe = (name: string) => {
    const meta = broker.metadata([name]).topics[0]
    if (!meta || meta.errorCode !== 0) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', `topic "${name}" does not exist`)
    return { name: meta.name, partitions: meta.partitions }
  }
  app.get('/v1/topics', (c) => c.json({ topics: broker.topics.list().map((t) => ({ name: t.name, partitions: t.partitions.length })) }))
  app.post('/v1/topics', async (c) => {
    let body: { name?: unknown; partitions?: unknown }
    try {
      body = await c.req.json()
    } catch {
      return errorResponse(c, new SamsaError('INVALID_REQUEST', 'the body must be JSON: {"name": "...", "partitions": 1}'))
    }
    if (typeof body.name !== 'string') return errorResponse(c, new SamsaError('INVALID_REQUEST', '"name" must be a string'))
    const partitions = body.partitions === undefined ? 1 : body.partitions
    if (typeof partitions !== 'number') return errorResponse(c, new SamsaError('INVALID_PARTITIONS', '"partitions" must be a number'))
    try {
      await broker.topics.create(body.name, partitions)
      return c.json(describe(body.name), 201)
    } catch (e) {
      return errorResponse(c, e)
    }
  })
  app.get('/v1/topics/:name', (c) => {
    try {
      return c.json(describe(c.req.param('name')))
    } catch (e) {
      return errorResponse(c, e)
    }
  })
  app.delete('/v1/topics/:name', async (c) => {
    try {
      await broker.topics.delete(c.req.param('name'))
      return c.body(null, 204)
    } catch (e) {
      return errorResponse(c, e)
    }
  })

  app.get('/sdk/samsa.js', async (c) => {
    const js = await deps.sdkBundle()
    if (js === null) return c.text('The SDK bundle is not built: run `npm run build`.', 404)
    return c.body(js, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' })
  })
  app.get('/', async (c) => {
    const html = await deps.demoHtml()
    return html === null ? c.text('Samsa broker. The demo page is not installed.', 200) : c.html(html)
  })
  app.notFound(notFound)
  return app
}

/** The JSON 404 for every unknown route (also set on any app that mounts this one: Hono does not carry it over). */
export function notFound(c: Context) {
  return c.json({ error: { name: 'NOT_FOUND', message: `no route for ${c.req.method} ${c.req.path}` } }, 404)
}
