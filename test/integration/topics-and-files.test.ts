/**
 * Topics and files on real brokers in their own processes (real FileLogStorage, real fsync): open segment
 * handles stay bounded by maxOpenSegmentFiles however many partitions exist, topic and partition limits refuse
 * cleanly, and running out of file descriptors (a broker whose fd limit is lowered with `prlimit`) is a retriable error without
 * paths after which the broker keeps serving and holds no leaked handle.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { encodeRecordBatch, exchanges } from '../../packages/shared/src/index.js'
import { startBrokerFixture } from '../support/broker-fixture.js'
import { assertBuilt, type JsonLogLine } from '../support/child-broker.js'
import { RawConnection } from '../support/raw-connection.js'
import { until } from '../support/until.js'

const CHILD = fileURLToPath(new URL('../support/configured-broker.mjs', import.meta.url))
const te = new TextEncoder()
const batch = (tag: string) => encodeRecordBatch({ records: [{ key: null, value: te.encode(tag), headers: [], timestamp: 1_700_000_000_000 }] })

interface Child {
  readonly proc: ChildProcess
  readonly url: string
  readonly httpUrl: string
  readonly logs: JsonLogLine[]
  fds(): Promise<number>
  stop(): Promise<void>
}

const children: Child[] = []
const dirs: string[] = []
const conns: RawConnection[] = []

afterEach(async () => {
  for (const c of conns.splice(0)) c.ws.terminate()
  for (const c of children.splice(0)) await c.stop()
})
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'samsa-files-'))
  dirs.push(d)
  return d
}

/**
 * A broker process with BrokerConfig overrides. With fdLimit, its file-descriptor limit (soft and hard) is lowered
 * once it listens (`prlimit`): the module loader opens dozens of files at once while starting, which is not what
 * these tests are about.
 */
async function startChild(dataDir: string, config: object, fdLimit?: number): Promise<Child> {
  assertBuilt()
  const proc = spawn(process.execPath, [CHILD, dataDir], {
    env: { ...process.env, SAMSA_TEST_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  const logs: JsonLogLine[] = []
  let rest = ''
  proc.stderr!.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n')
    rest = lines.pop()!
    for (const line of lines) {
      if (!line.trim()) continue
      try {
        logs.push(JSON.parse(line) as JsonLogLine)
      } catch {
        logs.push({ level: -1, msg: line })
      }
    }
  })
  const child: Child = {
    proc,
    url: '',
    httpUrl: '',
    logs,
    fds: async () => (await readdir(`/proc/${proc.pid}/fd`)).length,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
  children.push(child)
  const listening = await until(() => logs.find((l) => l.msg === 'broker listening') ?? (proc.exitCode !== null ? { exited: proc.exitCode } : null), {
    timeoutMs: 20_000,
    what: 'the configured broker to listen',
  })
  if ('exited' in listening) throw new Error(`the broker exited before listening: ${JSON.stringify(logs)}`)
  const httpUrl = String(listening.url)
  if (fdLimit) {
    const r = spawnSync('prlimit', ['--pid', String(proc.pid), `--nofile=${fdLimit}:${fdLimit}`], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`prlimit failed (${r.error?.message ?? r.stderr})`)
  }
  return Object.assign(child, { httpUrl, url: httpUrl.replace(/^http/, 'ws') })
}

async function connect(url: string): Promise<RawConnection> {
  const c = await RawConnection.open(url)
  conns.push(c)
  return c
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  if (!line) throw new Error(`no metric ${name}`)
  return Number(line.split(' ')[1])
}

describe('topics and files', () => {
  it('open files stay bounded by maxOpenSegmentFiles across 480 written partitions, and every partition reads back', async () => {
    const maxOpenSegmentFiles = 40
    const b = await startChild(await tempDir(), { maxOpenSegmentFiles })
    const c = await connect(b.url)
    const baseline = await b.fds()
    let peak = 0
    const topics = Array.from({ length: 8 }, (_, i) => `t${i}`)
    for (const topic of topics) {
      const r = await c.request(exchanges.createTopic, { name: topic, partitions: 60 })
      expect(r.ok, JSON.stringify(r)).toBe(true)
      peak = Math.max(peak, await b.fds())
      const produced = await Promise.all(Array.from({ length: 60 }, (_, p) => c.request(exchanges.produce, { topic, partition: p, acks: -1, timeoutMs: 10_000, batch: batch(`${topic}/${p}`) })))
      for (const r of produced) expect(r.ok, JSON.stringify(r)).toBe(true)
      peak = Math.max(peak, await b.fds())
    }
    for (const topic of topics) {
      for (let p = 0; p < 60; p += 7) {
        const r = await c.request(exchanges.fetch, { topic, partition: p, offset: 0, minBytes: 1, maxBytes: 1 << 16, maxWaitMs: 0 })
        expect(r.ok && r.value.records.length > 0, JSON.stringify(r)).toBe(true)
      }
    }
    peak = Math.max(peak, await b.fds())
    // The cache's handles plus a few short-lived ones (directory fsyncs, checkpoint writes) in flight at once.
    expect(peak - baseline).toBeLessThanOrEqual(maxOpenSegmentFiles + 8)
    const metrics = await (await fetch(`${b.httpUrl}/metrics`)).text()
    expect(metric(metrics, 'samsa_segment_files_open')).toBeLessThanOrEqual(maxOpenSegmentFiles)
    expect(metric(metrics, 'samsa_segment_file_evictions_total')).toBeGreaterThan(400)
    expect(metric(metrics, 'samsa_topics')).toBe(8)
    expect(metric(metrics, 'samsa_partitions')).toBe(480)
  })

  it('creating past maxTopics or maxPartitions fails with POLICY_VIOLATION and leaves nothing behind', async () => {
    const fx = await startBrokerFixture({ maxTopics: 3, maxPartitions: 10 })
    try {
      const c = await connect(fx.running.url)
      const create = (name: string, partitions: number) => c.request(exchanges.createTopic, { name, partitions })
      expect((await create('a', 4)).ok).toBe(true)
      expect((await create('b', 4)).ok).toBe(true)
      const tooMany = await create('c', 4)
      expect(tooMany.ok).toBe(false)
      if (!tooMany.ok) {
        expect(tooMany.error).toMatchObject({ errorName: 'POLICY_VIOLATION', retriable: false, details: { maxPartitions: 10, partitions: 8, requested: 4 } })
        expect(tooMany.error.message).toMatch(/maxPartitions/)
        expect(tooMany.error.message).not.toContain(fx.dataDir)
      }
      expect((await create('c', 2)).ok).toBe(true)
      const fourth = await create('d', 1)
      expect(fourth.ok || fourth.error).toMatchObject({ errorName: 'POLICY_VIOLATION', details: { maxTopics: 3, topics: 3 } })
      const rest = await fetch(`${fx.running.httpUrl}/v1/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'e', partitions: 1 }) })
      expect(rest.status).toBe(422)
      expect(await rest.json()).toMatchObject({ error: { name: 'POLICY_VIOLATION', retriable: false, details: { maxTopics: 3 } } })
      expect((await readdir(join(fx.dataDir, 'topics'))).sort()).toEqual(['a', 'b', 'c'])
    } finally {
      await fx.dispose()
    }
  })

  it('out of file descriptors (fd limit 96): a retriable error without paths, the broker keeps serving, no handle leaks', async () => {
    const dataDir = await tempDir()
    const b = await startChild(dataDir, { maxOpenSegmentFiles: 1_000 }, 96)
    const c = await connect(b.url)
    const baseline = await b.fds()
    // Fill the process's descriptor table with idle connections (each holds a socket) until the OS refuses one.
    const fill = async (): Promise<RawConnection[]> => {
      const hogs: RawConnection[] = []
      for (let i = 0; i < 200; i++) {
        const h = await RawConnection.open(b.url).catch(() => null)
        if (!h) return hogs
        conns.push(h)
        hogs.push(h)
      }
      throw new Error('200 connections fit under an fd limit of 96')
    }
    const hogs = await fill()
    expect(hogs.length).toBeGreaterThan(10)
    const refused = await c.request(exchanges.createTopic, { name: 'starved', partitions: 20 })
    expect(refused.ok).toBe(false)
    if (!refused.ok) {
      expect(refused.error).toMatchObject({ errorName: 'KAFKA_STORAGE_ERROR', retriable: true })
      expect(refused.error.message).not.toMatch(/\//)
    }
    // The full detail (with the path) is in the broker's own log, at warn.
    expect(b.logs.some((l) => l.level === 40 && /EMFILE/.test(JSON.stringify(l)))).toBe(true)
    for (const h of hogs) h.ws.close()
    await until(async () => (await b.fds()) <= baseline + 2, { timeoutMs: 10_000, what: 'the hog connections to be closed' })
    // The broker accepts connections again and the same request now succeeds; nothing of the failed create is left.
    const c2 = await connect(b.url)
    const ok = await c2.request(exchanges.createTopic, { name: 'fed', partitions: 20 })
    expect(ok.ok, JSON.stringify(ok)).toBe(true)
    expect(existsSync(join(dataDir, 'topics', 'starved'))).toBe(false)
    const produced = await c2.request(exchanges.produce, { topic: 'fed', partition: 3, acks: -1, timeoutMs: 10_000, batch: batch('after') })
    expect(produced.ok, JSON.stringify(produced)).toBe(true)
    expect((await c.request(exchanges.ping, {})).ok).toBe(true)
    // No leak: the new topic's 20 cached handles and one more connection above where it started.
    expect(await b.fds()).toBeLessThanOrEqual(baseline + 20 + 1 + 2)
    // A second exhaustion, now with the idle cached handles of a topic: they are closed to make room for a new topic.
    const again = await fill()
    const squeezed = await c.request(exchanges.createTopic, { name: 'squeezed', partitions: 5 })
    expect(squeezed.ok, JSON.stringify(squeezed)).toBe(true)
    expect((await c.request(exchanges.produce, { topic: 'squeezed', partition: 2, acks: -1, timeoutMs: 10_000, batch: batch('squeezed') })).ok).toBe(true)
    for (const h of again) h.ws.close()
    await until(async () => (await b.fds()) <= baseline + 20 + 1 + 2, { timeoutMs: 10_000, what: 'the second hogs to be closed' })
    const c3 = await connect(b.url)
    expect((await c3.request(exchanges.produce, { topic: 'fed', partition: 4, acks: -1, timeoutMs: 10_000, batch: batch('after again') })).ok).toBe(true)
    const metrics = await (await fetch(`${b.httpUrl}/metrics`)).text()
    expect(metric(metrics, 'samsa_file_handles_exhausted_total')).toBeGreaterThanOrEqual(1)
    expect(metric(metrics, 'samsa_segment_file_evictions_total')).toBeGreaterThan(0)
    expect(b.proc.exitCode).toBeNull()
  })
})
