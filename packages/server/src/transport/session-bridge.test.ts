/** The socket bridge: admission, close accounting once, Hono events (first-frame start, Blob/ArrayBuffer frames in order), upgrade checks. */
import { ApiKeys, CloseCodes, MIN_PROTOCOL_VERSION, MAX_PROTOCOL_VERSION, encodeRequestFrame, exchanges, readFrameHeader } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { Broker } from '../broker/broker.js'
import { brokerConfig } from '../broker/broker-config.js'
import { silentLogger } from '../clock.js'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import { ManualClock } from '../log/testing/manual-clock.js'
import { BrowserPolicy } from '../security/browser-policy.js'
import { HonoSessionEvents, checkUpgrade, openSession, type BridgeSocket } from './session-bridge.js'

const startBroker = (maxConnections = 10) => Broker.start(brokerConfig({ maxConnections }), { storage: new MemoryLogStorage(), clock: new ManualClock(), logger: silentLogger })

function socket() {
  const sent: Uint8Array[] = []
  let closed: { code: number; reason: string } | null = null
  const s: BridgeSocket & { send(f: Uint8Array<ArrayBuffer>): void } = { send: (f) => void sent.push(f), close: (code, reason) => void (closed ??= { code, reason }) }
  return { s, sent, closed: () => closed }
}

const hello = (id: number) => encodeRequestFrame(exchanges.hello, MIN_PROTOCOL_VERSION, id, { clientId: 'bridge', minVersion: MIN_PROTOCOL_VERSION, maxVersion: MAX_PROTOCOL_VERSION })

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 0))
  expect(cond()).toBe(true)
}

describe('session bridge', () => {
  it('refuses a connection over maxConnections with 1013 and counts each admitted one closed exactly once', async () => {
    const broker = await startBroker(1)
    const a = socket()
    const first = openSession(broker, a.s)
    expect(first).not.toBeNull()
    const b = socket()
    expect(openSession(broker, b.s)).toBeNull()
    expect(b.closed()?.code).toBe(CloseCodes.TRY_AGAIN_LATER)
    first!.closed()
    first!.closed()
    expect(broker.connectionCount).toBe(0)
    expect(openSession(broker, socket().s)).not.toBeNull()
    expect(broker.connectionCount).toBe(1)
  })

  it('starts the session on the first message when onOpen never fires, and handles ArrayBuffer and Blob frames in order', async () => {
    const broker = await startBroker()
    const a = socket()
    const events = new HonoSessionEvents(() => openSession(broker, a.s))
    events.onMessage({ data: new Uint8Array(hello(1)).buffer }, a.s)
    await until(() => a.sent.length === 1)
    const list = (id: number) => encodeRequestFrame(exchanges.metadata, MIN_PROTOCOL_VERSION, id, { topics: null })
    events.onMessage({ data: new Blob([new Uint8Array(list(2))]) }, a.s)
    events.onMessage({ data: list(3) }, a.s)
    await until(() => a.sent.length === 3)
    expect(a.sent.map((f) => readFrameHeader(f).correlationId)).toEqual([1, 2, 3])
    expect(a.sent.every((f) => readFrameHeader(f).apiKey !== ApiKeys.PUSH)).toBe(true)
    events.onClose()
    expect(broker.connectionCount).toBe(0)
  })

  it('closes a connection whose frame is over maxFrameBytes with 1009 and counts it closed', async () => {
    const broker = await Broker.start(brokerConfig({ maxFrameBytes: 4096, maxBatchBytes: 2048, maxRecordBytes: 1024 }), { storage: new MemoryLogStorage(), clock: new ManualClock(), logger: silentLogger })
    const a = socket()
    const events = new HonoSessionEvents(() => openSession(broker, a.s))
    events.onMessage({ data: new Uint8Array(4097) }, a.s)
    expect(a.closed()).toEqual({ code: CloseCodes.MESSAGE_TOO_BIG, reason: 'a frame of 4097 bytes is over maxFrameBytes (4096)' })
    events.onClose()
    expect(broker.connectionCount).toBe(0)
  })

  it('refuses an upgrade from a foreign origin the same way on every runtime', () => {
    const policy = new BrowserPolicy({ allowedOrigins: [], allowedHosts: ['127.0.0.1:8080'], clusterUrls: () => [] })
    const reported: string[] = []
    const refusal = checkUpgrade(policy, (kind, reason) => void reported.push(`${kind}:${reason}`), { origin: 'https://evil.example', host: '127.0.0.1:8080' }, '10.0.0.1')
    expect(refusal?.status).toBe(403)
    expect(reported).toEqual(['ws:origin'])
    expect(checkUpgrade(policy, undefined, { origin: undefined, host: '127.0.0.1:8080' }, undefined)).toBeNull()
  })
})
