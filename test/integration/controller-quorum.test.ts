import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { decodeResponseFrame, encodeRaftMessageFrame, encodeRequestFrame, exchanges } from '@samsa/shared'
import { startBroker, type RunningBroker } from '../../packages/server/src/adapters/node/index.js'
import { recordingLogger, type LogLine } from '../support/broker-fixture.js'
import { freePorts } from '../support/free-ports.js'
import { until } from '../support/until.js'

interface Node {
  id: number
  running: RunningBroker
  applied: string[]
  logs: LogLine[]
}

describe('a three-node controller quorum over real WebSockets', () => {
  const dirs: string[] = []
  const nodes = new Map<number, Node>()
  afterAll(async () => {
    for (const n of nodes.values()) await n.running.close().catch(() => {})
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  const cluster = async (id: number) => (await (await fetch(`${nodes.get(id)!.running.httpUrl}/v1/cluster`)).json()) as { nodeId: number; role: string; term: number; leaderId: number | null; commitIndex: number }
  const live = () => [...nodes.values()]
  const leaderOf = async (members: Node[]) => {
    const views = await Promise.all(members.map((n) => cluster(n.id)))
    const leaders = views.filter((v) => v.role === 'leader')
    if (leaders.length !== 1) return null
    // Every live node follows the same leader in the same term.
    return views.every((v) => v.leaderId === leaders[0]!.nodeId && v.term === leaders[0]!.term) ? leaders[0]! : null
  }

  it('elects one leader, commits on all three, and after the leader is closed elects another that commits', async () => {
    const ports = await freePorts(3)
    const controllers = ports.map((port, i) => ({ id: i + 1, url: `ws://127.0.0.1:${port}` }))
    for (const [i, port] of ports.entries()) {
      const id = i + 1
      const dir = await mkdtemp(join(tmpdir(), `samsa-quorum-${id}-`))
      dirs.push(dir)
      const applied: string[] = []
      const logs: LogLine[] = []
      const running = await startBroker({
        port,
        dataDir: dir,
        logger: recordingLogger(logs),
        nodeId: id,
        controllers,
        controllerTiming: { tickMs: 50, electionTicks: 10 },
        controllerApply: (e) => void applied.push(new TextDecoder().decode(e.data)),
      })
      nodes.set(id, { id, running, applied, logs })
    }

    const first = await until(() => leaderOf(live()), { timeoutMs: 20_000, what: 'one leader followed by all three' })
    const leader = nodes.get(first.nodeId)!
    const { index } = await leader.running.controller!.driver.propose(new TextEncoder().encode('entry-1'))
    await until(async () => (await Promise.all(live().map((n) => cluster(n.id)))).every((v) => v.commitIndex >= index) && live().every((n) => n.applied.includes('entry-1')), {
      timeoutMs: 20_000,
      what: 'entry-1 committed and applied on all three',
    })

    // A follower refuses proposals, naming the leader.
    const follower = live().find((n) => n !== leader)!
    await expect(follower.running.controller!.driver.propose(new TextEncoder().encode('x'))).rejects.toMatchObject({ errorName: 'NOT_CONTROLLER', details: { leaderId: leader.id } })

    await leader.running.close()
    nodes.delete(leader.id)
    const second = await until(() => leaderOf(live()), { timeoutMs: 20_000, what: 'a new leader among the two left' })
    expect(second.nodeId).not.toBe(first.nodeId)
    expect(second.term).toBeGreaterThan(first.term)
    const next = nodes.get(second.nodeId)!
    await next.running.controller!.driver.propose(new TextEncoder().encode('entry-2'))
    await until(() => live().every((n) => n.applied.join() === 'entry-1,entry-2'), { timeoutMs: 20_000, what: 'entry-2 applied on both survivors, after entry-1' })
  }, 90_000)

  it('refuses raftMessage frames from an ordinary client connection', async () => {
    const node = live()[0]!
    const ws = new WebSocket(`${node.running.url}/ws`)
    const frames: Uint8Array[] = []
    ws.on('message', (d: Buffer) => frames.push(new Uint8Array(d)))
    await new Promise((r, j) => ws.once('open', r).once('error', j))
    ws.send(encodeRequestFrame(exchanges.hello, 1, 1, { clientId: 'intruder', minVersion: 1, maxVersion: 1 }))
    ws.send(encodeRaftMessageFrame(1, [{ type: 'vote', from: 9, to: node.id, term: 1_000, index: 1_000, logTerm: 1_000 }]))
    await until(() => frames.length >= 2, { what: 'two answers' })
    expect(decodeResponseFrame(frames[1]!).error?.errorName).toBe('CLUSTER_AUTHORIZATION_FAILED')
    // Another cluster id is no peer; this cluster's node 9 may be one (a broker-only node registers over such a
    // link), but it is no voter: its Raft messages never reach the driver.
    ws.send(encodeRequestFrame(exchanges.hello, 1, 2, { clientId: 'intruder', minVersion: 1, maxVersion: 1, peer: { nodeId: 9, clusterId: 'another-cluster' } }))
    await until(() => frames.length >= 3, { what: 'the foreign peer hello answer' })
    expect(decodeResponseFrame(frames[2]!).error?.errorName).toBe('INCONSISTENT_CLUSTER_ID')
    ws.send(encodeRequestFrame(exchanges.hello, 1, 3, { clientId: 'intruder', minVersion: 1, maxVersion: 1, peer: { nodeId: 9, clusterId: 'samsa-local' } }))
    await until(() => frames.length >= 4, { what: 'the peer hello answer' })
    expect(decodeResponseFrame(frames[3]!).error).toBeNull()
    ws.send(encodeRaftMessageFrame(1, [{ type: 'vote', from: 9, to: node.id, term: 1_000, index: 1_000, logTerm: 1_000 }]))
    ws.send(encodeRequestFrame(exchanges.ping, 1, 4, {}))
    await until(() => frames.length >= 5, { what: 'the ping answer after the raftMessage' })
    ws.close()
    expect((await cluster(node.id)).term).toBeLessThan(1_000)
  })
})
