import { afterEach, beforeEach, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, type SamsaClient } from '../client.js'
import { memoryStorage } from '../storage/memory-storage.js'
import { FakeBroker } from '../testing/fake-broker.js'
import { until } from '../testing/until.js'

let broker: FakeBroker
let clients: SamsaClient[] = []
beforeEach(async () => {
  broker = await FakeBroker.start()
  clients = []
})
afterEach(async () => {
  for (const c of clients) await c.close().catch(() => {})
  await broker.close()
})

it('re-subscribing after a bad push unsubscribes the subscription it abandons', async () => {
  broker.createTopic('t', 1)
  const p = createClient({ brokers: [broker.url], clientId: 'p', WebSocket, storage: memoryStorage(), heartbeatIntervalMs: 0 })
  clients.push(p)
  const producer = p.producer({ lingerMs: 0 })
  for (const v of ['a', 'b', 'c']) await producer.send('t', [{ value: v }])
  // Batch 1 is damaged on the way (its CRC no longer matches) until the client has re-subscribed once.
  const batch = broker.partition('t', 0).batches[1]!.bytes
  batch[batch.length - 1]! ^= 0xff
  const c = createClient({ brokers: [broker.url], clientId: 'c', WebSocket, storage: memoryStorage(), heartbeatIntervalMs: 0 })
  clients.push(c)
  const got: number[] = []
  c.consumer().subscribe('t', { from: 'earliest', partitions: [0], onRecord: (r) => void got.push(r.offset) })
  await until(() => broker.requests.filter((r) => r.apiKey === 'SUBSCRIBE').length >= 2, { what: 'a re-subscribe after the bad push' })
  batch[batch.length - 1]! ^= 0xff
  await until(() => got.length === 3, { what: 'all records' })
  expect(got).toEqual([0, 1, 2])
  await new Promise((r) => setTimeout(r, 100))
  const subscribed = broker.requests.filter((r) => r.apiKey === 'SUBSCRIBE').length
  const unsubscribed = broker.requests.filter((r) => r.apiKey === 'UNSUBSCRIBE').length
  expect(subscribed - unsubscribed).toBe(1)
})

it('a push that stays bad is retried with a growing backoff, not in a hot loop', async () => {
  broker.createTopic('t', 1)
  const p = createClient({ brokers: [broker.url], clientId: 'p', WebSocket, storage: memoryStorage(), heartbeatIntervalMs: 0 })
  clients.push(p)
  await p.producer({ lingerMs: 0 }).send('t', [{ value: 'a' }])
  const batch = broker.partition('t', 0).batches[0]!.bytes
  batch[batch.length - 1]! ^= 0xff // damaged for good
  const c = createClient({ brokers: [broker.url], clientId: 'c', WebSocket, storage: memoryStorage(), heartbeatIntervalMs: 0 })
  clients.push(c)
  const sub = c.consumer({ retryBackoff: { baseMs: 100, capMs: 5_000 } }).subscribe('t', { from: 'earliest', partitions: [0], onRecord: () => {} })
  const subscribes = () => broker.requests.filter((r) => r.apiKey === 'SUBSCRIBE').length
  await until(() => subscribes() >= 2, { what: 'the first re-subscribe' })
  await new Promise((r) => setTimeout(r, 500))
  // Full-jitter backoff from 100 ms, doubling: a handful of attempts in half a second, never hundreds.
  expect(subscribes()).toBeLessThan(12)
  await sub.close()
})
