/**
 * TLS on a real broker (in process) with self-signed certificates made by `openssl`: it serves https:// and wss://
 * (advertised as wss://), the SDK round-trips over wss, a reload serves a renewed certificate to new connections
 * while an established connection stays open, and a reload with files that do not match keeps the old certificate.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { get } from 'node:https'
import { connect as tlsConnect } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { exchanges } from '@samsa/shared'
import { createClient } from '@samsa/client-browser'
import { startBroker, type RunningBroker } from '../../packages/server/src/adapters/node/index.js'
import { silentLogger } from '../support/in-process-cluster.js'
import { RawConnection } from '../support/raw-connection.js'
import { selfSignedCert, type TestCert } from '../support/tls-certs.js'

/** The SHA-256 fingerprint of the certificate a new TLS connection to the port is served. */
function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve(s.getPeerX509Certificate()!.fingerprint256)
      s.end()
    })
    s.on('error', reject)
  })
}

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    }).on('error', reject)
  })
}

describe('TLS', () => {
  const certDir = mkdtempSync(join(tmpdir(), 'samsa-tls-certs-'))
  let first: TestCert
  let second: TestCert
  let served: { certFile: string; keyFile: string }
  let dataDir: string
  let running: RunningBroker
  beforeAll(async () => {
    first = selfSignedCert(certDir, 'first', 'first')
    second = selfSignedCert(certDir, 'second', 'second')
    served = { certFile: join(certDir, 'served.crt'), keyFile: join(certDir, 'served.key') }
    copyFileSync(first.certFile, served.certFile)
    copyFileSync(first.keyFile, served.keyFile)
    dataDir = await mkdtemp(join(tmpdir(), 'samsa-tls-'))
    running = await startBroker({ port: 0, dataDir, logger: silentLogger, tls: served })
  })
  afterAll(async () => {
    await running?.close()
    await rm(dataDir, { recursive: true, force: true })
    rmSync(certDir, { recursive: true, force: true })
  })

  it('serves https:// and wss://, advertised as wss://, and the SDK round-trips over wss', async () => {
    expect(running.url).toBe(`wss://127.0.0.1:${running.port}`)
    expect(running.httpUrl).toBe(`https://127.0.0.1:${running.port}`)
    expect(JSON.parse((await httpsGet(`${running.httpUrl}/healthz`, first.cert)).body)).toMatchObject({ status: 'ok' })
    // A client that does not trust the certificate is refused by TLS itself.
    await expect(httpsGet(`${running.httpUrl}/healthz`, second.cert)).rejects.toThrow(/self.signed|unable to verify|certificate/i)
    const ca = first.cert
    class TrustingWebSocket extends WebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols, { ca })
      }
    }
    const client = createClient({ brokers: [running.url], clientId: 'tls-sdk', WebSocket: TrustingWebSocket })
    try {
      await client.admin.createTopic('secure', { partitions: 1 })
      const [meta] = await client.producer({ acks: 'all' }).send('secure', [{ value: 'over wss', partition: 0 }])
      expect(meta).toMatchObject({ topic: 'secure', partition: 0, offset: 0 })
      const sub = client.consumer().subscribe('secure', { from: 'earliest' })
      for await (const r of sub) {
        expect(r.text()).toBe('over wss')
        break
      }
      await sub.close()
    } finally {
      await client.close()
    }
  })

  it('reloads a renewed certificate for new connections without dropping an established one', async () => {
    expect(await servedFingerprint(running.port, first.cert)).toBe(first.fingerprint256)
    const established = await RawConnection.open(running.url, { ca: first.cert })
    copyFileSync(second.certFile, served.certFile)
    copyFileSync(second.keyFile, served.keyFile)
    await running.reloadTls()
    expect(await servedFingerprint(running.port, second.cert)).toBe(second.fingerprint256)
    expect((await established.request(exchanges.ping, {})).ok).toBe(true)
    expect(established.closed).toBeFalsy()
    established.close()

    // A key that does not belong to the certificate: the reload fails and the served certificate stays.
    copyFileSync(first.keyFile, served.keyFile)
    await expect(running.reloadTls()).rejects.toThrow(/cannot be used together/)
    expect(await servedFingerprint(running.port, second.cert)).toBe(second.fingerprint256)
    copyFileSync(second.keyFile, served.keyFile)
  })
})
