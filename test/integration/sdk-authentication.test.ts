/**
 * The SDK's `token` option against a real broker with authentication: the token travels in hello, a token function
 * is refreshed in-band before expiry (reauthenticate) and called again for the reconnect after a TOKEN_EXPIRED close,
 * and a refused token closes the client for good with a typed, non-retriable error (no reconnect loop).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT, type JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { CloseCodes, createClient, memoryStorage, type SamsaClient } from '@samsa/client-browser'
import { startBroker, type RunningBroker } from '../../packages/server/src/adapters/node/index.js'
import { recordingLogger } from '../support/broker-fixture.js'
import { until } from '../support/until.js'

const secret = new TextEncoder().encode('sdk-integration-secret-32-bytes-long')
let broker: RunningBroker
let dir: string
const clients: SamsaClient[] = []

const sign = (lifetimeS: number, extra: JWTPayload = {}) =>
  new SignJWT({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + lifetimeS, samsa: { admin: true }, ...extra }).setProtectedHeader({ alg: 'HS256' }).sign(secret)
const client = (token: string | (() => Promise<string>)) => {
  const c = createClient({ brokers: broker.url, clientId: 'sdk-auth', WebSocket: WebSocket as never, storage: memoryStorage(), token, reconnectBackoff: { baseMs: 10, capMs: 50 } })
  clients.push(c)
  return c
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'samsa-sdk-auth-'))
  broker = await startBroker({ port: 0, dataDir: dir, logger: recordingLogger([]), authentication: { keys: [{ alg: 'HS256', secret }] }, config: { authClockSkewMs: 0 } })
})

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()))
  await broker?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('the SDK with a token', () => {
  it('a string token: creates, sends and reads', async () => {
    const c = client(await sign(600))
    await c.connect()
    await c.admin.createTopic('sdk-auth', { partitions: 1 })
    expect(await c.producer({ lingerMs: 0 }).send('sdk-auth', [{ value: 'hi', partition: 0 }])).toEqual([{ topic: 'sdk-auth', partition: 0, offset: 0 }])
  })

  it('a token function: refreshed in-band before expiry, so the connection outlives its first token', async () => {
    let calls = 0
    const c = client(async () => {
      calls++
      return sign(3)
    })
    await c.connect()
    const closes: number[] = []
    c.onStatus(({ current }) => current.reason.closeCode !== undefined && closes.push(current.reason.closeCode))
    // The first token lives 3 s; the refresh comes about 1 s before its end. Past its expiry the session is the same.
    await until(() => calls >= 3, { timeoutMs: 10_000, what: 'two refreshes' })
    expect(closes).toEqual([])
    expect(c.state.status).toBe('connected')
    expect(await c.producer({ lingerMs: 0 }).send('sdk-auth', [{ value: 'after refresh', partition: 0 }])).toHaveLength(1)
  })

  it('reconnects with a fresh token after a TOKEN_EXPIRED close', async () => {
    let calls = 0
    const c = client(async () => {
      calls++
      // The refreshes (calls 2 and 3) fail, so the broker closes the connection at the first token's expiry.
      if (calls === 2 || calls === 3) throw new Error('identity provider down')
      return sign(calls === 1 ? 2 : 600)
    })
    const closes: number[] = []
    c.onStatus(({ current }) => current.reason.closeCode !== undefined && closes.push(current.reason.closeCode))
    await c.connect()
    await until(() => closes.includes(CloseCodes.TOKEN_EXPIRED) && c.state.status === 'connected' && calls >= 4, { timeoutMs: 10_000, what: 'a TOKEN_EXPIRED close, then a reconnect' })
    expect(await c.producer({ lingerMs: 0 }).send('sdk-auth', [{ value: 'after reconnect', partition: 0 }])).toHaveLength(1)
  })

  it('a refused token closes the client for good with SASL_AUTHENTICATION_FAILED, not retriable', async () => {
    let calls = 0
    const c = client(async () => {
      calls++
      return new SignJWT({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 60 }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('a-different-secret-32-bytes-long!!!'))
    })
    await expect(c.connect()).rejects.toMatchObject({ errorName: 'SASL_AUTHENTICATION_FAILED', retriable: false })
    const closedWith = await c.closed
    expect(closedWith).toMatchObject({ errorName: 'SASL_AUTHENTICATION_FAILED', retriable: false })
    expect(c.state.status).toBe('closed')
    expect(calls).toBe(1)
    await expect(c.admin.listTopics()).rejects.toMatchObject({ retriable: false })
  })
})
