/**
 * TLS, authentication and metrics on every runtime of the matrix (launchers.ts): one broker per runtime started with
 * `--tls-cert/--tls-key` and `--auth-hs256-secret-file` (authorization on with it), driven over wss:// with the SDK
 * (a token granting admin) and raw frames (a token signed with another secret refused with
 * SASL_AUTHENTICATION_FAILED and close 4401), and its /metrics read over https:// as Prometheus text that counts
 * what was produced and the refused credential. And a certificate given with another certificate's key stops the
 * start in one line naming both files (Deno finds the mismatch only when it listens).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { get } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { CloseCodes, MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, exchanges } from '@samsa/shared'
import { createClient, type SamsaClient } from '@samsa/client-browser'
import { RawConnection } from '../support/raw-connection.js'
import { TEST_SECRET, signedToken } from '../support/test-tokens.js'
import { selfSignedCert, type TestCert } from '../support/tls-certs.js'
import { launchBroker, RUNTIMES, type LaunchedBroker } from './launchers.js'

function httpsGet(url: string, ca: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), body }))
    }).once('error', reject)
  })
}

describe.each(RUNTIMES)('TLS, authentication and metrics on %s', (runtime) => {
  let dir: string
  let cert: TestCert
  let broker: LaunchedBroker
  let client: SamsaClient | null = null

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `samsa-${runtime}-secure-`))
    cert = selfSignedCert(dir, 'broker')
    const secretFile = join(dir, 'hs256.secret')
    await writeFile(secretFile, TEST_SECRET)
    broker = await launchBroker(runtime, join(dir, 'data'), ['--tls-cert', cert.certFile, '--tls-key', cert.keyFile, '--auth-hs256-secret-file', secretFile])
  })

  afterAll(async () => {
    if (client) await Promise.race([client.close().catch(() => {}), new Promise((r) => setTimeout(r, 3_000).unref())])
    broker?.kill()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('serves wss:// to the SDK with a valid token: produce and consume', async () => {
    expect(broker.url).toMatch(/^wss:\/\//)
    const ca = cert.cert
    class TrustingWebSocket extends WebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols, { ca })
      }
    }
    client = createClient({ brokers: [broker.url], clientId: `secure-${runtime}`, WebSocket: TrustingWebSocket, token: () => signedToken('alice', { admin: true }) })
    await client.admin.createTopic('secure', { partitions: 1 })
    const metas = await client.producer({ acks: 'all' }).send('secure', [{ value: 'a' }, { value: 'b' }, { value: 'c' }])
    expect(metas.map((m) => m.offset)).toEqual([0, 1, 2])
    const sub = client.consumer().subscribe('secure', { from: 'earliest' })
    const seen: string[] = []
    for await (const r of sub) {
      seen.push(r.text())
      if (seen.length === 3) break
    }
    sub.close()
    expect(seen).toEqual(['a', 'b', 'c'])
  })

  it('refuses a token signed with another secret: SASL_AUTHENTICATION_FAILED, close 4401', async () => {
    const conn = await RawConnection.open(broker.url, { ca: cert.cert, hello: false })
    try {
      const forged = await signedToken('mallory', { admin: true }, { secret: new TextEncoder().encode('another-secret-of-at-least-32-bytes!!') })
      const answer = await conn.request(exchanges.hello, { clientId: 'intruder', minVersion: MIN_PROTOCOL_VERSION, maxVersion: MAX_PROTOCOL_VERSION, token: forged })
      expect(answer.ok ? 'accepted' : answer.error.errorName).toBe('SASL_AUTHENTICATION_FAILED')
      expect((await conn.waitClosed()).code).toBe(CloseCodes.UNAUTHORIZED)
    } finally {
      conn.close()
    }
  })

  it('serves /metrics over https as Prometheus text with what the broker did', async () => {
    const r = await httpsGet(`${broker.httpUrl}/metrics`, cert.cert)
    expect(r.status).toBe(200)
    expect(r.contentType).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(r.body).toMatch(/^samsa_records_in_total\{topic="secure"\} 3$/m)
    expect(r.body).toMatch(/^samsa_log_end_offset\{topic="secure",partition="0"\} 3$/m)
    expect(r.body).toMatch(/^samsa_authentication_refused_total\{kind="user",reason="[a-z-]+"\} 1$/m)
    expect(r.body).toMatch(/^samsa_produce_latency_seconds_count 1$/m)
  })
})

describe.each(RUNTIMES)('TLS files that cannot be used on %s', (runtime) => {
  it('a certificate with the key of another: the start fails in one line naming both files', async () => {
    const dir = await mkdtemp(join(tmpdir(), `samsa-${runtime}-tls-mismatch-`))
    try {
      const a = selfSignedCert(dir, 'a')
      const b = selfSignedCert(dir, 'b')
      await expect(launchBroker(runtime, join(dir, 'data'), ['--tls-cert', a.certFile, '--tls-key', b.keyFile])).rejects.toThrow(
        /could not start .*TLS certificate \S+a\.crt and key \S+b\.key/,
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
