/**
 * No client behaviour kills the broker: a broker child process (the BUILT CLI: `npm run build` first) gets TCP
 * resets (RST, `socket.resetAndDestroy()`) at seeded random points of six stages — before the request line,
 * mid-headers, mid-upgrade, right after the upgrade, mid-frame and mid-push — 200 times each, while an SDK
 * producer and subscriber keep working. The broker must stay up, the producer must get every acknowledgement
 * and the subscriber every record in order; each reset shows up in samsa_connection_errors_total.
 * The seed is printed; SAMSA_RESET_SEED=<n> replays it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient } from '@samsa/client-browser'
import { MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, encodeRequestFrame, exchanges } from '../../packages/shared/src/index.js'
import { killAll, runCli, startChildBroker, type ChildBroker } from '../support/child-broker.js'
import { seeded } from '../support/raw-log.js'
import { until } from '../support/until.js'

const PER_STAGE = 200
const PARALLEL = 8
const STAGES = ['before-request-line', 'mid-headers', 'mid-upgrade', 'after-upgrade', 'mid-frame', 'mid-push'] as const
type Stage = (typeof STAGES)[number]

const dirs: string[] = []
afterAll(async () => {
  await killAll()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

const UPGRADE = Buffer.from('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n', 'latin1')
const UPGRADE_ELSEWHERE = Buffer.from(UPGRADE.toString('latin1').replace('GET /ws ', 'GET /elsewhere '), 'latin1')
const REQUEST_LINE_BYTES = UPGRADE.indexOf('\r\n')

/** One masked binary WebSocket frame (clients must mask). */
function wsFrame(payload: Uint8Array): Buffer {
  const len = payload.length
  const header = len < 126 ? Buffer.from([0x82, 0x80 | len]) : len < 65536 ? Buffer.from([0x82, 0x80 | 126, len >> 8, len & 0xff]) : null
  if (!header) throw new Error('test frames stay under 64 KiB')
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78])
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))
  return Buffer.concat([header, mask, body])
}
const HELLO = wsFrame(encodeRequestFrame(exchanges.hello, 0, 1, { clientId: 'resetter', minVersion: MIN_PROTOCOL_VERSION, maxVersion: MAX_PROTOCOL_VERSION }))
const SUBSCRIBE = wsFrame(encodeRequestFrame(exchanges.subscribe, MAX_PROTOCOL_VERSION, 2, { topic: 'bulk', partition: 0, offset: 0, creditBytes: 16 * 1024 * 1024 }))

/** Opens a raw TCP connection to the broker, plays `stage` up to a random point of it, then resets it; false if the broker closed it first. */
async function resetAt(port: number, stage: Stage, rnd: () => number): Promise<boolean> {
  const socket: Socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  let received = 0
  let text = ''
  const onData: ((n: number) => void)[] = []
  socket.on('data', (d: Buffer) => {
    received += d.length
    if (text.length < 200) text += d.toString('latin1')
    for (const f of onData) f(received)
  })
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  const waitFor = (what: () => boolean) =>
    new Promise<void>((resolve) => {
      if (what()) return resolve()
      onData.push(() => what() && resolve())
      void closed.then(() => resolve())
    })
  const upgraded = () => text.includes('\r\n\r\n')
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()).once('close', () => resolve()))
  const int = (n: number) => Math.floor(rnd() * n)
  switch (stage) {
    case 'before-request-line':
      socket.write(UPGRADE.subarray(0, int(REQUEST_LINE_BYTES)))
      break
    case 'mid-headers':
      socket.write(UPGRADE.subarray(0, REQUEST_LINE_BYTES + 1 + int(UPGRADE.length - REQUEST_LINE_BYTES - 2)))
      break
    case 'mid-upgrade':
      // A complete upgrade request, to /ws or to a path the broker refuses, reset while the broker answers it.
      socket.write(rnd() < 0.5 ? UPGRADE : UPGRADE_ELSEWHERE)
      if (rnd() < 0.5) await new Promise((r) => setImmediate(r))
      break
    case 'after-upgrade':
      socket.write(UPGRADE)
      await waitFor(upgraded)
      break
    case 'mid-frame': {
      socket.write(UPGRADE)
      await waitFor(upgraded)
      const frames = Buffer.concat([HELLO, SUBSCRIBE])
      socket.write(frames.subarray(0, 1 + int(frames.length - 1)))
      break
    }
    case 'mid-push': {
      socket.write(UPGRADE)
      await waitFor(upgraded)
      const at = received
      socket.write(Buffer.concat([HELLO, SUBSCRIBE]))
      const cut = at + 200 + int(256 * 1024) // past the hello and subscribe responses, into the pushes
      await waitFor(() => received >= cut)
      break
    }
  }
  const reset = !socket.destroyed && !socket.readableEnded
  if (!socket.destroyed) socket.resetAndDestroy()
  await closed
  return reset
}

describe('client connection resets', () => {
  it(`never kill the broker: ${PER_STAGE} resets at random points of each of ${STAGES.length} stages while a producer and a subscriber keep working`, { timeout: 240_000 }, async () => {
    const seed = Number(process.env.SAMSA_RESET_SEED ?? Date.now() % 2 ** 31)
    console.log(`client-resets seed: ${seed} (replay with SAMSA_RESET_SEED=${seed})`)
    const rnd = seeded(seed)
    const dir = await mkdtemp(join(tmpdir(), 'samsa-resets-'))
    dirs.push(dir)
    const broker: ChildBroker = await startChildBroker(dir)
    let exit: unknown = null
    void broker.exited.then((e) => (exit = e))

    expect((await runCli(['topics', 'create', 'bulk', '--broker', broker.url])).code).toBe(0)
    expect((await runCli(['topics', 'create', 'live', '--broker', broker.url])).code).toBe(0)
    // Enough on "bulk" that a subscription from offset 0 streams pushes well past any reset point.
    const filler = 'x'.repeat(1000)
    expect((await runCli(['produce', 'bulk', '--broker', broker.url], { input: `${filler}\n`.repeat(2000), timeoutMs: 60_000 })).code).toBe(0)

    const client = createClient({ brokers: [broker.url], clientId: 'resets-app', WebSocket: WebSocket as never })
    const producer = client.producer()
    const sub = client.consumer().subscribe('live', { from: 'earliest' })
    const got: string[] = []
    const reading = (async () => {
      for await (const r of sub) got.push(r.text())
    })()
    const sent: string[] = []
    let producing = true
    const producing$ = (async () => {
      for (let i = 0; producing && i < 100_000; i++) {
        const v = `live-${i}`
        await producer.send('live', [{ value: v }])
        sent.push(v)
      }
    })()

    try {
      const plan = STAGES.flatMap((stage) => Array.from({ length: PER_STAGE }, () => stage)).sort(() => rnd() - 0.5)
      let next = 0
      const resets = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>
      await Promise.all(
        Array.from({ length: PARALLEL }, async () => {
          while (next < plan.length && exit === null) {
            const stage = plan[next++]!
            if (await resetAt(broker.port, stage, rnd)) resets[stage]++
          }
        }),
      )
      expect(exit, `the broker exited during the resets; its last log lines: ${broker.logs.slice(-5).map((l) => JSON.stringify(l)).join('\n')}`).toBeNull()
      // Each connection was reset by the client at its point, not closed by the broker before it got there.
      expect(resets).toEqual(Object.fromEntries(STAGES.map((s) => [s, PER_STAGE])))
      producing = false
      await producing$
      expect(sent.length).toBeGreaterThan(0)
      await until(() => got.length >= sent.length, { timeoutMs: 30_000, what: `the subscriber to receive all ${sent.length} records` })
      expect(got).toEqual(sent)

      const health = await fetch(`${broker.httpUrl}/healthz`)
      expect(health.status).toBe(200)
      const metrics = await (await fetch(`${broker.httpUrl}/metrics`)).text()
      const counted = metrics
        .split('\n')
        .filter((l) => l.startsWith('samsa_connection_errors_total{'))
        .reduce((n, l) => n + Number(l.split(' ')[1]), 0)
      expect(counted).toBeGreaterThan(0)
      expect(exit).toBeNull()
    } finally {
      producing = false
      await producing$.catch(() => {})
      sub.close()
      await reading.catch(() => {})
      await client.close()
      await broker.stop()
    }
  })
})
