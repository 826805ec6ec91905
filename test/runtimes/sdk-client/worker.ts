/**
 * @module A Cloudflare Worker that uses the SDK as a client (sdk-client.test.ts bundles it with the `workerd` export
 * condition and runs it in Miniflare's workerd). `@samsa/client-browser` is imported by package name and used with no
 * option, so its WebSocket is workerd's global one.
 * - `GET /?broker=WS_URL&topic=NAME`: a client for this request only (workerd binds a socket to the request that
 *   opened it) creates the topic, produces three records with acks=all, reads them back from earliest, closes, and
 *   answers one JSON object as round-trip.ts prints it for the other runtimes: { webSocket, offsets, values }.
 * - `GET /object?broker=WS_URL&topic=NAME`: the Durable Object `ClientObject` (one instance) keeps one client across
 *   requests; each request produces one record with acks=all and answers { offset, served } (served: the requests
 *   that client has answered, this one included).
 * Any failure, or no answer within 15 s, answers 500 with the error's name and message.
 */
import { createClient, type SamsaClient } from '@samsa/client-browser'

const DEADLINE_MS = 15_000

/** The part of workerd's Durable Object namespace binding this Worker uses. */
interface ObjectNamespace {
  idFromName(name: string): unknown
  get(id: unknown): { fetch(request: Request): Promise<Response> }
}

interface Env {
  readonly CLIENTS: ObjectNamespace
}

async function roundTrip(broker: string, topic: string): Promise<object> {
  const client = createClient({ brokers: [broker], clientId: `sdk-in-${topic}` })
  try {
    await client.admin.createTopic(topic, { partitions: 1 })
    const metas = await client.producer({ acks: 'all' }).send(topic, ['one', 'two', 'three'].map((value) => ({ value })))
    const values: string[] = []
    const sub = client.consumer().subscribe(topic, { from: 'earliest' })
    for await (const r of sub) {
      values.push(r.text())
      if (values.length === 3) break
    }
    sub.close()
    return { webSocket: typeof globalThis.WebSocket, offsets: metas.map((m) => m.offset), values }
  } finally {
    await client.close()
  }
}

/** Answers `work`'s result as JSON, or 500 with its error or the deadline's. */
async function answer(work: Promise<object>): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not done within ${DEADLINE_MS / 1000} s`)), DEADLINE_MS)
  })
  try {
    return Response.json(await Promise.race([work, deadline]))
  } catch (e) {
    return new Response(e instanceof Error ? `${e.name}: ${e.message}` : String(e), { status: 500 })
  } finally {
    clearTimeout(timer)
  }
}

function params(request: Request): { broker: string; topic: string } | null {
  const search = new URL(request.url).searchParams
  const broker = search.get('broker')
  const topic = search.get('topic')
  return broker && topic ? { broker, topic } : null
}

const usage = () => new Response('usage: GET /?broker=WS_URL&topic=NAME or GET /object?broker=WS_URL&topic=NAME', { status: 400 })

export class ClientObject {
  #client: SamsaClient | null = null
  #served = 0

  fetch(request: Request): Promise<Response> {
    const p = params(request)
    if (!p) return Promise.resolve(usage())
    return answer(this.#produceOne(p.broker, p.topic))
  }

  async #produceOne(broker: string, topic: string): Promise<object> {
    if (this.#client === null) {
      this.#client = createClient({ brokers: [broker], clientId: 'sdk-in-durable-object' })
      await this.#client.admin.createTopic(topic, { partitions: 1 })
    }
    const [meta] = await this.#client.producer({ acks: 'all' }).send(topic, [{ value: `request ${this.#served + 1}` }])
    this.#served++
    return { offset: meta?.offset, served: this.#served }
  }
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const p = params(request)
    if (!p) return Promise.resolve(usage())
    if (new URL(request.url).pathname === '/object') return env.CLIENTS.get(env.CLIENTS.idFromName('one')).fetch(request)
    return answer(roundTrip(p.broker, p.topic))
  },
}
