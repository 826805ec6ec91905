/**
 * @module The Cloudflare Worker entry: routes each request to the Durable Object of its broker namespace. `/ws`,
 * `/v1/…`, `/healthz` and `/metrics` go to the namespace `default`; `/ns/<name>/…` to the namespace <name> (the
 * prefix removed). The Worker tells the object the base URL clients reach it at (ADVERTISED_URL_HEADER: ws:// or
 * wss:// after the request's scheme, with the /ns/<name> prefix), which the broker advertises in metadata.
 * Everything else is answered by the object; the Worker holds no state.
 */
import { ADVERTISED_URL_HEADER } from './broker-object.js'
import type { DurableObjectNamespaceBinding } from './workers-types.js'

export { SamsaBrokerObject } from './broker-object.js'

export interface WorkerEnv {
  readonly SAMSA_BROKER: DurableObjectNamespaceBinding
}

const NAMESPACE = /^\/ns\/([A-Za-z0-9._-]{1,64})(\/.*)?$/

export default {
  async fetch(req: Request, env: WorkerEnv): Promise<Response> {
    const url = new URL(req.url)
    const scoped = NAMESPACE.exec(url.pathname)
    const namespace = scoped ? scoped[1]! : 'default'
    const prefix = scoped ? `/ns/${namespace}` : ''
    const inner = new URL(url)
    inner.pathname = scoped ? (scoped[2] ?? '/') : url.pathname
    const headers = new Headers(req.headers)
    headers.set(ADVERTISED_URL_HEADER, `${url.protocol === 'https:' ? 'wss' : 'ws'}://${url.host}${prefix}`)
    const stub = env.SAMSA_BROKER.get(env.SAMSA_BROKER.idFromName(namespace))
    return stub.fetch(new Request(inner, { method: req.method, headers, body: req.body }))
  },
}
