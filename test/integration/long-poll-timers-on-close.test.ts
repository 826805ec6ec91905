import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { nodeClock } from '../../packages/server/src/adapters/node/node-clock.js'
import { encodeRequestFrame, exchanges } from '../../packages/shared/src/index.js'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'
import { RawConnection } from '../support/raw-connection.js'
import { until } from '../support/until.js'

let fx: BrokerFixture
beforeAll(async () => {
  fx = await startBrokerFixture()
  const c = await RawConnection.open(fx.running.url)
  expect((await c.request(exchanges.createTopic, { name: 'lp', partitions: 1 })).ok).toBe(true)
  c.close()
})
afterAll(async () => {
  await fx?.dispose()
})

/** Long-poll timers (30 s) the broker has armed and not cleared nor fired. */
const parked = new Set<unknown>()
const timeouts = () => parked.size
const realSet = nodeClock.setTimeout
const realClear = nodeClock.clearTimeout
vi.spyOn(nodeClock, 'setTimeout').mockImplementation((fn, ms) => {
  if (ms !== 30_000) return realSet(fn, ms)
  const t = realSet(() => (parked.delete(t), fn()), ms)
  parked.add(t)
  return t
})
vi.spyOn(nodeClock, 'clearTimeout').mockImplementation((t) => (parked.delete(t), realClear(t)))

it('long-poll fetches of a connection that closed do not keep their timers (and high-watermark listeners) for requestTimeoutMs', async () => {
  const before = timeouts()
  const c = await RawConnection.open(fx.running.url)
  // One client, many parked long-polls at the log end: nothing bounds how many a connection may park.
  for (let i = 0; i < 2000; i++) c.ws.send(encodeRequestFrame(exchanges.fetch, c.version, c.nextCorrelationId(), { topic: 'lp', partition: 0, offset: 0, maxBytes: 1024, maxWaitMs: 30_000, minBytes: 1 }))
  await until(() => timeouts() - before >= 2000, { what: 'the long-polls parked' })
  c.close()
  await c.waitClosed()
  // The connection is gone: its long-polls can never be answered, so their timers go (well before their 30 s wait ends).
  await until(() => timeouts() - before < 100, { timeoutMs: 10_000, what: 'the closed connection\'s long-poll timers to be cleared' })
  expect(timeouts() - before).toBeLessThan(100)
})
