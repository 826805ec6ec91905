/**
 * A data directory is a single node's or a cluster node's, and startBroker refuses to start it as the other one
 * before touching anything in it: a cluster node's replicas have no topic.json, which a single node takes for
 * unfinished creates and deletes; a single node's topics are replicas no metadata assigns, which a cluster node
 * removes once it has caught up. Each refusal is one error line naming the directory and what to pass.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { exchanges } from '@samsa/shared'
import { startBroker, type RunningBroker } from '../../packages/server/src/adapters/node/index.js'
import { freePorts } from '../support/free-ports.js'
import { silentLogger } from '../support/in-process-cluster.js'
import { RawConnection } from '../support/raw-connection.js'
import { produceValues, value } from '../support/raw-log.js'
import { until } from '../support/until.js'

const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(d)
  return d
}

/** Every file under `dir` (relative path → SHA-256 of its bytes) and every directory (→ 'dir'). */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(e.parentPath, e.name)
    const rel = path.slice(dir.length + 1)
    out[rel] = e.isDirectory() ? 'dir' : createHash('sha256').update(await readFile(path)).digest('hex')
  }
  return out
}

/** The error message a start failed with, or 'started' (after stopping the broker it started). */
function refusal(started: Promise<RunningBroker>): Promise<string> {
  return started.then(
    (b) => b.close().then(() => 'started'),
    (e: unknown) => (e instanceof Error ? e.message : String(e)),
  )
}

async function withConnection<T>(url: string, f: (c: RawConnection) => Promise<T>): Promise<T> {
  const c = await RawConnection.open(url)
  try {
    return await f(c)
  } finally {
    c.close()
  }
}

describe('a data directory started in the other mode', () => {
  it('a single node’s directory given --controllers: refused with one line, nothing changed', async () => {
    const dir = await tempDir('samsa-mode-single-')
    const single = await startBroker({ port: 0, dataDir: dir, logger: silentLogger })
    await withConnection(single.url, async (c) => {
      expect(await c.request(exchanges.createTopic, { name: 'orders', partitions: 2 })).toMatchObject({ ok: true })
      await produceValues(c, 'orders', 1, [value('kept', 0), value('kept', 1)])
    })
    await single.close()
    const before = await tree(dir)
    expect(before['topics/orders/topic.json']).toBeDefined()

    const [port] = await freePorts(1)
    const started = startBroker({ port: port!, dataDir: dir, logger: silentLogger, nodeId: 1, controllers: [{ id: 1, url: `ws://127.0.0.1:${port}` }] })
    expect(await refusal(started)).toBe(`data directory ${dir} holds a single node's topics ("orders"); start it without --node-id and --controllers, or give the cluster node another --data directory`)
    expect(await tree(dir)).toEqual(before)
  }, 60_000)

  it('a cluster node’s directory without --controllers: refused with one line, nothing changed', async () => {
    const dir = await tempDir('samsa-mode-cluster-')
    const [port] = await freePorts(1)
    const node = await startBroker({ port: port!, dataDir: dir, logger: silentLogger, nodeId: 1, controllers: [{ id: 1, url: `ws://127.0.0.1:${port}` }] })
    await withConnection(node.url, async (c) => {
      await until(async () => {
        const r = await c.request(exchanges.createTopic, { name: 'events', partitions: 1, replicationFactor: 1 })
        return r.ok || r.error.errorName === 'TOPIC_ALREADY_EXISTS'
      }, { timeoutMs: 20_000, what: 'the one-node cluster creating a topic' })
      await until(() => produceValues(c, 'events', 0, [value('kept', 0)]).then(() => true, () => false), { timeoutMs: 20_000, what: 'a produce to the new topic' })
    })
    await node.close()
    const before = await tree(dir)
    expect(Object.keys(before)).toContain('controller')
    expect(Object.keys(before)).toContain('topics/events/0')
    expect(before['topics/events/topic.json']).toBeUndefined()

    const started = startBroker({ port: 0, dataDir: dir, logger: silentLogger })
    expect(await refusal(started)).toBe(`data directory ${dir} holds a cluster node's data (a controller log, replicas of 1 topic); start it with the --node-id and --controllers it belongs to, or give the single node another --data directory`)
    expect(await tree(dir)).toEqual(before)
  }, 60_000)
})
