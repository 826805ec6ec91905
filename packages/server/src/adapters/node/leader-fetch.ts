/**
 * @module The HTTP client of Durable Streams requests proxied to a partition's leader in a TLS cluster whose nodes
 * trust a private CA (`--tls-ca`): node:https with that CA, which Node's `fetch` cannot be given without undici.
 *
 * Invariants: it trusts what the peer links trust (the same CA bundle, beside Node's default store); the leader's
 * answer is streamed back as it arrives, pulled only as fast as the caller reads it (SSE, long polls), and the
 * upstream request ends when the caller's signal aborts or the body is cancelled.
 */
import { Agent, request } from 'node:https'
import type { IncomingMessage } from 'node:http'
import type { LeaderFetch } from '../../transport/durable-streams/stream-cluster.js'

/** Statuses (and HEAD answers) that carry no body: a Response with one would throw. */
const NO_BODY = new Set([101, 204, 205, 304])

function responseOf(res: IncomingMessage, method: string): Response {
  const headers = new Headers()
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v)
  }
  const init = { status: res.statusCode ?? 502, statusText: res.statusMessage ?? '', headers }
  if (method === 'HEAD' || NO_BODY.has(init.status)) {
    res.resume()
    return new Response(null, init)
  }
  const chunks = res[Symbol.asyncIterator]()
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next: IteratorResult<Buffer> = await chunks.next()
      if (next.done) controller.close()
      else controller.enqueue(new Uint8Array(next.value))
    },
    cancel() {
      res.destroy()
    },
  })
  return new Response(body, init)
}

/** A LeaderFetch over https trusting `ca` (PEM) besides Node's default store. */
export function leaderFetchTrusting(ca: string): LeaderFetch {
  const agent = new Agent({ ca, keepAlive: true })
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const headers: Record<string, string> = {}
      init.headers.forEach((v, k) => {
        headers[k] = v
      })
      if (init.body) headers['content-length'] = String(init.body.length)
      const req = request(url, { method: init.method, headers, agent, signal: init.signal }, (res) => resolve(responseOf(res, init.method)))
      req.on('error', reject)
      req.end(init.body ?? undefined)
    })
}
