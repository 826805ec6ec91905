/**
 * One output budget (maxBufferedBytes, 16 MiB by default) covers everything queued for a connection, whatever
 * it asks for: the broker's RSS (a child process, so the memory measured is the broker's) stays within
 * baseline + connections × (budget + slack) under 1,000 subscriptions from earliest on a connection that never
 * reads, 2,000 pipelined 1 MB fetches on one, and 10 such connections at once; and it stops growing once they leave.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeRecordBatch, encodeRequestFrame, exchanges } from '../../packages/shared/src/index.js'
import { defaultBrokerConfig } from '../../packages/server/src/broker/broker-config.js'
import { killAll, startChildBroker, type ChildBroker } from '../support/child-broker.js'
import { RawConnection } from '../support/raw-connection.js'
import { until } from '../support/until.js'

const MiB = 1024 * 1024
const BUDGET_BYTES = defaultBrokerConfig.maxBufferedBytes
/** Per connection beyond its budget: one frame of overshoot, data already handed to the kernel (garbage until the next GC), bookkeeping. */
const PER_CONNECTION_SLACK_BYTES = 24 * MiB
/** For the whole broker: heap growth from the test's own traffic, allocator fragmentation. */
const BROKER_SLACK_BYTES = 128 * MiB

let broker: ChildBroker
let dataDir: string
let producer: RawConnection

async function rssBytes(): Promise<number> {
  const status = await readFile(`/proc/${broker.proc.pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024
}

async function gauge(name: string): Promise<number> {
  const text = await (await fetch(`${broker.httpUrl}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  if (!line) throw new Error(`/metrics has no ${name}`)
  return Number(line.split(' ')[1])
}

/** Samples the broker's RSS every few ms until stopped; `max` is the highest seen; `over` once it passed `bound` (the test stops there). */
function rssSampler(bound: number): { readonly over: boolean; stop(): Promise<number> } {
  let max = 0
  let running = true
  const loop = (async () => {
    while (running) {
      max = Math.max(max, await rssBytes())
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  return {
    get over() {
      return max >= bound
    },
    async stop() {
      running = false
      await loop
      return Math.max(max, await rssBytes())
    },
  }
}

/** A connection (hello done) whose client stops reading its socket: everything the broker sends it stays queued. */
async function neverReading(): Promise<RawConnection> {
  const c = await RawConnection.open(broker.url)
  ;(c.ws as unknown as { _socket: { pause(): void } })._socket.pause()
  return c
}

function subscribeFromEarliest(c: RawConnection, subscriptions: number): void {
  for (let i = 0; i < subscriptions; i++) {
    c.ws.send(encodeRequestFrame(exchanges.subscribe, c.version, c.nextCorrelationId(), { topic: 'big', partition: 0, offset: -2, creditBytes: 64 * MiB }))
  }
}

function pipelineFetches(c: RawConnection, fetches: number): void {
  for (let i = 0; i < fetches; i++) {
    c.ws.send(encodeRequestFrame(exchanges.fetch, c.version, c.nextCorrelationId(), { topic: 'big', partition: 0, offset: 0, maxBytes: MiB, maxWaitMs: 0, minBytes: 1 }))
  }
}

/** Waits until `paused` connections are paused and the queued bytes stopped changing (the broker sends nothing more). */
async function untilSettled(paused: number, sampler: { readonly over: boolean }): Promise<void> {
  let last = -1
  await until(
    async () => {
      if (sampler.over) return true
      const [p, q] = [await gauge('samsa_connections_reading_paused'), await gauge('samsa_connection_queued_bytes')]
      const settled = p >= paused && q === last
      last = q
      if (!settled) await new Promise((r) => setTimeout(r, 100))
      return settled
    },
    { timeoutMs: 60_000, what: `${paused} connection(s) paused with a steady queue` },
  )
}

async function leave(conns: RawConnection[]): Promise<void> {
  for (const c of conns) c.ws.terminate()
  await until(async () => (await gauge('samsa_connection_queued_bytes')) === 0 && (await gauge('samsa_connections_reading_paused')) === 0, {
    timeoutMs: 60_000,
    what: 'the broker to free the connections that left',
  })
}

async function underLoad(connections: number, load: (c: RawConnection, i: number) => void): Promise<void> {
  const baseline = await rssBytes()
  const bound = baseline + connections * (BUDGET_BYTES + PER_CONNECTION_SLACK_BYTES) + BROKER_SLACK_BYTES
  const sampler = rssSampler(bound)
  const conns: RawConnection[] = []
  try {
    for (let i = 0; i < connections; i++) conns.push(await neverReading())
    conns.forEach(load)
    await untilSettled(connections, sampler)
    expect(sampler.over).toBe(false)
    expect((await producer.request(exchanges.ping, {})).ok).toBe(true)
    const queued = await gauge('samsa_connection_queued_bytes')
    expect(queued).toBeLessThanOrEqual(connections * (BUDGET_BYTES + MiB))
  } finally {
    const peak = await sampler.stop()
    expect(peak, `peak RSS ${(peak / MiB).toFixed(0)} MiB over the bound ${(bound / MiB).toFixed(0)} MiB (baseline ${(baseline / MiB).toFixed(0)} MiB)`).toBeLessThan(bound)
    await leave(conns)
    // Gone: nothing of theirs is kept, so the broker does not grow any more.
    const after = await rssBytes()
    expect(after).toBeLessThanOrEqual(Math.max(peak, bound))
    expect((await producer.request(exchanges.ping, {})).ok).toBe(true)
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'samsa-memory-'))
  broker = await startChildBroker(dataDir)
  producer = await RawConnection.open(broker.url)
  expect((await producer.request(exchanges.createTopic, { name: 'big', partitions: 1 })).ok).toBe(true)
  const value = new Uint8Array(1_000_000).fill(7)
  for (let i = 0; i < 8; i++) {
    const r = await producer.request(exchanges.produce, { topic: 'big', partition: 0, acks: 1, timeoutMs: 10_000, batch: encodeRecordBatch({ records: [{ key: null, value, headers: [], timestamp: 1_700_000_000_000 }] }) })
    expect(r.ok).toBe(true)
  }
}, 60_000)

afterAll(async () => {
  producer?.close()
  await broker?.stop()
  await killAll()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

describe('the broker RSS under connections that never read', () => {
  it('1,000 subscriptions from earliest on one connection', async () => {
    await underLoad(1, (c) => subscribeFromEarliest(c, 1000))
  }, 120_000)

  it('2,000 pipelined 1 MB fetches on one connection', async () => {
    await underLoad(1, (c) => pipelineFetches(c, 2000))
  }, 120_000)

  it('10 such connections at once', async () => {
    await underLoad(10, (c, i) => (i % 2 === 0 ? subscribeFromEarliest(c, 1000) : pipelineFetches(c, 2000)))
  }, 180_000)
})
