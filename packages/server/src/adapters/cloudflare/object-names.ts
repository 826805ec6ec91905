/**
 * @module How requests reach a namespace's Durable Objects, for the Worker and for the objects themselves (a Durable
 * Streams request proxied to its leader, a produce or fetch run on another object). `/ws`, `/v1/…`, `/healthz` and
 * `/metrics` go to the catalog object of the namespace `default`, `/ns/<name>/…` to namespace <name>'s; `/t/<topic>/…`
 * (after the namespace prefix, if any) to that topic's object — the URL the catalog advertises for the topic's leader.
 * The prefix is removed; the object is told the base URL clients reach it at (ADVERTISED_URL_HEADER: ws:// or wss://
 * after the request's scheme, with the prefix), its role, namespace and topic.
 * Invariants: the catalog object of namespace N is named N (the name of the one object per namespace before, so its
 * storage carries over); the object of topic T in N is `N/t/T` (a namespace name holds no `/`, so no two names meet);
 * INTERNAL_HEADER is removed from every request unless the caller is an object (`internal`), so no client reaches
 * the objects' internal API.
 */
import type { DurableObjectNamespaceBinding } from './workers-types.js'

/** The ws:// or wss:// base URL clients reach an object at (with its /ns/ and /t/ prefix). */
export const ADVERTISED_URL_HEADER = 'samsa-advertised-url'
/** The object's role: `catalog` or `topic` (persisted by the object, so a wake knows it). */
export const ROLE_HEADER = 'samsa-object-role'
/** The namespace the object belongs to (how a topic object reaches its catalog). */
export const NAMESPACE_HEADER = 'samsa-namespace'
/** A topic object's topic. */
export const TOPIC_HEADER = 'samsa-topic'
/** Marks a request between objects (catalog-sources.ts); never kept on a client's request. */
export const INTERNAL_HEADER = 'samsa-internal'

const NAMESPACE = /^\/ns\/([A-Za-z0-9._-]{1,64})(\/.*)?$/
const TOPIC = /^\/t\/([A-Za-z0-9._-]{1,249})(\/.*)?$/

export function catalogObjectName(namespace: string): string {
  return namespace
}

export function topicObjectName(namespace: string, topic: string): string {
  return `${namespace}/t/${topic}`
}

/** Sends `req` to the object its path names, the prefix removed and the object told what it is. */
export function routeToObject(req: Request, binding: DurableObjectNamespaceBinding, internal = false): Promise<Response> {
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
  if (!internal) headers.delete(INTERNAL_HEADER)
  headers.set(ADVERTISED_URL_HEADER, `${url.protocol === 'https:' ? 'wss' : 'ws'}://${url.host}${prefix}`)
  headers.set(ROLE_HEADER, topic ? 'topic' : 'catalog')
  headers.set(NAMESPACE_HEADER, namespace)
  if (topic) headers.set(TOPIC_HEADER, topic[1]!)
  else headers.delete(TOPIC_HEADER)
  const name = topic ? topicObjectName(namespace, topic[1]!) : catalogObjectName(namespace)
  const stub = binding.get(binding.idFromName(name))
  return stub.fetch(new Request(inner, { method: req.method, headers, body: req.body, signal: req.signal }))
}
