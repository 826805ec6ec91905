import { SamsaError } from '@samsa/shared'
import { afterEach, describe, expect, it } from 'vitest'
import { recordsOf, testBatch } from '../log/testing/batches.js'
import { InProcessCluster } from './testing/in-process-cluster.js'

const T = 'orders'
let cluster: InProcessCluster | undefined

afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

/** Lets queued work run, moving the shared manual clock by stepMs each round, until probe holds (bounded in rounds). */
async function until(c: InProcessCluster, probe: () => boolean, what: string, stepMs = 100): Promise<void> {
  for (let round = 0; round < 400; round++) {
    if (probe()) return
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
    if (probe()) return
    c.clock.advance(stepMs)
  }
  throw new Error(`never happened: ${what}`)
}

const errorName = (e: unknown) => (e instanceof SamsaError ? e.errorName : String(e))

describe('partition replication across three in-process brokers (real Broker, Session, QuorumController)', () => {
  it('acks=all, ISR shrink and expansion, NOT_ENOUGH_REPLICAS, and a KIP-101 divergent tail truncated by leader epoch', async () => {
    const c = (cluster = await InProcessCluster.start([1, 2, 3], { replicaLagTimeMaxMs: 1_000, isrCheckIntervalMs: 200, fetcher: { maxWaitMs: 500, retryBackoffMs: 50 } }))
    await c.createTopic(T, 1, 3, 2)
    const log = (id: number) => c.node(id).broker.localReplica(T, 0)
    const reg = () => c.partition(T, 0)
    const produce = (id: number, tag: string, acks = -1) => c.node(id).broker.produce({ topic: T, partition: 0, acks, timeoutMs: 60_000, batch: testBatch({ tag, records: 2 }) })
    /** HW never exceeds any ISR member's log end. */
    const checkHw = () => {
      const r = reg()
      if (r.leader < 0) return
      for (const m of r.isr) expect(log(r.leader).highWatermark).toBeLessThanOrEqual(log(m).logEndOffset)
    }
    const leader = reg().leader
    const [f1, f2] = reg().replicas.filter((r) => r !== leader) as [number, number]
    await until(c, () => c.node(f1).replicas.role(T, 0)?.kind === 'follower' && c.node(f2).replicas.role(T, 0)?.kind === 'follower', 'followers')

    // acks=all: every ISR member has the batch before the ack.
    const a = await produce(leader, 'a')
    for (const id of [leader, f1, f2]) expect(log(id).logEndOffset).toBeGreaterThanOrEqual(a.baseOffset + 2)
    checkHw()

    // A non-leader refuses produce, fetch and listOffsets; a leader epoch newer than the leader's is unknown to it.
    await expect(produce(f1, 'x')).rejects.toMatchObject({ errorName: 'NOT_LEADER_OR_FOLLOWER', details: { leaderId: leader } })
    await expect(c.node(f1).broker.fetch({ topic: T, partition: 0, offset: 0, maxBytes: 1000, maxWaitMs: 0, minBytes: 0 })).rejects.toMatchObject({ errorName: 'NOT_LEADER_OR_FOLLOWER' })
    await expect(c.node(f1).broker.listOffsets({ topic: T, partition: 0, timestamp: -1 })).rejects.toMatchObject({ errorName: 'NOT_LEADER_OR_FOLLOWER' })
    await expect(c.node(leader).broker.fetch({ topic: T, partition: 0, offset: 0, maxBytes: 1000, maxWaitMs: 0, minBytes: 0, replicaId: f1, currentLeaderEpoch: reg().leaderEpoch + 1 }))
      .rejects.toMatchObject({ errorName: 'UNKNOWN_LEADER_EPOCH' })

    // A follower stops: after replicaLagTimeMaxMs it leaves the ISR; acks=all still succeeds with 2 ≥ min.insync.replicas.
    c.net.setDown(f2, true)
    await until(c, () => !reg().isr.includes(f2), `broker ${f2} leaves the ISR`)
    const b = await produce(leader, 'b')
    expect(log(f1).logEndOffset).toBeGreaterThanOrEqual(b.baseOffset + 2)
    checkHw()

    // Below min.insync.replicas acks=all fails before appending; acks=1 still succeeds.
    c.net.setDown(f1, true)
    await until(c, () => reg().isr.length === 1, 'the ISR shrinks to the leader')
    const endBefore = log(leader).logEndOffset
    expect(errorName(await produce(leader, 'refused').catch((e: unknown) => e))).toBe('NOT_ENOUGH_REPLICAS')
    expect(log(leader).logEndOffset).toBe(endBefore)
    await produce(leader, 'one', 1)

    // Both come back and rejoin the ISR; the high watermark covers the acks=1 batch once they have it.
    c.net.setDown(f1, false)
    c.net.setDown(f2, false)
    await until(c, () => reg().isr.length === 3, 'both followers rejoin the ISR')
    await until(c, () => log(leader).highWatermark === log(leader).logEndOffset, 'the high watermark reaches the log end')
    checkHw()

    // KIP-101: the leader takes a batch (acks=1) its followers never get, then goes away; a follower is elected
    // at a new leader epoch and takes other writes at the same offsets.
    c.net.setDown(f1, true)
    c.net.setDown(f2, true)
    const lost = await produce(leader, 'lost', 1)
    c.net.setDown(leader, true)
    c.net.setDown(f1, false)
    c.net.setDown(f2, false)
    await c.shutDown(leader)
    const newLeader = reg().leader
    expect([f1, f2]).toContain(newLeader)
    expect(reg().isr).not.toContain(leader)
    await until(c, () => c.node(newLeader).replicas.role(T, 0)?.kind === 'leader', 'the new leader takes over')
    const replaced = await produce(newLeader, 'new')
    const other = newLeader === f1 ? f2 : f1
    await expect(c.node(newLeader).broker.fetch({ topic: T, partition: 0, offset: 0, maxBytes: 1000, maxWaitMs: 0, minBytes: 0, replicaId: other, currentLeaderEpoch: reg().leaderEpoch - 1 }))
      .rejects.toMatchObject({ errorName: 'FENCED_LEADER_EPOCH' })
    expect(replaced.baseOffset).toBe(lost.baseOffset) // the same offset, a different batch: the old leader's tail diverges

    // The old leader returns as a follower: it truncates by leader epoch (not to its high watermark, which is below
    // the divergence point only by luck of timing) and rejoins the ISR with exactly the new leader's log.
    const all = async (id: number) => recordsOf(await log(id).readForReplica(0, 1 << 20))
    expect((await all(leader)).map((r) => r.value)).toContain('lost-0')
    await c.rejoin(leader)
    await until(c, () => reg().isr.includes(leader), 'the old leader rejoins the ISR')
    await until(c, () => log(leader).logEndOffset === log(newLeader).logEndOffset, 'the old leader catches up')
    const expected = await all(newLeader)
    expect(await all(leader)).toEqual(expected)
    expect(expected.map((r) => r.value)).not.toContain('lost-0')
    expect(expected.map((r) => r.value)).toContain('new-0')
    checkHw()
  }, 60_000)
})

describe('ISR expansion of a fenced follower', () => {
  it('is not re-proposed at every fetch while the controller keeps the follower fenced, and happens promptly once it is unfenced', async () => {
    // Fetches answer within 10 ms (maxWaitMs); the backoff of refused expansions is capped at the ISR check interval (2 s).
    const c = (cluster = await InProcessCluster.start([1, 2, 3], { replicaLagTimeMaxMs: 30_000, isrCheckIntervalMs: 2_000, fetcher: { maxWaitMs: 10, retryBackoffMs: 10 } }))
    await c.createTopic(T, 1, 3, 2)
    const reg = () => c.partition(T, 0)
    const leader = reg().leader
    const follower = reg().replicas.find((r) => r !== leader)!
    await until(c, () => c.node(follower).replicas.role(T, 0)?.kind === 'follower', 'the follower fetches', 10)
    const refusals: number[] = []
    const alter = c.controller.alterPartition.bind(c.controller)
    c.controller.alterPartition = (image, req) => {
      try {
        return alter(image, req)
      } catch (e) {
        if (errorName(e) === 'INELIGIBLE_REPLICA') refusals.push(c.clock.monotonicMs())
        throw e
      }
    }

    // Fenced (a controlled shutdown that never completes): out of the ISR, yet it keeps fetching, caught up.
    await c.shutDown(follower)
    expect(reg().isr).not.toContain(follower)
    const fencedAt = c.clock.monotonicMs()
    for (let step = 0; step < 1_000; step++) {
      for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r))
      c.clock.advance(10)
    }
    expect(c.clock.monotonicMs() - fencedAt).toBe(10_000)
    // 10 s of fetches every ~10 ms: refusals 100, 200, 400, 800, 1 600 ms apart, then one per 2 s.
    expect(refusals.length).toBeGreaterThan(0)
    expect(refusals.length).toBeLessThanOrEqual(10)
    expect(reg().isr).not.toContain(follower)

    // Unfenced: it joins at its next fetches, well within the backoff it had reached.
    await c.rejoin(follower)
    const unfencedAt = c.clock.monotonicMs()
    await until(c, () => reg().isr.includes(follower), 'the unfenced follower joins the ISR', 10)
    expect(c.clock.monotonicMs() - unfencedAt).toBeLessThan(200)
  }, 60_000)
})
