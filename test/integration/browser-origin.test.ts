/**
 * Browser hygiene on a real broker (in process): a WebSocket upgrade or a REST write from a foreign origin is refused
 * before anything happens (no 101, no topic), the broker's own origin and listed origins are accepted, a request
 * without Origin (SDK in Node, CLI) is unaffected, a foreign Host (DNS rebinding) is refused, REST writes need
 * application/json, a cookie grants nothing, and each refusal is counted in /metrics and audited.
 */
import { request } from 'node:http'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exchanges } from '../../packages/shared/src/index.js'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'
import { InProcessCluster } from '../support/in-process-cluster.js'
import { RawConnection } from '../support/raw-connection.js'
import { until } from '../support/until.js'

interface HttpAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export function httpRequest(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, setHost: headers.host === undefined }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Sends a WebSocket upgrade with these extra header lines; resolves with the status line the broker answers. */
export function upgradeStatus(port: number, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let received = ''
    socket.on('data', (d) => {
      received += d.toString('latin1')
      const end = received.indexOf('\r\n')
      if (end >= 0) {
        resolve(received.slice(0, end))
        socket.destroy()
      }
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(received.split('\r\n')[0] ?? ''))
    const extra = Object.entries({ host: `127.0.0.1:${port}`, ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('')
    socket.write(`GET /ws HTTP/1.1\r\n${extra}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`)
  })
}

const metricValue = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

describe('browser origins (no allow-list: only the broker\'s own origin)', () => {
  let fx: BrokerFixture
  let port: number
  const metrics = async () => (await httpRequest(port, 'GET', '/metrics', {})).body
  beforeAll(async () => {
    fx = await startBrokerFixture()
    port = fx.running.port
  })
  afterAll(async () => fx?.dispose())

  it('refuses an upgrade from a foreign origin with 403 before it completes, counts and audits it, and keeps serving', async () => {
    const before = metricValue(await metrics(), 'samsa_refused_requests_total{via="ws",reason="origin"}')
    expect(await upgradeStatus(port, { origin: 'http://evil.example' })).toBe('HTTP/1.1 403 Forbidden')
    expect(await upgradeStatus(port, { origin: 'null' })).toBe('HTTP/1.1 403 Forbidden')
    expect(metricValue(await metrics(), 'samsa_refused_requests_total{via="ws",reason="origin"}')).toBe(before + 2)
    const line = fx.logs.find((l) => l.fields.audit === true && l.fields.reason !== undefined && String(l.fields.resource).includes('evil.example'))
    expect(line?.fields).toMatchObject({ outcome: 'refused', via: 'ws' })
    expect(fx.running.broker.connectionCount).toBe(0)
    const c = await RawConnection.open(fx.running.url)
    expect((await c.request(exchanges.ping, {})).ok).toBe(true)
    c.close()
  })

  it('accepts an upgrade from its own origin (127.0.0.1 and localhost) and one without Origin', async () => {
    expect(await upgradeStatus(port, { origin: `http://127.0.0.1:${port}` })).toBe('HTTP/1.1 101 Switching Protocols')
    expect(await upgradeStatus(port, { host: `localhost:${port}`, origin: `http://localhost:${port}` })).toBe('HTTP/1.1 101 Switching Protocols')
    expect(await upgradeStatus(port, {})).toBe('HTTP/1.1 101 Switching Protocols')
    // Same host, another port: another origin.
    expect(await upgradeStatus(port, { origin: `http://127.0.0.1:${port + 1}` })).toBe('HTTP/1.1 403 Forbidden')
  })

  it('refuses a cross-origin text/plain POST /v1/topics (a CORS simple request) and creates nothing', async () => {
    const res = await httpRequest(port, 'POST', '/v1/topics', { origin: 'http://evil.example', 'content-type': 'text/plain' }, JSON.stringify({ name: 'pwned', partitions: 3 }))
    expect(res.status).toBe(403)
    expect(JSON.parse(res.body).error.name).toBe('FORBIDDEN_ORIGIN')
    const del = await httpRequest(port, 'DELETE', '/v1/topics/anything', { origin: 'http://evil.example' })
    expect(del.status).toBe(403)
    expect(fx.running.broker.listTopics().map((t) => t.name)).not.toContain('pwned')
    expect(metricValue(await metrics(), 'samsa_refused_requests_total{via="http",reason="origin"}')).toBe(2)
  })

  it('requires Content-Type: application/json on REST writes, even without Origin (415)', async () => {
    const body = JSON.stringify({ name: 'typed', partitions: 1 })
    expect((await httpRequest(port, 'POST', '/v1/topics', { 'content-type': 'text/plain' }, body)).status).toBe(415)
    expect((await httpRequest(port, 'POST', '/v1/topics', {}, body)).status).toBe(415)
    expect((await httpRequest(port, 'POST', '/v1/topics', { 'content-type': 'application/x-www-form-urlencoded' }, body)).status).toBe(415)
    expect(fx.running.broker.listTopics().map((t) => t.name)).not.toContain('typed')
    expect(metricValue(await metrics(), 'samsa_refused_requests_total{via="http",reason="content-type"}')).toBe(3)
    const ok = await httpRequest(port, 'POST', '/v1/topics', { 'content-type': 'application/json; charset=utf-8', origin: `http://127.0.0.1:${port}` }, body)
    expect(ok.status).toBe(201)
    expect((await httpRequest(port, 'DELETE', '/v1/topics/typed', {})).status).toBe(204)
  })

  it('refuses a foreign Host (DNS rebinding) on HTTP and upgrades with 421; IP literals and localhost pass', async () => {
    const res = await httpRequest(port, 'GET', '/v1/topics', { host: `evil.example:${port}` })
    expect(res.status).toBe(421)
    expect(await upgradeStatus(port, { host: `evil.example:${port}` })).toBe('HTTP/1.1 421 Misdirected Request')
    expect(await upgradeStatus(port, { host: `evil.example:${port}`, origin: `http://evil.example:${port}` })).toBe('HTTP/1.1 421 Misdirected Request')
    expect((await httpRequest(port, 'GET', '/v1/topics', { host: `localhost:${port}` })).status).toBe(200)
    expect((await httpRequest(port, 'GET', '/v1/topics', { host: `[::1]:${port}` })).status).toBe(200)
    expect(metricValue(await metrics(), 'samsa_refused_requests_total{via="http",reason="host"}')).toBe(1)
    expect(metricValue(await metrics(), 'samsa_refused_requests_total{via="ws",reason="host"}')).toBe(2)
  })

  it('holds HTTP streams to the Origin check on reads and writes (any content type), answering preflights', async () => {
    const own = `http://127.0.0.1:${port}`
    expect((await httpRequest(port, 'PUT', '/v1/stream/origin-notes', { 'content-type': 'text/plain', origin: own })).status).toBe(201)
    expect((await httpRequest(port, 'POST', '/v1/stream/origin-notes', { 'content-type': 'text/plain' }, 'hello')).status).toBe(204)
    const before = metricValue(await metrics(), 'samsa_refused_requests_total{via="http",reason="origin"}')
    expect((await httpRequest(port, 'GET', '/v1/stream/origin-notes?offset=-1', { origin: 'http://evil.example' })).status).toBe(403)
    expect((await httpRequest(port, 'POST', '/v1/stream/origin-notes', { 'content-type': 'text/plain', origin: 'http://evil.example' }, 'pwned')).status).toBe(403)
    expect(metricValue(await metrics(), 'samsa_refused_requests_total{via="http",reason="origin"}')).toBe(before + 2)
    // A preflight grants nothing by itself: it is answered, and the request it announces is checked.
    const preflight = await httpRequest(port, 'OPTIONS', '/v1/stream/origin-notes', { origin: 'http://evil.example', 'access-control-request-method': 'POST' })
    expect([200, 204]).toContain(preflight.status)
    const read = await httpRequest(port, 'GET', '/v1/stream/origin-notes?offset=-1', { origin: own })
    expect(read.status).toBe(200)
    expect(read.body).toBe('hello')
  })

  it('gives a cookie no authority: a foreign-origin write carrying cookies is refused like one without', async () => {
    const res = await httpRequest(port, 'POST', '/v1/topics', { origin: 'http://evil.example', 'content-type': 'application/json', cookie: 'session=admin; token=x' }, JSON.stringify({ name: 'cookie' }))
    expect(res.status).toBe(403)
    expect(await upgradeStatus(port, { origin: 'http://evil.example', cookie: 'session=admin' })).toBe('HTTP/1.1 403 Forbidden')
    expect(fx.running.broker.listTopics().map((t) => t.name)).not.toContain('cookie')
    expect(res.headers['set-cookie']).toBeUndefined()
  })

  it('serves the demo page with its security headers and a CSP allowing only its own scripts and WebSocket host', async () => {
    const res = await httpRequest(port, 'GET', '/', {})
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers['referrer-policy']).toBe('no-referrer')
    const csp = String(res.headers['content-security-policy'])
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${port}`)
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain('unsafe-inline')
  })
})

describe('browser origins with --allowed-origins', () => {
  let fx: BrokerFixture
  beforeAll(async () => {
    fx = await startBrokerFixture({ allowedOrigins: ['https://app.example.com'], allowedHosts: ['broker.example.com'] })
  })
  afterAll(async () => fx?.dispose())

  it('accepts listed origins and its own, refuses the rest, and answers to --allowed-hosts names', async () => {
    const port = fx.running.port
    expect(await upgradeStatus(port, { origin: 'https://app.example.com' })).toBe('HTTP/1.1 101 Switching Protocols')
    expect(await upgradeStatus(port, { origin: 'https://app.example.com:443' })).toBe('HTTP/1.1 101 Switching Protocols')
    expect(await upgradeStatus(port, { origin: `http://127.0.0.1:${port}` })).toBe('HTTP/1.1 101 Switching Protocols')
    expect(await upgradeStatus(port, { origin: 'http://app.example.com' })).toBe('HTTP/1.1 403 Forbidden')
    expect(await upgradeStatus(port, { host: 'broker.example.com', origin: 'https://app.example.com' })).toBe('HTTP/1.1 101 Switching Protocols')
    const created = await httpRequest(port, 'POST', '/v1/topics', { origin: 'https://app.example.com', 'content-type': 'application/json' }, JSON.stringify({ name: 'listed' }))
    expect(created.status).toBe(201)
    await until(() => fx.running.broker.listTopics().some((t) => t.name === 'listed'))
  })
})

describe('browser origins in a cluster', () => {
  let cluster: InProcessCluster
  afterAll(() => cluster?.close())

  it('accepts a page served by one node connecting to another (the SDK follows partition leaders), and still refuses foreign origins', async () => {
    cluster = await InProcessCluster.start({ size: 2, dirPrefix: 'samsa-origin-cluster' })
    const [one, two] = cluster.controllers.map((v) => Number(new URL(v.url).port))
    expect(await upgradeStatus(two!, { origin: `http://127.0.0.1:${one}` })).toBe('HTTP/1.1 101 Switching Protocols')
    expect(await upgradeStatus(one!, { origin: `http://127.0.0.1:${two}` })).toBe('HTTP/1.1 101 Switching Protocols')
    expect(await upgradeStatus(two!, { origin: 'http://evil.example' })).toBe('HTTP/1.1 403 Forbidden')
  })
})
