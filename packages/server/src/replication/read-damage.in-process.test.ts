import { scanBatches } from '@samsa/shared'
import { afterEach, describe, expect, it } from 'vitest'
import { recordsOf, testBatch } from '../log/testing/batches.js'
import { InProcessCluster } from './testing/in-process-cluster.js'

const T = 'orders'
const SEGMENT = `topics/${T}/0/00000000000000000000.log`
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

describe('a leader whose committed data a read finds damaged (real Broker, Session, QuorumController)', () => {
  it('stops serving at once, reopens through recovery, is reported incomplete, follows the next ISR member and rejoins the ISR identical to it', async () => {
    const c = (cluster = await InProcessCluster.start([1, 2, 3], { replicaLagTimeMaxMs: 1_000, isrCheckIntervalMs: 200, fetcher: { maxWaitMs: 500, retryBackoffMs: 50 } }, { tailCacheBytes: 0 }))
    await c.createTopic(T, 1, 3, 2)
    const log = (id: number) => c.node(id).broker.localReplica(T, 0)
    const before = c.partition(T, 0)
    const leader = before.leader
    const produce = (id: number, tag: string) => c.node(id).broker.produce({ topic: T, partition: 0, acks: -1, timeoutMs: 60_000, batch: testBatch({ tag, records: 2 }) })
    for (const r of before.replicas) if (r !== leader) await until(c, () => c.node(r).replicas.role(T, 0)?.kind === 'follower', `follower ${r}`)
    for (let i = 0; i < 5; i++) await produce(leader, `a${i}`)
    await until(c, () => before.replicas.every((id) => log(id).highWatermark === 10), 'every replica with 10 committed records')

    // Batch #2 (offsets 4..5) rots under the running leader; a consumer's fetch reads it.
    const storage = c.node(leader).storage
    const bytes = storage.peek(SEGMENT)!
    const b = [...scanBatches(bytes)][2]!
    bytes[b.at + b.totalBytes - 1]! ^= 0xff
    storage.poke(SEGMENT, bytes)
    c.net.setDown(leader, true) // its report to the controller waits: the metadata still names it leader meanwhile
    await expect(c.node(leader).broker.fetch({ topic: T, partition: 0, offset: 0, maxBytes: 1 << 20, maxWaitMs: 0, minBytes: 0 })).rejects.toMatchObject({ errorName: 'NOT_LEADER_OR_FOLLOWER' })
    // Reopened through recovery (cut at the damage, the rest set aside), yet not leading while the image keeps it in the ISR.
    await until(c, () => storage.peek(`${SEGMENT}.damaged`) !== null && log(leader).logEndOffset === 4, 'the replica reopened, cut at the damage')
    expect(c.partition(T, 0)).toMatchObject({ leader, isr: before.isr })
    expect(c.node(leader).replicas.role(T, 0)).toBeNull()
    await expect(produce(leader, 'refused')).rejects.toMatchObject({ errorName: 'NOT_LEADER_OR_FOLLOWER' })
    c.net.setDown(leader, false)

    await until(c, () => c.partition(T, 0).leader !== leader, 'the controller electing another leader')
    const after = c.partition(T, 0)
    expect(after.leaderEpoch).toBe(before.leaderEpoch + 1)
    expect(after.isr).not.toContain(leader)
    expect(before.isr).toContain(after.leader)
    expect(c.node(leader).replicas.role(T, 0)).toMatchObject({ kind: 'follower', leaderId: after.leader })
    expect(storage.peek(`${SEGMENT}.damaged`)).not.toBeNull() // recovery cut the log at the damage and set the rest aside

    // Writes go on at the new leader; the damaged replica catches up, rejoins the ISR and holds the new leader's log.
    await produce(after.leader, 'b')
    await until(c, () => c.partition(T, 0).isr.includes(leader) && log(leader).logEndOffset === 12, `broker ${leader} back in the ISR`)
    const all = async (id: number) => Buffer.from(await log(id).readForReplica(0, 1 << 20))
    expect((await all(leader)).equals(await all(after.leader))).toBe(true)
    const read = await c.node(after.leader).broker.fetch({ topic: T, partition: 0, offset: 0, maxBytes: 1 << 20, maxWaitMs: 0, minBytes: 0 })
    expect(recordsOf(read.records).map((r) => r.value)).toEqual([...[0, 1, 2, 3, 4].flatMap((i) => [`a${i}-0`, `a${i}-1`]), 'b-0', 'b-1'])
  })
})
