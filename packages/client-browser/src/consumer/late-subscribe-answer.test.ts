import { afterEach, beforeEach, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, type SamsaClient } from '../client.js'
import { memoryStorage } from '../storage/memory-storage.js'
import { FakeBroker } from '../testing/fake-broker.js'
import { until } from '../testing/until.js'

/** A ws WebSocket whose incoming messages can be held back (a slow network on the way to the client). */
class HoldingWebSocket extends WebSocket {
  static hold = false
  static held: (() => void)[] = []
  override addEventListener(type: string, listener: (ev: unknown) => void, opts?: unknown): void {
    if (type !== 'message') return (super.addEventListener as (t: string, l: unknown, o?: unknown) => void)(type, listener, opts)
    ;(super.addEventListener as (t: string, l: unknown, o?: unknown) => void)('message', (ev: unknown) => (HoldingWebSocket.hold ? HoldingWebSocket.held.push(() => listener(ev)) : listener(ev)), opts)
  }
}

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

it('a subscribe that timed out and is answered late leaves no live subscription on the broker', async () => {
  broker.createTopic('t', 1)
  const p = createClient({ brokers: [broker.url], clientId: 'p', WebSocket, storage: memoryStorage(), heartbeatIntervalMs: 0 })
  clients.push(p)
  await p.producer({ lingerMs: 0 }).send('t', [{ value: 'a' }])
  const c = createClient({ brokers: [broker.url], clientId: 'c', WebSocket: HoldingWebSocket as unknown as typeof WebSocket, storage: memoryStorage(), heartbeatIntervalMs: 0, requestTimeoutMs: 200 })
  clients.push(c)
  const warm = c.consumer().subscribe('t', { from: 'latest', partitions: [0] }) // warm: connection
  await until(() => warm.position(0) !== null, { what: 'warm-up subscribed' })
  warm.close()
  await until(() => broker.requests.some((r) => r.apiKey === 'UNSUBSCRIBE'), { what: 'warm-up unsubscribed' })
  HoldingWebSocket.hold = true
  const sub = c.consumer({ retryBackoff: { baseMs: 1, capMs: 1 } }).subscribe('t', { from: 'earliest', partitions: [0] })
  await until(() => broker.requests.filter((r) => r.apiKey === 'SUBSCRIBE').length >= 3, { what: 'the subscribe timed out and was retried' })
  HoldingWebSocket.hold = false
  for (const deliver of HoldingWebSocket.held.splice(0)) deliver()
  const got: number[] = []
  sub.onRecord((r) => void got.push(r.offset))
  await until(() => got.length === 1, { what: 'the record' })
  // Every subscribe the client gave up on must be unsubscribed: the broker should push to one subscription only.
  const subscribed = () => broker.requests.filter((r) => r.apiKey === 'SUBSCRIBE').length - 1 // minus the warm-up one
  const unsubscribed = () => broker.requests.filter((r) => r.apiKey === 'UNSUBSCRIBE').length - 1
  await until(() => subscribed() - unsubscribed() === 1, { what: 'every subscribe given up on to be unsubscribed' })
  // Two round trips on the same ordered connection: a subscribe or unsubscribe the client sent before them (or sent
  // on an answer that came before them) has reached the broker.
  await c.admin.describeTopic('t')
  await c.admin.describeTopic('t')
  expect(subscribed() - unsubscribed()).toBe(1)
})
