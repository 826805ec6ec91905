/**
 * @module Run by a runtime's own binary (bun, deno, node 22/24; sdk-client.test.ts): the built SDK, imported as the
 * package `@samsa/client-browser` (so the runtime picks its export condition), with the runtime's global WebSocket
 * and default storage, creates a topic on the broker at argv[2], produces three records with acks=all, reads them back
 * from earliest, and prints one JSON line: { resolved (the file the package resolved to), webSocket, offsets, values }.
 * Any failure exits 1 with its message.
 */
import process from 'node:process'
import { createClient } from '@samsa/client-browser'

const [broker, topic] = process.argv.slice(2)
if (!broker || !topic) throw new Error('usage: round-trip.ts BROKER_URL TOPIC')
const client = createClient({ brokers: [broker], clientId: `sdk-in-${topic}` })
const deadline = setTimeout(() => {
  console.error('round trip not done within 15 s')
  process.exit(1)
}, 15_000)
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
  console.log(JSON.stringify({ resolved: import.meta.resolve('@samsa/client-browser'), webSocket: typeof globalThis.WebSocket, offsets: metas.map((m) => m.offset), values }))
  await client.close()
  clearTimeout(deadline)
} catch (e) {
  console.error(e instanceof Error ? `${e.name}: ${e.message}` : String(e))
  process.exit(1)
}
