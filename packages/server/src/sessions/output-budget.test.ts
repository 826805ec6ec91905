import { SamsaError } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../log/testing/manual-clock.js'
import { DRAIN_CHECK_INTERVAL_MS, OutputBudget } from './output-budget.js'
import { RecordingSocket } from './testing/session-harness.js'

function budget(maxBytes = 1000, slowConsumerTimeoutMs = 10_000) {
  const clock = new ManualClock()
  const socket = new RecordingSocket()
  const events: string[] = []
  const b = new OutputBudget({
    socket,
    clock,
    maxBytes,
    slowConsumerTimeoutMs,
    readingPaused: (p) => events.push(p ? 'paused' : 'resumed'),
    roomAgain: () => events.push('room'),
    slowConsumer: (reason) => events.push(`slow: ${reason}`),
  })
  return { b, clock, socket, events }
}

describe('OutputBudget', () => {
  it('counts reservations and the socket buffer against one budget, and pauses reading when it is spent', () => {
    const { b, socket, events } = budget()
    expect(b.tryReserve(600)).toBe(true)
    expect(b.tryReserve(300)).toBe(true)
    expect(b.queuedBytes).toBe(900)
    expect(b.tryReserve(200)).toBe(false)
    expect(socket.paused).toBe(true)
    expect(events).toEqual(['paused'])
    b.release(600)
    socket.send(new Uint8Array(600)) // what was reserved is now in the send buffer
    expect(b.queuedBytes).toBe(900)
    expect(b.tryReserve(200)).toBe(false)
  })

  it('always lets one reservation through when nothing is queued (a frame larger than the budget still goes)', () => {
    const { b } = budget(100)
    expect(b.tryReserve(5000)).toBe(true)
    expect(b.tryReserve(1)).toBe(false)
  })

  it('grants waiting reservations in order once the socket drains, and resumes reading at half the budget', async () => {
    const { b, clock, socket, events } = budget()
    socket.send(new Uint8Array(1200))
    b.sent()
    expect(socket.paused).toBe(true)
    const granted: number[] = []
    const waits = [400, 300, 200].map((n) => b.reserve(n).then((release) => (granted.push(n), release)))
    expect(b.tryReserve(1)).toBe(false) // behind the waiters
    socket.buffered = 500
    clock.advance(DRAIN_CHECK_INTERVAL_MS)
    await Promise.resolve()
    expect(granted).toEqual([400])
    expect(socket.paused).toBe(true)
    socket.buffered = 0
    clock.advance(DRAIN_CHECK_INTERVAL_MS)
    const releases = await Promise.all(waits)
    expect(granted).toEqual([400, 300, 200])
    expect(b.queuedBytes).toBe(900)
    for (const r of releases) r()
    clock.advance(DRAIN_CHECK_INTERVAL_MS)
    expect(socket.paused).toBe(false)
    expect(events.at(-2)).toBe('resumed')
    expect(events.at(-1)).toBe('room')
  })

  it('reports a slow consumer when congested for slowConsumerTimeoutMs', () => {
    const { b, clock, socket, events } = budget(1000, 300)
    socket.send(new Uint8Array(2000))
    b.sent()
    clock.advance(275)
    expect(events.some((e) => e.startsWith('slow'))).toBe(false)
    clock.advance(25)
    expect(events.at(-1)).toMatch(/^slow: the client did not read 2000 queued bytes within 300 ms/)
  })

  it('fails waiting reservations with NETWORK_EXCEPTION when closed, and resumes reading so the close is seen', async () => {
    const { b, socket } = budget()
    socket.send(new Uint8Array(2000))
    b.sent()
    const wait = b.reserve(10)
    b.close()
    await expect(wait).rejects.toBeInstanceOf(SamsaError)
    await expect(wait).rejects.toMatchObject({ errorName: 'NETWORK_EXCEPTION' })
    expect(socket.paused).toBe(false)
    await expect(b.reserve(1)).rejects.toMatchObject({ errorName: 'NETWORK_EXCEPTION' })
  })
})

describe('a Session over budget', () => {
  it('builds no response while its output is over budget, and answers the requests in order once it drains', async () => {
    const { sessionHarness } = await import('./testing/session-harness.js')
    const { encodeRequestFrame, exchanges, readFrameHeader } = await import('@samsa/shared')
    const h = await sessionHarness({ maxBufferedBytes: 1024 })
    const { session, socket, request } = h.open()
    await request(exchanges.createTopic, { name: 't', partitions: 1 })
    socket.buffered = 5000 // the client stopped reading
    await request(exchanges.ping, {}) // its response congests the connection
    expect(socket.paused).toBe(true)
    const before = socket.sent.length
    for (const id of [101, 102, 103]) session.onFrame(encodeRequestFrame(exchanges.metadata, session.version, id, { topics: null }))
    await new Promise((r) => setTimeout(r, 0))
    expect(socket.sent.length).toBe(before)
    socket.buffered = 0
    h.clock.advance(DRAIN_CHECK_INTERVAL_MS)
    expect(socket.paused).toBe(false)
    expect(socket.sent.slice(before).map((f) => readFrameHeader(f).correlationId)).toEqual([101, 102, 103])
  })
})

describe('a Session on a runtime that cannot pause reading', () => {
  it('closes with SLOW_CONSUMER once the requests it holds for later pass maxBufferedBytes', async () => {
    const { sessionHarness } = await import('./testing/session-harness.js')
    const { CloseCodes, encodeRequestFrame, exchanges } = await import('@samsa/shared')
    const h = await sessionHarness({ maxBufferedBytes: 1024 })
    const { session, socket, request } = h.open()
    socket.buffered = 5000
    await request(exchanges.ping, {})
    for (let i = 0; i < 200 && !socket.closed; i++) session.onFrame(encodeRequestFrame(exchanges.metadata, session.version, 1000 + i, { topics: ['some-topic'] }))
    expect(socket.closed?.code).toBe(CloseCodes.SLOW_CONSUMER)
    expect(socket.closed?.reason).toMatch(/without reading/)
  })
})
