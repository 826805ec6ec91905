/**
 * TLS with real processes (the BUILT dist: `npm run build` first): three `samsa start` nodes with --tls-cert,
 * --tls-key and --tls-ca form a cluster whose Raft, controller and replica links all run over wss:// (the voters are
 * given as HOST:PORT and become wss:// under TLS), replicate a replication-factor-3 topic written and read with the
 * CLI over wss:// (trusting the private CA through NODE_EXTRA_CA_CERTS); and a node reloads a renewed certificate on
 * SIGHUP.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect as tlsConnect } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { killAll, runCli, startChildBroker } from '../support/child-broker.js'
import { freePorts } from '../support/free-ports.js'
import { selfSignedCert } from '../support/tls-certs.js'
import { until } from '../support/until.js'

const certDir = mkdtempSync(join(tmpdir(), 'samsa-tls-cluster-certs-'))
const dirs: string[] = []
afterAll(async () => {
  await killAll()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
  rmSync(certDir, { recursive: true, force: true })
})

function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve(s.getPeerX509Certificate()!.fingerprint256)
      s.end()
    })
    s.on('error', reject)
  })
}

describe('TLS with real processes', () => {
  it('a three-node cluster replicates over wss:// and the CLI works against it', async () => {
    const cert = selfSignedCert(certDir, 'cluster')
    const ports = await freePorts(3)
    const controllers = ports.map((p, i) => `${i + 1}@127.0.0.1:${p}`).join(',')
    const tlsArgs = ['--tls-cert', cert.certFile, '--tls-key', cert.keyFile, '--tls-ca', cert.certFile]
    const nodes = []
    for (const [i, port] of ports.entries()) {
      const dir = await mkdtemp(join(tmpdir(), `samsa-tls-node-${i + 1}-`))
      dirs.push(dir)
      nodes.push(await startChildBroker(dir, ['--node-id', String(i + 1), '--controllers', controllers, '--session-timeout-ms', '1500', ...tlsArgs], { port }))
    }
    const urls = ports.map((p) => `wss://127.0.0.1:${p}`)
    const env = { NODE_EXTRA_CA_CERTS: cert.certFile }
    await until(async () => {
      const s = await runCli(['cluster', 'status', '--json', '--broker', urls[0]!], { env })
      if (s.code !== 0) return null
      const view = JSON.parse(s.stdout) as { nodes: { id: number; url: string; registered: boolean; fenced: boolean }[] }
      return view.nodes.length === 3 && view.nodes.every((n) => n.registered && !n.fenced && n.url.startsWith('wss://'))
    }, { timeoutMs: 60_000, what: 'three registered, unfenced nodes advertised at wss://' })

    const created = await runCli(['topics', 'create', 'secure', '--partitions', '2', '--replication-factor', '3', '--broker', urls[1]!], { env })
    expect(created.code, created.stderr).toBe(0)
    await until(async () => {
      const d = await runCli(['topics', 'describe', 'secure', '--broker', urls[2]!], { env })
      const rows = d.stdout.trim().split('\n').slice(2).map((l) => l.split('\t'))
      return rows.length === 2 && rows.every((r) => r[7]?.split(',').length === 3)
    }, { timeoutMs: 20_000, what: 'two partitions with three replicas in the ISR' })
    const produced = await runCli(['produce', 'secure', '--acks', 'all', '--broker', urls[2]!], { input: 'a\nb\nc\n', env, timeoutMs: 30_000 })
    expect(produced.code, produced.stderr).toBe(0)
    const consumed = await runCli(['consume', 'secure', '--max', '3', '--timeout-ms', '15000', '--broker', urls[0]!], { env, timeoutMs: 30_000 })
    expect(consumed.code, consumed.stderr).toBe(0)
    expect(consumed.stdout.trim().split('\n').sort()).toEqual(['a', 'b', 'c'])
    // Every replica holds the records: the high watermark of each partition (acks=all) is what describe shows everywhere.
    for (const url of urls) {
      const d = await until(async () => {
        const r = await runCli(['topics', 'describe', 'secure', '--broker', url], { env })
        const rows = r.stdout.trim().split('\n').slice(2).map((l) => l.split('\t'))
        return rows.length === 2 && rows.reduce((n, row) => n + Number(row[4]), 0) === 3 ? rows : null
      }, { timeoutMs: 10_000, what: `three records below the high watermarks seen from ${url}` })
      expect(d.length).toBe(2)
    }
    // Without trusting the CA the CLI is refused by TLS (no silent fallback to plain ws).
    const untrusted = await runCli(['topics', 'list', '--broker', urls[0]!])
    expect(untrusted.code).toBe(1)
    for (const n of nodes) expect((await n.stop(10_000)).code).toBe(0)
  })

  it('refuses half a TLS configuration and bad browser lists before taking the port', async () => {
    const half = await runCli(['start', '--port', '0', '--data', join(certDir, 'never'), '--tls-cert', 'x.pem'])
    expect([half.code, half.stderr]).toEqual([1, 'samsa: --tls-cert and --tls-key go together\n'])
    const caOnly = await runCli(['start', '--port', '0', '--data', join(certDir, 'never'), '--tls-ca', 'ca.pem'])
    expect(caOnly.code).toBe(1)
    expect(caOnly.stderr).toMatch(/--tls-ca needs --tls-cert/)
    const missing = await runCli(['start', '--port', '0', '--data', join(certDir, 'never'), '--tls-cert', join(certDir, 'none.crt'), '--tls-key', join(certDir, 'none.key')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/cannot read the TLS certificate/)
    const origins = await runCli(['start', '--port', '0', '--data', join(certDir, 'never'), '--allowed-origins', 'app.example.com'])
    expect(origins.code).toBe(1)
    expect(origins.stderr).toMatch(/"app.example.com" is not an origin/)
  })

  it('serves a renewed certificate after SIGHUP', async () => {
    const first = selfSignedCert(certDir, 'first', 'first')
    const second = selfSignedCert(certDir, 'second', 'second')
    const certFile = join(certDir, 'served.crt')
    const keyFile = join(certDir, 'served.key')
    copyFileSync(first.certFile, certFile)
    copyFileSync(first.keyFile, keyFile)
    const dir = await mkdtemp(join(tmpdir(), 'samsa-tls-sighup-'))
    dirs.push(dir)
    const broker = await startChildBroker(dir, ['--tls-cert', certFile, '--tls-key', keyFile])
    expect(await servedFingerprint(broker.port, first.cert)).toBe(first.fingerprint256)
    copyFileSync(second.certFile, certFile)
    copyFileSync(second.keyFile, keyFile)
    broker.kill('SIGHUP')
    await until(() => broker.logs.some((l) => l.msg === 'TLS certificate reloaded'), { what: 'the reload log line' })
    expect(await servedFingerprint(broker.port, second.cert)).toBe(second.fingerprint256)
    expect((await broker.stop(10_000)).code).toBe(0)
  })
})
