/**
 * Durable Streams on a three-node TLS cluster whose certificate is signed by a private CA (given as the nodes'
 * `tls.caFile`, as `--tls-ca` does, and trusted by no default store): a request reaching a node that does not lead
 * the stream is proxied over https to the leader, which the proxy trusts through that CA as the peer links do.
 * The test's own client trusts the CA through node:https.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InProcessCluster } from '../support/in-process-cluster.js'
import { selfSignedCert, type TestCert } from '../support/tls-certs.js'
import { until } from '../support/until.js'

const certDir = mkdtempSync(join(tmpdir(), 'samsa-ds-tls-certs-'))
let cert: TestCert
let cluster: InProcessCluster

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly text: string
}

/** One https request to `node`, trusting the private CA. */
function send(node: number, path: string, method = 'GET', body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${cluster.nodes.get(node)!.httpUrl}/v1/stream/${path}`, { method, headers, ca: cert.cert }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

beforeAll(async () => {
  cert = selfSignedCert(certDir, 'streams')
  cluster = await InProcessCluster.start({ dirPrefix: 'samsa-ds-tls', tls: { certFile: cert.certFile, keyFile: cert.keyFile, caFile: cert.certFile } })
  await until(async () => (await cluster.metadataOf(1, null)).brokers.length === 3, { timeoutMs: 30_000, what: 'three live brokers' })
}, 60_000)

afterAll(async () => {
  await cluster?.close()
  rmSync(certDir, { recursive: true, force: true })
})

describe('Durable Streams in a TLS cluster with a private CA', () => {
  it('a stream created and appended through one node is read through the others over https', async () => {
    const text = { 'content-type': 'text/plain' }
    const created = await send(1, 'secure', 'PUT', 'a', text)
    expect(created.status, created.text).toBe(201)
    const leader = (await cluster.partitionOn(1, 'secure'))!.leader
    const others = [1, 2, 3].filter((n) => n !== leader)
    // Appends through each node that does not lead the stream: proxied to the leader over https.
    for (const [i, n] of others.entries()) {
      const appended = await send(n, 'secure', 'POST', `b${i}`, text)
      expect(appended.status, appended.text).toBe(204)
    }
    for (const n of [1, 2, 3]) {
      const read = await send(n, 'secure?offset=-1')
      expect(read.status, read.text).toBe(200)
      expect(read.text).toBe('ab0b1')
    }
    // A long poll through a node that does not lead the stream, woken by an append on the leader: streamed back.
    const tail = (await send(others[0]!, 'secure?offset=-1')).headers['stream-next-offset']
    const poll = send(others[0]!, `secure?offset=${String(tail)}&live=long-poll`)
    expect((await send(leader, 'secure', 'POST', 'c', text)).status).toBe(204)
    const polled = await poll
    expect(polled.status, polled.text).toBe(200)
    expect(polled.text).toBe('c')
  }, 60_000)
})
