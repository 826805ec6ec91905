/**
 * A clustered broker holds only the partition replicas the metadata assigns to it (Kafka: a replica is a partition
 * directory). Three in-process combined-mode nodes over real files: a 3-partition topic with replication factor 1
 * puts one partition on each broker, and each broker's data directory and open logs hold exactly that one; a restart
 * reopens just the partition directories present, with their records; a partition a broker does not host answers
 * NOT_LEADER_OR_FOLLOWER there and creates no file; deleting the topic removes what each broker hosted.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { exchanges } from '@samsa/shared'
import { InProcessCluster } from '../support/in-process-cluster.js'
import { drainPartition, produceValues, value } from '../support/raw-log.js'
import { until } from '../support/until.js'

const T = 'spread'
const NODES = [1, 2, 3]

/** Entries of a directory; [] when it does not exist. */
async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [])).sort()
}

describe('a clustered broker holds only the partitions it hosts', () => {
  let cluster: InProcessCluster
  afterAll(() => cluster?.close())

  /** Partition directories of topic T in node `id`'s data directory. */
  const partitionDirs = async (id: number) => (await entries(join(cluster.dataDir(id), 'topics', T))).filter((e) => /^\d+$/.test(e)).map(Number)
  /** Partitions of topic T whose log node `id` holds open. */
  const openLogs = (id: number) => [...cluster.nodes.get(id)!.broker.partitionOffsets()].filter((p) => p.topic === T).map((p) => p.partition).sort()

  it('places one partition per broker, keeps it across a restart, refuses the others without creating files, and deletes only what it hosts', async () => {
    cluster = await InProcessCluster.start({ dirPrefix: 'samsa-local-replicas' })
    await until(async () => (await cluster.metadataOf(1, [T])).brokers.length === 3, { timeoutMs: 30_000, what: 'three live brokers' })
    const c = await cluster.open(1)
    expect(await c.request(exchanges.createTopic, { name: T, partitions: 3, replicationFactor: 1 })).toEqual({ ok: true, value: { name: T, partitions: 3 } })
    const meta = await until(async () => {
      const t = (await cluster.metadataOf(1, [T])).topics[0]
      return t?.errorCode === 0 && t.partitions.every((p) => p.leader > 0) ? t : undefined
    }, { timeoutMs: 20_000, what: `every partition of ${T} with a leader` })
    /** The one partition each broker hosts (replication factor 1: its only replica is its leader). */
    const hosted = new Map(meta.partitions.map((p) => [p.leader, p.partition]))
    expect([...hosted.keys()].sort()).toEqual(NODES)
    expect(meta.partitions.every((p) => p.replicas?.length === 1 && p.replicas[0] === p.leader)).toBe(true)

    // Each broker led its partition once its roles applied; it has exactly that directory and that open log.
    await until(() => NODES.every((id) => openLogs(id).length > 0), { timeoutMs: 10_000, what: 'every broker holding its replica' })
    for (const id of NODES) {
      expect(await partitionDirs(id)).toEqual([hosted.get(id)])
      expect(openLogs(id)).toEqual([hosted.get(id)])
    }

    // Records on each partition, through its leader.
    for (const id of NODES) {
      const lc = await cluster.open(id)
      expect(await produceValues(lc, T, hosted.get(id)!, [value(`p${hosted.get(id)}`, 0), value(`p${hosted.get(id)}`, 1)])).toBe(0)
    }

    // A partition a broker does not host: NOT_LEADER_OR_FOLLOWER, and no file appears for it.
    const other = (hosted.get(1)! + 1) % 3
    const c1 = await cluster.open(1)
    const refused = await c1.request(exchanges.produce, { topic: T, partition: other, acks: -1, timeoutMs: 5_000, batch: new Uint8Array(0) })
    expect(refused.ok ? 'ok' : refused.error.errorName).toBe('NOT_LEADER_OR_FOLLOWER')
    const fetched = await c1.request(exchanges.fetch, { topic: T, partition: other, offset: 0, maxBytes: 1024, minBytes: 0, maxWaitMs: 0 })
    expect(fetched.ok ? 'ok' : fetched.error.errorName).toBe('NOT_LEADER_OR_FOLLOWER')
    expect(await partitionDirs(1)).toEqual([hosted.get(1)])

    // A restart reopens just the partition directory present, with its records.
    await cluster.stopNode(2)
    await cluster.startNode(2)
    expect(openLogs(2)).toEqual([hosted.get(2)])
    expect(await partitionDirs(2)).toEqual([hosted.get(2)])
    const c2 = await cluster.open(2)
    const read = await until(async () => {
      const r = await drainPartition(c2, T, hosted.get(2)!).catch(() => null)
      return r && r.length >= 2 ? r : undefined
    }, { timeoutMs: 20_000, what: `broker 2 leading ${T}/${hosted.get(2)} again after its restart` })
    expect(read.map((r) => r.value)).toEqual([value(`p${hosted.get(2)}`, 0), value(`p${hosted.get(2)}`, 1)])
    expect(await partitionDirs(2)).toEqual([hosted.get(2)])

    // Deleting the topic removes each broker's replica and the topic's directory.
    const d = await c2.request(exchanges.deleteTopic, { name: T })
    expect(d.ok).toBe(true)
    await until(async () => {
      for (const id of NODES) if (openLogs(id).length > 0 || (await entries(join(cluster.dataDir(id), 'topics'))).includes(T)) return false
      return true
    }, { timeoutMs: 20_000, what: `every broker's replica of ${T} deleted` })
  }, 120_000)
})
