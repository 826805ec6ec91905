/**
 * Replication live on three in-process combined-mode nodes over real WebSockets and real files: a topic with
 * replication factor 3 and min.insync.replicas 2; 100 records produced with acks=all are on every replica (each
 * node's local log end and high watermark); the leader is stopped without a controlled shutdown and a new leader from
 * the ISR serves every acknowledged record and takes new writes; the old node starts again on its data directory,
 * catches up from the new leader and is back in the ISR.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { exchanges } from '@samsa/shared'
import { InProcessCluster } from '../support/in-process-cluster.js'
import { drainPartition, produceValues, value } from '../support/raw-log.js'
import { until } from '../support/until.js'

const T = 'replicated'

describe('partition replication on a three-node cluster', () => {
  let cluster: InProcessCluster
  afterAll(() => cluster?.close())

  /** This node's own replica of the partition: its log end and high watermark. */
  const localOffsets = (id: number) => [...cluster.nodes.get(id)!.broker.partitionOffsets()].find((p) => p.topic === T && p.partition === 0)

  it('acks=all reaches every replica; a new leader from the ISR keeps every acknowledged record; the old leader rejoins the ISR', async () => {
    cluster = await InProcessCluster.start({ dirPrefix: 'samsa-replication', replication: { replicaLagTimeMaxMs: 3_000, isrCheckIntervalMs: 250 } })
    await until(async () => (await cluster.metadataOf(1, [T])).brokers.length === 3, { timeoutMs: 30_000, what: 'three live brokers' })
    const c = await cluster.open(1)
    expect(await c.request(exchanges.createTopic, { name: T, partitions: 1, replicationFactor: 3, minInsyncReplicas: 2 })).toEqual({ ok: true, value: { name: T, partitions: 1 } })
    const first = await until(async () => {
      const p = await cluster.partitionOn(1, T)
      return p && p.leader > 0 && p.isr?.length === 3 ? p : undefined
    }, { timeoutMs: 20_000, what: `${T}/0 with a leader and three replicas in the ISR` })

  // 100 records in 10 batches, each acknowledged with acks=all by the leader.
    const leader = first.leader
    const lc = await cluster.open(leader)
    const written = Array.from({ length: 100 }, (_, i) => value('r', i))
    for (let b = 0; b < 10; b++) expect(await produceValues(lc, T, 0, written.slice(b * 10, b * 10 + 10))).toBe(b * 10)
    // acks=all: the leader's high watermark covers them, so every ISR member has them; followers learn the HW on their next fetch.
    expect(localOffsets(leader)).toMatchObject({ highWatermark: 100, logEndOffset: 100 })
    await until(() => [1, 2, 3].every((id) => localOffsets(id)?.logEndOffset === 100 && localOffsets(id)?.highWatermark === 100), {
      timeoutMs: 10_000, what: 'every replica holding the 100 records below its high watermark',
    })

    // The leader stops without a controlled shutdown: once its session expires a new leader comes from the ISR.
    await cluster.stopNode(leader)
    const survivor = [...cluster.nodes.keys()][0]!
    const next = await until(async () => {
      const p = await cluster.partitionOn(survivor, T)
      return p && p.leader > 0 && p.leader !== leader && p.leaderEpoch > first.leaderEpoch ? p : undefined
    }, { timeoutMs: 30_000, what: `a new leader of ${T}/0 after broker ${leader} stopped` })
    expect(first.isr).toContain(next.leader)
    const nc = await cluster.open(next.leader)
    const read = await until(async () => {
      const r = await drainPartition(nc, T, 0).catch(() => null)
      return r && r.length >= 100 ? r : undefined
    }, { timeoutMs: 10_000, what: 'the new leader serving the acknowledged records' })
    expect(read.map((r) => [r.offset, r.value])).toEqual(written.map((v, i) => [i, v]))
    // It takes new writes with acks=all (two of three replicas in the ISR, min.insync.replicas 2).
    const more = Array.from({ length: 10 }, (_, i) => value('after', i))
    const moreOffset = await until(async () => produceValues(nc, T, 0, more).catch(() => undefined), { timeoutMs: 10_000, what: 'an acks=all produce to the new leader' })
    expect(moreOffset).toBe(100)

    // The old leader starts again on its data directory: it follows the new leader, catches up and rejoins the ISR.
    await cluster.startNode(leader)
    await until(async () => {
      const p = await cluster.partitionOn(survivor, T)
      return p?.isr?.includes(leader) === true && localOffsets(leader)?.logEndOffset === 110
    }, { timeoutMs: 30_000, what: `broker ${leader} caught up and back in the ISR` })
    const all = await drainPartition(nc, T, 0)
    expect(all.map((r) => r.value)).toEqual([...written, ...more])
  }, 120_000)
})
