/**
 * @module A Cloudflare Worker that uses the SDK as a client (sdk-client.test.ts bundles it with the `workerd` export
 * condition and runs it in Miniflare's workerd): `GET /?broker=WS_URL&topic=NAME` creates the topic, produces three
 * records with acks=all, reads them back from earliest and answers one JSON object, as round-trip.ts prints it for
 * the other runtimes: { webSocket, offsets, values }. `@samsa/client-browser` is imported by package name and used
 * with no option, so its WebSocket is workerd's global one. Any failure, or no answer within 15 s, answers 500 with
 * the error's name and message.
 */
import { createClient } from '@samsa/client-browser'

const DEADLINE_MS = 15_000

interface RoundTrip {
  readonly webSocket: string
  readonly offsets: readonly number[]
  readonly values: readonly string[]
}

async function roundTrip(broker: string, topic: string): Promise<RoundTrip> {
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

export default {
  async fetch(request: Request): Promise<Response> {
    const params = new URL(request.url).searchParams
    const broker = params.get('broker')
    const topic = params.get('topic')
    if (!broker || !topic) return new Response('usage: GET /?broker=WS_URL&topic=NAME', { status: 400 })
    let timer: ReturnType<typeof setTimeout> | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`round trip not done within ${DEADLINE_MS / 1000} s`)), DEADLINE_MS)
    })
    try {
      return Response.json(await Promise.race([roundTrip(broker, topic), deadline]))
    } catch (e) {
      return new Response(e instanceof Error ? `${e.name}: ${e.message}` : String(e), { status: 500 })
    } finally {
      clearTimeout(timer)
    }
  },
}
