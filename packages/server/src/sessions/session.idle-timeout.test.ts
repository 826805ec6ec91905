import { CloseCodes, exchanges } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { sessionHarness } from './testing/session-harness.js'

const IDLE_MS = 60_000

describe('Session idle timeout', () => {
  it('closes a connection with no subscription and no request in flight after idleTimeoutMs without a frame', async () => {
    const h = await sessionHarness({ idleTimeoutMs: IDLE_MS })
    const { socket, session } = h.open()
    h.clock.advance(IDLE_MS - 1)
    expect(socket.closed).toBeNull()
    h.clock.advance(1)
    expect(socket.closed?.code).toBe(CloseCodes.IDLE_TIMEOUT)
    expect(socket.closed?.reason).toMatch(/idle/)
    expect(session.closed).toBe(true)
  })

  it('counts from the last frame: a request (a ping too) keeps the connection open', async () => {
    const h = await sessionHarness({ idleTimeoutMs: IDLE_MS })
    const { socket, request } = h.open()
    for (let i = 0; i < 5; i++) {
      h.clock.advance(IDLE_MS - 1000)
      await request(exchanges.ping, {})
    }
    expect(socket.closed).toBeNull()
    h.clock.advance(IDLE_MS)
    expect(socket.closed?.code).toBe(CloseCodes.IDLE_TIMEOUT)
  })

  it('never closes a connection while it has a subscription; the idle time starts once it has none', async () => {
    const h = await sessionHarness({ idleTimeoutMs: IDLE_MS })
    const { socket, request } = h.open()
    await request(exchanges.createTopic, { name: 't', partitions: 1 })
    const sub = await request(exchanges.subscribe, { topic: 't', partition: 0, offset: -1, creditBytes: 1 << 20 })
    h.clock.advance(IDLE_MS * 10)
    expect(socket.closed).toBeNull()
    await request(exchanges.unsubscribe, { subscriptionId: sub.subscriptionId })
    h.clock.advance(IDLE_MS * 2)
    expect(socket.closed?.code).toBe(CloseCodes.IDLE_TIMEOUT)
  })

  it('holds no timer while it has a subscription; when its last subscription ends by itself (topic deleted) the idle time starts', async () => {
    const h = await sessionHarness({ idleTimeoutMs: IDLE_MS })
    await h.broker.createTopic('t', 1)
    const [first, second, ...rest] = Array.from({ length: 5 }, () => h.open())
    for (const c of [first!, second!, ...rest]) await c.request(exchanges.subscribe, { topic: 't', partition: 0, offset: -1, creditBytes: 1 << 20 })
    // Closing a connection clears its idle timer, if it has one: a subscribed one has none.
    let timers = h.clock.pendingTimers
    first!.session.onClosed()
    expect(h.clock.pendingTimers).toBe(timers)
    await h.broker.deleteTopic('t')
    timers = h.clock.pendingTimers
    second!.session.onClosed()
    expect(h.clock.pendingTimers).toBe(timers - 1)
    h.clock.advance(IDLE_MS - 1)
    for (const c of rest) expect(c.socket.closed).toBeNull()
    h.clock.advance(1)
    for (const c of rest) expect(c.socket.closed?.code).toBe(CloseCodes.IDLE_TIMEOUT)
  })

  it('never closes a connection while a request is in flight (a long-poll fetch)', async () => {
    const h = await sessionHarness({ idleTimeoutMs: IDLE_MS, requestTimeoutMs: IDLE_MS * 3 })
    const { socket, session, request } = h.open()
    await request(exchanges.createTopic, { name: 't', partitions: 1 })
    session.onFrame((await import('@samsa/shared')).encodeRequestFrame(exchanges.fetch, session.version, 999, { topic: 't', partition: 0, offset: 0, maxBytes: 1024, maxWaitMs: IDLE_MS * 3, minBytes: 1 }))
    await new Promise((r) => setTimeout(r, 0))
    h.clock.advance(IDLE_MS * 2)
    expect(socket.closed).toBeNull()
  })

  it('is off with idleTimeoutMs 0', async () => {
    const h = await sessionHarness({ idleTimeoutMs: 0 })
    const { socket } = h.open()
    h.clock.advance(IDLE_MS * 100)
    expect(socket.closed).toBeNull()
  })
})
