/**
 * A replica directory belongs to one topic, not to a topic name (Kafka's topic ids, KIP-516), on in-process
 * combined-mode nodes over real WebSockets and real files.
 *
 * A node stopped while its topic is deleted and created again under the same name (its session still running, so the
 * new topic's replicas are placed on it too) comes back holding the old topic's records in the directories the new
 * topic's replicas use, with leader epochs that restart at 0 in both: truncation by leader epoch alone would keep old
 * records at offsets the new leader also wrote. Its replicas must end byte for byte the leader's. A replica of a topic
 * deleted while the node was down is removed once the node has caught up with the metadata log.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { exchanges } from '@samsa/shared'
import { InProcessCluster } from '../support/in-process-cluster.js'
import { produceValues, value } from '../support/raw-log.js'
import { until } from '../support/until.js'

const T = 'reborn'
const GONE = 'gone'
const PARTITIONS = 3

describe('a replica of a topic deleted and created again under its name', () => {
  let cluster: InProcessCluster
  afterAll(() => cluster?.close())

  it('ends identical to the new leader’s, and a replica of a topic deleted meanwhile is removed after catch-up', async () => {
    // A session long enough that node 3, stopped, is still unfenced (so given replicas) when the topic is created again.
    const c = (cluster = await InProcessCluster.start({ dirPrefix: 'samsa-replica-identity', sessionTimeoutMs: 5_000, replication: { replicaLagTimeMaxMs: 2_000, isrCheckIntervalMs: 250 } }))
    await until(async () => (await c.metadataOf(1, null)).brokers.length === 3, { timeoutMs: 30_000, what: 'three live brokers' })
    const admin = await c.open(1)
    const create = (name: string) => admin.request(exchanges.createTopic, { name, partitions: PARTITIONS, replicationFactor: 3, minInsyncReplicas: 2 })
    const produceEverywhere = async (prefix: string, count: number) => {
      for (let p = 0; p < PARTITIONS; p++) {
        const meta = await until(async () => {
          const m = await c.partitionOn(1, T, p)
          return m && m.leader > 0 && c.nodes.has(m.leader) ? m : undefined
        }, { timeoutMs: 30_000, what: `a running leader of ${T}/${p}` })
        const conn = await c.open(meta.leader)
        const values = Array.from({ length: count }, (_, i) => value(`${prefix}-p${p}`, i))
        // The first produce waits for the leader to have applied its leadership.
        await until(() => produceValues(conn, T, p, values).then(() => true, () => false), { timeoutMs: 30_000, what: `${prefix} records on ${T}/${p}` })
      }
    }

    expect(await create(T)).toMatchObject({ ok: true })
    expect(await create(GONE)).toMatchObject({ ok: true })
    await produceEverywhere('old', 8)
    // acks=all with all three in the ISR: node 3 holds every old record.
    const local = (id: number, topic: string, p: number) => [...c.nodes.get(id)!.broker.partitionOffsets()].find((o) => o.topic === topic && o.partition === p)
    await until(() => Array.from({ length: PARTITIONS }, (_, p) => local(3, T, p)?.logEndOffset === 8).every(Boolean), { what: 'node 3 holding the old records' })

    await c.stopNode(3)
    expect(await admin.request(exchanges.deleteTopic, { name: GONE })).toMatchObject({ ok: true })
    expect(await admin.request(exchanges.deleteTopic, { name: T })).toMatchObject({ ok: true })
    const again = await create(T)
    expect(again).toMatchObject({ ok: true })
    const meta = (await c.metadataOf(1, [T])).topics[0]!
    expect(meta.partitions.every((p) => p.replicas?.includes(3))).toBe(true)
    // Fewer new records than old: a replica keeping old ones up to the new end looks caught up by its offsets.
    await produceEverywhere('new', 3)

    const node3 = await c.startNode(3)
    await until(() => node3.cluster!.caughtUp, { timeoutMs: 30_000, what: 'node 3 caught up with the metadata log' })
    await node3.replicas!.settled()

    for (let p = 0; p < PARTITIONS; p++) {
      const leader = await until(async () => {
        const m = await c.partitionOn(1, T, p)
        return m && m.leader > 0 && m.leader !== 3 ? m.leader : undefined
      }, { what: `the leader of ${T}/${p}` })
      await until(() => (local(3, T, p)?.logEndOffset ?? -1) >= 3 && local(leader, T, p)?.logEndOffset === 3, { timeoutMs: 30_000, what: `node 3's replica of ${T}/${p} caught up` })
      const bytes = (id: number) => c.nodes.get(id)!.broker.localReplica(T, p).readForReplica(0, 1 << 20)
      expect(Buffer.from(await bytes(3)).equals(Buffer.from(await bytes(leader))), `node 3's ${T}/${p} is the leader's, byte for byte`).toBe(true)
    }
    // The replica of the topic deleted while node 3 was down is gone (its roles were applied once it caught up).
    expect(await readdir(join(c.dataDir(3), 'topics'))).toEqual([T])
  }, 120_000)
})
