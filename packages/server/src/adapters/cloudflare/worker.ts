/**
 * @module The Cloudflare Worker entry: routes each request to a Durable Object of its broker namespace. `/ws`,
 * `/v1/…`, `/healthz` and `/metrics` go to the namespace `default`'s catalog object, `/ns/<name>/…` to namespace
 * <name>'s; `/t/<topic>/…` (after the namespace prefix, if any) to that topic's object — the URL the catalog
 * advertises for the topic's leader in metadata. The prefix is removed; the Worker tells the object the base URL
 * clients reach it at (ADVERTISED_URL_HEADER: ws:// or wss:// after the request's scheme, with the prefix), its role,
 * namespace and topic (object-names.ts). It removes INTERNAL_HEADER from every request, so no client reaches the
 * objects' internal API. Everything else is answered by the object; the Worker holds no state.
 */
import { ADVERTISED_URL_HEADER } from './broker-object.js'
import { INTERNAL_HEADER } from './catalog-sources.js'
import { NAMESPACE_HEADER, ROLE_HEADER, TOPIC_HEADER, catalogObjectName, topicObjectName } from './object-names.js'
import type { DurableObjectNamespaceBinding } from './workers-types.js'

export { SamsaBrokerObject } from './broker-object.js'

export interface WorkerEnv {
  readonly SAMSA_BROKER: DurableObjectNamespaceBinding
}

const NAMESPACE = /^\/ns\/([A-Za-z0-9._-]{1,64})(\/.*)?$/
const TOPIC = /^\/t\/([A-Za-z0-9._-]{1,249})(\/.*)?$/

export default {
  async fetch(req: Request, env: WorkerEnv): Promise<Response> {
    const url = new URL(req.url)
    const scoped = NAMESPACE.exec(url.pathname)
    const namespace = scoped ? scoped[1]! : 'default'
    let prefix = scoped ? `/ns/${namespace}` : ''
    let path = scoped ? (scoped[2] ?? '/') : url.pathname
    const topic = TOPIC.exec(path)
    if (topic) {
      prefix += `/t/${topic[1]!}`
      path = topic[2] ?? '/'
    }
    const inner = new URL(url)
    inner.pathname = path
    const headers = new Headers(req.headers)
    headers.delete(INTERNAL_HEADER)
    headers.set(ADVERTISED_URL_HEADER, `${url.protocol === 'https:' ? 'wss' : 'ws'}://${url.host}${prefix}`)
    headers.set(ROLE_HEADER, topic ? 'topic' : 'catalog')
    headers.set(NAMESPACE_HEADER, namespace)
    if (topic) headers.set(TOPIC_HEADER, topic[1]!)
    else headers.delete(TOPIC_HEADER)
    const name = topic ? topicObjectName(namespace, topic[1]!) : catalogObjectName(namespace)
    const stub = env.SAMSA_BROKER.get(env.SAMSA_BROKER.idFromName(name))
    return stub.fetch(new Request(inner, { method: req.method, headers, body: req.body }))
  },
}
