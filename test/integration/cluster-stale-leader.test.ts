/**
 * A restarted former leader never acts on its stale metadata: three in-process combined-mode nodes over real
 * WebSockets and files; the leader of an RF-3 partition stops without a controlled shutdown, another replica takes
 * over at a higher leader epoch, and the old leader starts again on its data directory (whose replayed metadata log
 * still names it leader at the old epoch). Until it has caught up with the metadata log (unfenced) it must answer
 * produce with NOT_LEADER_OR_FOLLOWER and must never become leader at an epoch below the current one.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { encodeRecordBatch, exchanges, type MetadataResponse, type PartitionMetadata } from '@samsa/shared'
import { startBroker, type RunningBroker } from '../../packages/server/src/adapters/node/index.js'
import { RawConnection } from '../support/raw-connection.js'
import { produceValues, value } from '../support/raw-log.js'
import { freePorts } from '../support/free-ports.js'
import { until } from '../support/until.js'

const T = 'stale-leader'
const silent = { debug() {}, info() {}, warn() {}, error() {}, child() { return silent } }

interface Logged { readonly obj: Record<string, unknown>; readonly msg: string }
/** A logger keeping every info line (children included), to see which roles the node took. */
const recordingLogger = (lines: Logged[]) => {
  const logger = {
    debug() {},
    info(obj: unknown, msg?: string) { lines.push({ obj: (typeof obj === 'object' && obj !== null ? obj : {}) as Record<string, unknown>, msg: msg ?? String(obj) }) },
    warn() {},
    error() {},
    child(bindings: Record<string, unknown>) {
      const parent = logger
      return { ...parent, info(obj: unknown, msg?: string) { parent.info({ ...bindings, ...(typeof obj === 'object' && obj !== null ? obj : {}) }, msg) }, child: parent.child }
    },
  }
  return logger
}

describe('a restarted former leader', () => {
  const dirs: string[] = []
  const nodes = new Map<number, RunningBroker>()
  const conns: RawConnection[] = []
  afterAll(async () => {
    for (const c of conns) c.close()
    for (const n of nodes.values()) await n.close({ controlled: false }).catch(() => {})
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  const open = async (id: number) => {
    const c = await RawConnection.open(nodes.get(id)!.url)
    conns.push(c)
    return c
  }
  const metadataOf = async (id: number): Promise<MetadataResponse> => {
    const c = await open(id)
    try {
      const r = await c.request(exchanges.metadata, { topics: [T] })
      if (!r.ok) throw r.error
      return r.value
    } finally {
      c.close()
    }
  }
  const partitionOn = async (id: number): Promise<PartitionMetadata | undefined> => {
    const t = (await metadataOf(id)).topics[0]
    return t?.errorCode === 0 ? t.partitions[0] : undefined
  }

  it('answers NOT_LEADER_OR_FOLLOWER until caught up and never becomes leader at a stale leader epoch', async () => {
    const ports = await freePorts(3)
    const controllers = ports.map((port, i) => ({ id: i + 1, url: `ws://127.0.0.1:${port}` }))
    const dataDirs = new Map<number, string>()
    const start = async (id: number, logger: object = silent) => {
      nodes.set(id, await startBroker({
        port: ports[id - 1]!,
        dataDir: dataDirs.get(id)!,
        logger: logger as typeof silent,
        nodeId: id,
        controllers,
        controllerTiming: { tickMs: 50, electionTicks: 10 },
        clusterTiming: { sessionTimeoutMs: 1_500, preferredLeaderIntervalMs: 0 },
        replication: { replicaLagTimeMaxMs: 3_000, isrCheckIntervalMs: 250 },
      }))
    }
    for (const id of [1, 2, 3]) {
      const dir = await mkdtemp(join(tmpdir(), `samsa-stale-leader-${id}-`))
      dirs.push(dir)
      dataDirs.set(id, dir)
      await start(id)
    }
    await until(async () => (await metadataOf(1)).brokers.length === 3, { timeoutMs: 30_000, what: 'three live brokers' })
    const c = await open(1)
    expect(await c.request(exchanges.createTopic, { name: T, partitions: 1, replicationFactor: 3, minInsyncReplicas: 2 })).toEqual({ ok: true, value: { name: T, partitions: 1 } })
    const first = await until(async () => {
      const p = await partitionOn(1)
      return p && p.leader > 0 && p.isr?.length === 3 ? p : undefined
    }, { timeoutMs: 20_000, what: `${T}/0 with a leader and three replicas in the ISR` })
    const leader = first.leader
    expect(await produceValues(await open(leader), T, 0, [value('r', 0)])).toBe(0)

    await nodes.get(leader)!.close({ controlled: false })
    nodes.delete(leader)
    const survivor = [...nodes.keys()][0]!
    const next = await until(async () => {
      const p = await partitionOn(survivor)
      return p && p.leader > 0 && p.leader !== leader && p.leaderEpoch > first.leaderEpoch && p.isr?.length === 2 ? p : undefined
    }, { timeoutMs: 30_000, what: `a new leader of ${T}/0 after broker ${leader} stopped` })

    // The old leader starts again; its replayed metadata log still names it leader at first.leaderEpoch.
    const lines: Logged[] = []
    await start(leader, recordingLogger(lines))
    const oc = await open(leader)
    const batch = encodeRecordBatch({ records: [{ key: null, value: new TextEncoder().encode('stale'), headers: [], timestamp: 1_700_000_000_000 }] })
    const r = await oc.request(exchanges.produce, { topic: T, partition: 0, acks: 1, timeoutMs: 5_000, batch })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.errorName).toBe('NOT_LEADER_OR_FOLLOWER')

    // Once caught up it follows the current leader.
    await until(() => nodes.get(leader)!.replicas?.role(T, 0)?.kind === 'follower' ? true : undefined, { timeoutMs: 30_000, what: `broker ${leader} following ${T}/0` })
    const becameLeader = lines.filter((l) => l.msg === 'became leader' && l.obj.topic === T)
    expect(becameLeader.map((l) => l.obj.leaderEpoch)).toEqual([])
    const followed = lines.filter((l) => l.msg === 'became follower' && l.obj.topic === T)
    expect(followed.every((l) => (l.obj.leaderEpoch as number) >= next.leaderEpoch)).toBe(true)
  }, 120_000)
})
