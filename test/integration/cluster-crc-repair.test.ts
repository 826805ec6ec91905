/**
 * A replica whose committed data fails its CRC, on in-process combined-mode nodes over real WebSockets and real files.
 *
 * A follower stopped, damaged in the middle of its log (a committed batch with intact batches after it) and started
 * again: it starts (its log is cut at the damage and the rest set aside), registers naming the replica incomplete,
 * catches up from the leader and is back in the ISR holding the leader's log byte for byte; when the leader stops,
 * the new leader serves every acknowledged record.
 *
 * The last ISR member of a partition stopped with its last committed batch damaged (recovery cuts it, below its
 * high-watermark checkpoint): it must not be elected on its return, since the other replica (out of the ISR) still
 * holds the batch it lost. The partition stays offline with an empty ISR; nothing acknowledged is truncated anywhere.
 *
 * A committed batch damaged on the running leader's disk: the first read of it (here a consumer's fetch) finds it
 * failing its CRC; the leader stops serving the partition, reopens its replica through recovery (cut at the damage)
 * and reports it incomplete; the controller elects another ISR member; the damaged replica repairs from it, byte for
 * byte, and rejoins the ISR; nothing acknowledged is lost and consumers read every record intact.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { exchanges, type PartitionMetadata } from '@samsa/shared'
import { InProcessCluster } from '../support/in-process-cluster.js'
import { damageBatch, drainPartition, produceValues, segmentFiles, value } from '../support/raw-log.js'
import { until } from '../support/until.js'

const T = 'crc'
let cluster: InProcessCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

const local = (c: InProcessCluster, id: number) => [...c.nodes.get(id)!.broker.partitionOffsets()].find((p) => p.topic === T && p.partition === 0)

/** The partition as the first running node other than `except` shows it, once `ok` holds. */
function waitPartition(c: InProcessCluster, ok: (p: PartitionMetadata) => boolean, what: string, except: number[] = []): Promise<PartitionMetadata> {
  return until(async () => {
    const id = [...c.nodes.keys()].find((n) => !except.includes(n))!
    const p = await c.partitionOn(id, T).catch(() => undefined)
    return p && ok(p) ? p : undefined
  }, { timeoutMs: 30_000, what })
}

async function writeAcked(c: InProcessCluster, leader: number, batches: number): Promise<string[]> {
  const conn = await c.open(leader)
  const written = Array.from({ length: batches * 10 }, (_, i) => value('acked', i))
  // The first produce waits for the leader to have applied its leadership (the metadata may show it first).
  expect(await until(() => produceValues(conn, T, 0, written.slice(0, 10)).then((o) => o + 1, () => 0), { what: 'the leader taking writes' })).toBe(1)
  for (let b = 1; b < batches; b++) expect(await produceValues(conn, T, 0, written.slice(b * 10, b * 10 + 10))).toBe(b * 10)
  return written
}

describe('a replica whose committed data fails its CRC', () => {
  it('a follower damaged mid-log starts, leaves the ISR, repairs from the leader byte for byte; the next leader has every acknowledged record', async () => {
    const c = (cluster = await InProcessCluster.start({ dirPrefix: 'samsa-crc-follower', replication: { replicaLagTimeMaxMs: 3_000, isrCheckIntervalMs: 250 } }))
    await until(async () => (await c.metadataOf(1, [T])).brokers.length === 3, { timeoutMs: 30_000, what: 'three live brokers' })
    expect(await (await c.open(1)).request(exchanges.createTopic, { name: T, partitions: 1, replicationFactor: 3, minInsyncReplicas: 2 })).toMatchObject({ ok: true })
    const first = await waitPartition(c, (p) => p.leader > 0 && p.isr?.length === 3, 'a leader and three replicas in the ISR')
    const leader = first.leader
    const written = await writeAcked(c, leader, 10)
    await until(() => [1, 2, 3].every((id) => local(c, id)?.highWatermark === 100), { what: 'every replica with the 100 records below its high watermark' })

    // The follower the controller would elect next is stopped and batch #3 (offsets 30..39, committed) damaged.
    const victim = first.replicas!.find((r) => r !== leader)!
    await c.stopNode(victim)
    const [segment] = await segmentFiles(c.dataDir(victim), T, 0)
    const damaged = await damageBatch(segment!, 3)
    expect(damaged.header.baseOffset).toBe(30)

    await c.startNode(victim)
    expect(local(c, victim)?.logEndOffset).toBe(30) // cut at the damage; the rest is set aside, not served
    expect((await readdir(join(c.dataDir(victim), 'topics', T, '0'))).filter((n) => n.endsWith('.damaged'))).toHaveLength(1)
    await waitPartition(c, (p) => p.isr?.includes(victim) === true && local(c, victim)?.logEndOffset === 100, `broker ${victim} caught up and back in the ISR`)
    const bytes = async (id: number) => c.nodes.get(id)!.broker.localReplica(T, 0).readForReplica(0, 1 << 20)
    expect(Buffer.from(await bytes(victim)).equals(Buffer.from(await bytes(leader)))).toBe(true)

    await c.stopNode(leader)
    const next = await waitPartition(c, (p) => p.leader > 0 && p.leader !== leader && p.leaderEpoch > first.leaderEpoch, 'a new leader', [leader])
    const read = await until(async () => {
      const r = await drainPartition(await c.open(next.leader), T, 0).catch(() => null)
      return r && r.length >= 100 ? r : undefined
    }, { what: 'the new leader serving the acknowledged records' })
    expect(read.map((r) => r.value)).toEqual(written)
  }, 120_000)

  it('a committed batch damaged on the running leader: a read finds it, leadership moves, the replica repairs from the new leader and rejoins the ISR', async () => {
    const c = (cluster = await InProcessCluster.start({ dirPrefix: 'samsa-crc-running', replication: { replicaLagTimeMaxMs: 3_000, isrCheckIntervalMs: 250 }, config: { tailCacheBytes: 0 } }))
    await until(async () => (await c.metadataOf(1, [T])).brokers.length === 3, { timeoutMs: 30_000, what: 'three live brokers' })
    expect(await (await c.open(1)).request(exchanges.createTopic, { name: T, partitions: 1, replicationFactor: 3, minInsyncReplicas: 2 })).toMatchObject({ ok: true })
    const first = await waitPartition(c, (p) => p.leader > 0 && p.isr?.length === 3, 'a leader and three replicas in the ISR')
    const leader = first.leader
    const written = await writeAcked(c, leader, 10)
    await until(() => [1, 2, 3].every((id) => local(c, id)?.highWatermark === 100), { what: 'every replica with the 100 records below its high watermark' })

    // Batch #3 (offsets 30..39, committed everywhere) is damaged under the running leader; its next read finds it.
    const [segment] = await segmentFiles(c.dataDir(leader), T, 0)
    expect((await damageBatch(segment!, 3)).header.baseOffset).toBe(30)
    await expect(drainPartition(await c.open(leader), T, 0)).rejects.toMatchObject({ errorName: 'NOT_LEADER_OR_FOLLOWER' })

    const next = await until(async () => {
      const p = await c.partitionOn(leader, T).catch(() => undefined)
      return p && p.leader > 0 && p.leader !== leader && p.leaderEpoch > first.leaderEpoch ? p : undefined
    }, { timeoutMs: 10_000, what: 'leadership moved off the damaged replica' })
    expect(local(c, leader)?.logEndOffset).toBeGreaterThanOrEqual(30) // reopened through recovery: cut at the damage, then catching up
    expect((await readdir(join(c.dataDir(leader), 'topics', T, '0'))).filter((n) => n.endsWith('.damaged'))).toHaveLength(1)

    // Acknowledged writes continue on the new leader; consumers read every record intact there.
    const more = Array.from({ length: 10 }, (_, i) => value('after', i))
    const conn = await c.open(next.leader)
    expect(await until(() => produceValues(conn, T, 0, more).then((o) => o + 1, () => 0), { what: 'the new leader taking writes' })).toBe(101)
    const read = await until(async () => {
      const r = await drainPartition(conn, T, 0).catch(() => null)
      return r && r.length >= 110 ? r : undefined
    }, { what: 'the new leader serving every acknowledged record' })
    expect(read.map((r) => r.value)).toEqual([...written, ...more])

    // The damaged replica is back in the ISR holding the new leader's log byte for byte.
    await waitPartition(c, (p) => p.isr?.includes(leader) === true && local(c, leader)?.logEndOffset === 110, `broker ${leader} caught up and back in the ISR`)
    const bytes = async (id: number) => c.nodes.get(id)!.broker.localReplica(T, 0).readForReplica(0, 1 << 20)
    expect(Buffer.from(await bytes(leader)).equals(Buffer.from(await bytes(next.leader)))).toBe(true)
  }, 120_000)

  it('the last ISR member, back with its last committed batch damaged, is not elected: the partition stays offline and the other replica keeps every record', async () => {
    const c = (cluster = await InProcessCluster.start({ size: 5, dirPrefix: 'samsa-crc-last', replication: { replicaLagTimeMaxMs: 3_000, isrCheckIntervalMs: 250 } }))
    await until(async () => (await c.metadataOf(1, [T])).brokers.length === 5, { timeoutMs: 30_000, what: 'five live brokers' })
    expect(await (await c.open(1)).request(exchanges.createTopic, { name: T, partitions: 1, replicationFactor: 2, minInsyncReplicas: 1 })).toMatchObject({ ok: true })
    const first = await waitPartition(c, (p) => p.leader > 0 && p.isr?.length === 2, 'a leader and two replicas in the ISR')
    const leader = first.leader
    const other = first.replicas!.find((r) => r !== leader)!
    await writeAcked(c, leader, 10)
    await until(() => [leader, other].every((id) => local(c, id)?.highWatermark === 100), { what: 'both replicas with the 100 records below their high watermark' })

    // The follower goes: the ISR shrinks to the leader. Then the leader goes: offline, its ISR still [leader].
    await c.stopNode(other)
    await waitPartition(c, (p) => p.isr?.length === 1 && p.isr[0] === leader, `the ISR shrunk to broker ${leader}`, [other])
    await c.stopNode(leader)
    await waitPartition(c, (p) => p.leader === -1, 'the partition offline', [leader, other])

    // The leader's last batch (offsets 90..99, acknowledged while both replicas were in the ISR) is damaged.
    const [segment] = await segmentFiles(c.dataDir(leader), T, 0)
    expect((await damageBatch(segment!, 9)).header.baseOffset).toBe(90)
    await c.startNode(other)
    await c.startNode(leader)
    expect(local(c, leader)?.logEndOffset).toBe(90)
    // Asked of a node that stayed up (a restarted one replays its old metadata first). Unfencing elects in the same
    // metadata batch: the image that shows both unfenced under their new registrations shows the outcome.
    const observer = [...c.nodes.keys()].find((id) => id !== leader && id !== other)!
    const p = await until(async () => {
      const m = await c.metadataOf(observer, [T])
      const ids = m.brokers.map((b) => b.brokerId)
      return ids.includes(leader) && ids.includes(other) ? m.topics[0]!.partitions[0] : undefined
    }, { timeoutMs: 30_000, what: 'both replicas registered again and unfenced' })
    expect({ leader: p.leader, isr: p.isr }).toEqual({ leader: -1, isr: [] })
    expect(local(c, other)?.logEndOffset).toBe(100)
  }, 120_000)
})
