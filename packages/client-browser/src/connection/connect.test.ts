/** client.connect() fails fast, client.closed says why, and status reports a failed attempt at once (injected WebSocket and clock). */
import { ApiKeys, SamsaError } from '@samsa/shared'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, type SamsaClient } from '../client.js'
import type { WebSocketLike } from '../ports.js'
import { memoryStorage } from '../storage/memory-storage.js'
import { FakeBroker } from '../testing/fake-broker.js'
import { ManualClock } from '../testing/manual-clock.js'

type Behaviour = 'refuse' | 'hang' | 'unauthorized'

/** A WebSocket double whose fate is chosen per URL: refused (error then close 1006, as `ws` reports it), never answering, or closed with 4401 after opening. */
function scriptedWebSocket(behaviours: Record<string, Behaviour>, opened: string[] = []) {
  return class ScriptedSocket implements WebSocketLike {
    binaryType = 'blob'
    readyState = 0
    readonly #listeners = new Map<string, ((event: unknown) => void)[]>()
    constructor(url: string) {
      opened.push(url)
      const behaviour = behaviours[url]
      if (behaviour === undefined) throw new SyntaxError(`unexpected URL ${url}`)
      queueMicrotask(() => {
        if (behaviour === 'refuse') {
          this.#emit('error', { message: `connect ECONNREFUSED ${new URL(url).host}` })
          this.#emit('close', { code: 1006, reason: '' })
        } else if (behaviour === 'unauthorized') {
          this.#emit('open', {})
          this.#emit('close', { code: 4401, reason: 'no token' })
        }
      })
    }
    send(): void {}
    close(): void {}
    addEventListener(type: string, listener: (event: unknown) => void): void {
      this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener])
    }
    #emit(type: string, event: unknown): void {
      for (const l of this.#listeners.get(type) ?? []) l(event)
    }
  }
}

/** Lets queued microtasks and socket callbacks run; no time passes on the manual clock. */
const drain = () => new Promise<void>((resolve) => setImmediate(resolve))

function settledState<T>(p: Promise<T>) {
  const s = { settled: false, value: undefined as T | undefined, error: undefined as unknown }
  p.then(
    (v) => Object.assign(s, { settled: true, value: v }),
    (e: unknown) => Object.assign(s, { settled: true, error: e }),
  )
  return s
}

describe('client.connect() and client.closed', () => {
  const clients: SamsaClient[] = []
  const make = (opts: Partial<Parameters<typeof createClient>[0]> & { brokers: string | string[] }) => {
    const c = createClient({ clientId: 't', clock: new ManualClock(), random: () => 0, networkEvents: null, storage: memoryStorage(), ...opts })
    clients.push(c)
    return c
  }
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close()
  })

  it('a refused broker rejects connect() with CONNECTION_FAILED at the first attempt, and status says connect_failed', async () => {
    const clock = new ManualClock()
    const c = make({ brokers: '127.0.0.1:1', WebSocket: scriptedWebSocket({ 'ws://127.0.0.1:1/ws': 'refuse' }), clock })
    const reasons: string[] = []
    c.onStatus(({ current }) => reasons.push(`${current.status}:${current.reason.code}`))
    const error = await c.connect().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SamsaError)
    expect(error).toMatchObject({ code: 2000, errorName: 'CONNECTION_FAILED', retriable: true })
    expect((error as Error).message).toMatch(/^cannot connect to ws:\/\/127\.0\.0\.1:1: could not connect to ws:\/\/127\.0\.0\.1:1\/ws \(connect ECONNREFUSED 127\.0\.0\.1:1\)/)
    expect(reasons).toEqual(['connecting:connect_requested', 'disconnected:connect_failed'])
    expect(c.state.reason.message).toMatch(/ECONNREFUSED/)
  })

  it('with several brokers it rejects once each has failed one attempt', async () => {
    const clock = new ManualClock()
    const opened: string[] = []
    const c = make({ brokers: ['ws://a:1', 'ws://b:2/ws'], WebSocket: scriptedWebSocket({ 'ws://a:1/ws': 'refuse', 'ws://b:2/ws': 'refuse' }, opened), clock })
    const s = settledState(c.connect())
    await drain()
    expect(s.settled).toBe(false)
    clock.advance(0) // the backoff (random 0 → 0 ms)
    await drain()
    expect(opened).toEqual(['ws://a:1/ws', 'ws://b:2/ws'])
    expect(s.error).toMatchObject({ errorName: 'CONNECTION_FAILED' })
  })

  it('a broker that never answers rejects with CONNECT_TIMEOUT after timeoutMs of the injected clock', async () => {
    const clock = new ManualClock()
    const c = make({ brokers: 'ws://silent:1', WebSocket: scriptedWebSocket({ 'ws://silent:1/ws': 'hang' }), clock })
    const s = settledState(c.connect({ timeoutMs: 1_000 }))
    clock.advance(999)
    await drain()
    expect(s.settled).toBe(false)
    clock.advance(1)
    await drain()
    expect(s.error).toMatchObject({ code: 2001, errorName: 'CONNECT_TIMEOUT', retriable: true, details: { timeoutMs: 1_000 } })
  })

  it('while the platform is offline connect() rejects at once', async () => {
    const network = new EventTarget()
    const c = make({ brokers: 'ws://x:1', WebSocket: scriptedWebSocket({ 'ws://x:1/ws': 'hang' }), networkEvents: network })
    network.dispatchEvent(new Event('offline'))
    await expect(c.connect()).rejects.toMatchObject({ errorName: 'CONNECTION_FAILED', message: expect.stringMatching(/no network/) })
  })

  it('client.closed resolves with undefined after close(), and close() is idempotent', async () => {
    const c = make({ brokers: 'ws://x:1', WebSocket: scriptedWebSocket({ 'ws://x:1/ws': 'hang' }) })
    await Promise.all([c.close(), c.close()])
    await expect(c.closed).resolves.toBeUndefined()
    await expect(c.connect()).rejects.toMatchObject({ retriable: false })
  })

  it('a terminal close code closes the client: closed resolves with CONNECTION_REJECTED and connect() rejects with it', async () => {
    const c = make({ brokers: 'ws://x:1', WebSocket: scriptedWebSocket({ 'ws://x:1/ws': 'unauthorized' }) })
    const connecting = c.connect()
    const why = await c.closed
    expect(why).toBeInstanceOf(SamsaError)
    expect(why).toMatchObject({ code: 2002, errorName: 'CONNECTION_REJECTED', retriable: false, details: { closeCode: 4401 } })
    await expect(connecting).rejects.toBe(why)
    await expect(c.producer().send('t', [{ value: 'x' }])).rejects.toMatchObject({ retriable: false })
  })

  it('a handshake that fails for good closes the client: closed resolves with the broker\'s error', async () => {
    const broker = await FakeBroker.start()
    try {
      broker.failNext(ApiKeys.HELLO, 'UNSUPPORTED_VERSION')
      const c = make({ brokers: broker.url, WebSocket, clock: undefined })
      const connecting = c.connect()
      const why = await c.closed
      expect(why).toMatchObject({ errorName: 'UNSUPPORTED_VERSION', retriable: false })
      await expect(connecting).rejects.toBe(why)
      expect(c.state).toMatchObject({ status: 'closed', reason: { code: 'handshake_failed' } })
    } finally {
      for (const c of clients.splice(0)) await c.close()
      await broker.close()
    }
  })

  it('connect() resolves against a live broker and calls work after it', async () => {
    const broker = await FakeBroker.start()
    try {
      const c = make({ brokers: `${broker.url}/ws`, WebSocket, clock: undefined })
      await c.connect({ timeoutMs: 5_000 })
      expect(c.state.status).toBe('connected')
      await c.connect()
      await c.admin.createTopic('after-connect')
      expect(await c.admin.listTopics()).toEqual(['after-connect'])
      expect(broker.connectionCount).toBe(1)
    } finally {
      for (const c of clients.splice(0)) await c.close()
      await broker.close()
    }
  })
})
