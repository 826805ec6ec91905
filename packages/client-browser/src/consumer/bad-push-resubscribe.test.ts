import { afterEach, beforeEach, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, type SamsaClient } from '../client.js'
import { memoryStorage } from '../storage/memory-storage.js'
import type { Clock } from '../ports.js'
import { FakeBroker } from '../testing/fake-broker.js'
import { ManualClock } from '../testing/manual-clock.js'
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
  const live = () => broker.requests.filter((r) => r.apiKey === 'SUBSCRIBE').length - broker.requests.filter((r) => r.apiKey === 'UNSUBSCRIBE').length
  await until(() => live() === 1, { what: 'every abandoned subscription to be unsubscribed' })
  // Two round trips on the same ordered connection: a subscribe or unsubscribe the client sent before them (or sent
  // on an answer that came before them) has reached the broker.
  await c.admin.describeTopic('t')
  await c.admin.describeTopic('t')
  expect(live()).toBe(1)
})

it('a push that stays bad is retried with a growing backoff, not in a hot loop', async () => {
  broker.createTopic('t', 1)
  const p = createClient({ brokers: [broker.url], clientId: 'p', WebSocket, storage: memoryStorage(), heartbeatIntervalMs: 0 })
  clients.push(p)
  await p.producer({ lingerMs: 0 }).send('t', [{ value: 'a' }])
  const batch = broker.partition('t', 0).batches[0]!.bytes
  batch[batch.length - 1]! ^= 0xff // damaged for good
  // The consumer's time is a manual clock whose timers the test records: a re-subscribe can only come from a timer.
  const time = new ManualClock()
  const scheduledMs: number[] = []
  const clock: Clock = { now: () => time.now(), setTimeout: (fn, ms) => (scheduledMs.push(ms), time.setTimeout(fn, ms)), clearTimeout: (t) => time.clearTimeout(t) }
  const c = createClient({ brokers: [broker.url], clientId: 'c', WebSocket, storage: memoryStorage(), heartbeatIntervalMs: 0, networkEvents: null, clock, random: () => 0.999 })
  clients.push(c)
  const sub = c.consumer({ retryBackoff: { baseMs: 100, capMs: 5_000 } }).subscribe('t', { from: 'earliest', partitions: [0], onRecord: () => {} })
  const subscribes = () => broker.requests.filter((r) => r.apiKey === 'SUBSCRIBE').length
  await until(() => subscribes() === 1, { what: 'the first subscribe' })
  // Full-jitter backoff from 100 ms, doubling, capped at 5 s (random 0.999: just under each ceiling).
  const expectedDelaysMs = [99, 199, 399, 799, 1598, 3196, 4995, 4995]
  let seen = 0
  for (const [attempt, delayMs] of expectedDelaysMs.entries()) {
    // The bad push is answered with a timer of the next delay, and with no subscribe before that timer fires.
    await until(
      () => {
        const at = scheduledMs.indexOf(delayMs, seen)
        if (at < 0) return false
        seen = at + 1
        return true
      },
      { what: `a ${delayMs} ms backoff after bad push ${attempt + 1} (timers so far: ${JSON.stringify(scheduledMs)})` },
    )
    expect(subscribes(), `only the subscribes before bad push ${attempt + 1}`).toBe(attempt + 1)
    time.advance(delayMs)
    await until(() => subscribes() === attempt + 2, { what: `the re-subscribe after ${delayMs} ms` })
  }
  // Eight re-subscribes spread over 16.3 s of the consumer's time; in its first 500 ms, two (the bound was fewer than 12).
  await sub.close()
})
