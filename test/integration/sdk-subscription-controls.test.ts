/**
 * The SDK's subscription controls against a real in-process broker over real WebSockets: `sub.ready` (a 'latest'
 * subscriber sees every record produced after it resolves), `until: 'end'` (reads to the end at ready, then
 * finishes), an AbortSignal, and pause/resume/seek.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, type SamsaClient } from '@samsa/client-browser'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'
import { until } from '../support/until.js'

let fx: BrokerFixture
const clients: SamsaClient[] = []

function client(): SamsaClient {
  const c = createClient({ brokers: [fx.running.url], clientId: 'sdk-controls', WebSocket: WebSocket as never, reconnectBackoff: { baseMs: 50, capMs: 500 } })
  clients.push(c)
  return c
}

beforeAll(async () => {
  fx = await startBrokerFixture()
})

afterAll(async () => {
  for (const c of clients) await Promise.race([c.close().catch(() => {}), new Promise((r) => setTimeout(r, 5_000).unref())])
  await fx?.dispose()
})

it("from 'latest': once sub.ready resolves, a record produced right away is delivered, on every partition", async () => {
  const c = client()
  await c.admin.createTopic('live', { partitions: 3 })
  const producer = c.producer()
  await producer.send('live', [0, 1, 2].map((partition) => ({ value: `old-${partition}`, partition })))
  for (let round = 0; round < 5; round++) {
    const got: string[] = []
    const sub = c.consumer().subscribe('live', { from: 'latest', onRecord: (r) => void got.push(r.text()) })
    await sub.ready
    await producer.send('live', [0, 1, 2].map((partition) => ({ value: `r${round}-p${partition}`, partition })))
    await until(() => got.length === 3, { what: `round ${round}: the three records produced after ready` })
    expect(got.sort()).toEqual([0, 1, 2].map((p) => `r${round}-p${p}`))
    sub.close()
    await sub.closed
  }
})

it("until: 'end' reads what each partition held at ready and finishes; records produced after ready are not read", async () => {
  const c = client()
  await c.admin.createTopic('finite', { partitions: 2 })
  const producer = c.producer()
  await producer.send('finite', [{ value: 'a', partition: 0 }, { value: 'b', partition: 0 }, { value: 'c', partition: 1 }])
  const sub = c.consumer().subscribe('finite', { from: 'earliest', until: 'end' })
  await sub.ready
  await producer.send('finite', [{ value: 'late', partition: 1 }])
  const seen: string[] = []
  for await (const r of sub) seen.push(r.text())
  expect(seen.sort()).toEqual(['a', 'b', 'c'])
  expect(await sub.closed).toBeUndefined()
})

it('an AbortSignal closes the subscription; pause holds a partition and seek rewinds it', async () => {
  const c = client()
  await c.admin.createTopic('ctl', { partitions: 2 })
  const producer = c.producer()
  await producer.send('ctl', [{ value: 'x0', partition: 0 }, { value: 'x1', partition: 0 }, { value: 'y0', partition: 1 }])
  const ac = new AbortController()
  const got: string[] = []
  const sub = c.consumer().subscribe('ctl', { from: 'earliest', partitions: [0, 1], signal: ac.signal })
  sub.pause([0])
  sub.onRecord((r) => void got.push(r.text()))
  await until(() => got.length === 1, { what: 'the unpaused partition' })
  expect(got).toEqual(['y0'])
  sub.seek(0, 1)
  sub.resume([0])
  await until(() => got.length === 2, { what: 'partition 0 from offset 1' })
  expect(got).toEqual(['y0', 'x1'])
  ac.abort()
  expect(await sub.closed).toBeUndefined()
})
