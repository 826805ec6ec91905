/**
 * The broker's HTTP surface on Node, in process: /ws without an upgrade answers 426 with a hint, the SDK bundle's
 * source map is served, metric names follow Prometheus conventions, a wildcard host is never advertised, and a
 * slow or silent request (slowloris) is cut after headersTimeoutMs with its error counted in /metrics.
 */
import { rm } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exchanges } from '../../packages/shared/src/index.js'
import { startBroker } from '../../packages/server/src/adapters/node/index.js'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'
import { RawConnection } from '../support/raw-connection.js'
import { until } from '../support/until.js'

const HEADERS_TIMEOUT_MS = 400
let fx: BrokerFixture

beforeAll(async () => {
  fx = await startBrokerFixture({ headersTimeoutMs: HEADERS_TIMEOUT_MS })
})
afterAll(async () => {
  await fx?.dispose()
  if (fx) await rm(`${fx.dataDir}-adv`, { recursive: true, force: true })
})

async function metricsText(): Promise<string> {
  return (await fetch(`${fx.running.httpUrl}/metrics`)).text()
}
const metricValue = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? null : Number(line.slice(series.length + 1))
}

/** A raw TCP client that records everything it receives and when the broker closed it. */
function rawClient(port: number): { socket: Socket; received: () => string; closed: () => boolean } {
  const socket = connect(port, '127.0.0.1')
  let received = ''
  let closed = false
  socket.on('data', (d) => (received += d.toString('latin1')))
  socket.on('error', () => {})
  socket.on('close', () => (closed = true))
  return { socket, received: () => received, closed: () => closed }
}

const UPGRADE = 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'

describe('the HTTP surface', () => {
  it('answers GET /ws without an upgrade with 426 and a hint, and still upgrades WebSocket clients there', async () => {
    const res = await fetch(`${fx.running.httpUrl}/ws`)
    expect(res.status).toBe(426)
    expect(res.headers.get('upgrade')).toBe('websocket')
    expect(await res.text()).toMatch(/WebSocket client.*ws:\/\/HOST:PORT/)
    const c = await RawConnection.open(fx.running.url)
    expect((await c.request(exchanges.ping, {})).ok).toBe(true)
    c.close()
  })

  it('refuses an upgrade on another path with 404', async () => {
    const c = rawClient(fx.running.port)
    c.socket.write(UPGRADE.replace('GET /ws ', 'GET /other '))
    await until(() => c.closed(), { what: 'the broker to close the upgrade on /other' })
    expect(c.received()).toMatch(/^HTTP\/1\.1 404 /)
  })

  it('serves the source map the SDK bundle points at', async () => {
    const js = await (await fetch(`${fx.running.httpUrl}/sdk/samsa.js`)).text()
    const mapName = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(js)?.[1]
    expect(mapName).toBe('samsa.js.map')
    const res = await fetch(`${fx.running.httpUrl}/sdk/${mapName}`)
    expect(res.status).toBe(200)
    const map = (await res.json()) as { version: number; sources: string[]; mappings: string }
    expect(map.version).toBe(3)
    expect(map.sources.some((s) => s.endsWith('producer.ts'))).toBe(true)
  })

  it('names metrics by Prometheus conventions: one samsa_ prefix, durations in seconds', async () => {
    const c = await RawConnection.open(fx.running.url)
    expect((await c.request(exchanges.createTopic, { name: 'm', partitions: 1 })).ok).toBe(true)
    c.close()
    const text = await metricsText()
    const names = new Set(text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]!))
    expect([...names].filter((n) => !n.startsWith('samsa_'))).toEqual([])
    expect([...names].filter((n) => n.includes('process_process') || /_ms(_|$)/.test(n))).toEqual([])
    for (const n of ['samsa_process_cpu_seconds_total', 'samsa_produce_latency_seconds', 'samsa_fetch_latency_seconds', 'samsa_connection_errors_total']) expect(names).toContain(n)
    expect(text).toContain('samsa_produce_latency_seconds_bucket{le="0.001"}')
  })

  it('cuts an upgrade sent at a crawl once headersTimeoutMs has passed, and counts it', async () => {
    const before = metricValue(await metricsText(), 'samsa_connection_errors_total{stage="http"}') ?? 0
    const c = rawClient(fx.running.port)
    // One byte at a time, slower than the whole header may take: the request line and headers never complete.
    let i = 0
    const drip = setInterval(() => {
      if (!c.socket.destroyed && i < UPGRADE.length - 4) c.socket.write(UPGRADE[i++]!)
    }, HEADERS_TIMEOUT_MS / 8)
    try {
      await until(() => c.closed(), { timeoutMs: 15_000, what: 'the broker to cut the slow upgrade' })
    } finally {
      clearInterval(drip)
    }
    expect(i).toBeLessThan(UPGRADE.length - 4)
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /)
    await until(async () => (metricValue(await metricsText(), 'samsa_connection_errors_total{stage="http"}') ?? 0) > before, { what: 'the header timeout to be counted' })
  })

  it('cuts a connection that never sends a byte once headersTimeoutMs has passed', async () => {
    const c = rawClient(fx.running.port)
    await until(() => c.closed(), { timeoutMs: 15_000, what: 'the broker to cut the silent connection' })
  })
})

describe('the advertised URL', () => {
  it('never advertises a wildcard address; advertisedUrl replaces the default and must be a ws(s) base URL', async () => {
    const dir = `${fx.dataDir}-adv`
    const wildcard = await startBroker({ host: '0.0.0.0', port: 0, dataDir: dir, logger: silent, config: { allowAnonymous: true } })
    try {
      expect(wildcard.url).toBe(`ws://127.0.0.1:${wildcard.port}`)
      const c = await RawConnection.open(wildcard.url)
      const meta = await c.request(exchanges.metadata, { topics: [] })
      expect(meta.ok && meta.value.brokers.map((b) => b.url)).toEqual([`ws://127.0.0.1:${wildcard.port}`])
      c.close()
    } finally {
      await wildcard.close()
    }
    const advertised = await startBroker({ host: '0.0.0.0', port: 0, dataDir: dir, logger: silent, advertisedUrl: 'wss://broker.example.com', config: { allowAnonymous: true } })
    try {
      expect(advertised.url).toBe('wss://broker.example.com')
      const c = await RawConnection.open(`ws://127.0.0.1:${advertised.port}`)
      const meta = await c.request(exchanges.metadata, { topics: [] })
      expect(meta.ok && meta.value.brokers.map((b) => b.url)).toEqual(['wss://broker.example.com'])
      c.close()
    } finally {
      await advertised.close()
    }
    for (const bad of ['http://x:1', 'ws://x:1/ws', 'broker:8080', 'ws://'])
      await expect(startBroker({ port: 0, dataDir: dir, logger: silent, advertisedUrl: bad })).rejects.toThrow(`advertisedUrl must be a ws:// or wss:// base URL without /ws, a query or a fragment, such as ws://broker.example.com:8080, got "${bad}"`)
  })
})

const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent }
