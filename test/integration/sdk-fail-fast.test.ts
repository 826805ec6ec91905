/**
 * The SDK against a real in-process broker: a refused connection is reported by client.connect() at once (a coded
 * CONNECTION_FAILED, not a 30 s request timeout), the client keeps retrying in the background, and once the broker is
 * back a send queued meanwhile goes through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, SamsaError, type SamsaClient } from '@samsa/client-browser'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'

let fx: BrokerFixture
const clients: SamsaClient[] = []

/** Rejects if p has not settled within ms (the bound is generous: the machine is shared; nothing asserts a duration). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)))
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer))
}

beforeAll(async () => {
  fx = await startBrokerFixture()
})

afterAll(async () => {
  for (const c of clients) await within(c.close(), 10_000, 'close()').catch(() => {})
  await fx?.dispose()
})

describe('fail fast', () => {
  it('connect() to a refused port rejects with CONNECTION_FAILED; a send queued meanwhile lands once the broker is back', async () => {
    const port = fx.running.port
    {
      const setup = createClient({ brokers: fx.running.url, WebSocket: WebSocket as never })
      await setup.admin.createTopic('back', { partitions: 1 })
      await setup.close()
    }
    await fx.stop()
    // No scheme and a trailing /ws: normalized to ws://127.0.0.1:<port>.
    const client = createClient({ brokers: `127.0.0.1:${port}/ws`, clientId: 'fail-fast', WebSocket: WebSocket as never, reconnectBackoff: { baseMs: 20, capMs: 200 } })
    clients.push(client)
    const error = await within(client.connect(), 10_000, 'connect()').then(
      () => null,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(SamsaError)
    expect(error).toMatchObject({ errorName: 'CONNECTION_FAILED', code: 2000, retriable: true })
    expect((error as Error).message).toContain(`ws://127.0.0.1:${port}`)
    expect((error as Error).message).toContain('ECONNREFUSED')
    expect(['disconnected', 'connecting']).toContain(client.state.status)
    const sent = client.producer().send('back', [{ value: 'queued while the broker was down' }])
    await fx.restart()
    expect(await within(sent, 20_000, 'the queued send')).toEqual([{ topic: 'back', partition: 0, offset: 0 }])
    await within(client.connect(), 10_000, 'connect() once the broker is back')
    expect(client.state.status).toBe('connected')
  })
})
