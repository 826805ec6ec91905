/**
 * Scenario "leader kill": a 3-node cluster of real processes behind TCP proxies; a topic with replication factor 3
 * and min.insync.replicas 2; an SDK producer (acks=all, idempotent) offering ~200 records/s and an SDK consumer
 * reading everything from the start (support/workload.ts). The partition leader is killed with SIGKILL KILLS times
 * (5 in a row, as the issue asks), each time restarted on its data directory once a new leader serves writes. The
 * recorded history must show zero anomalies. Prints operation counts and each failover time (SIGKILL → a new leader
 * → the next acknowledged write).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { FaultCluster } from './support/cluster.js'
import { DURATION_MS, Workload } from './support/workload.js'

const TOPIC = 'leader-kill'
const KILLS = Number(process.env.FAULT_KILLS ?? 5)

let cluster: FaultCluster | null = null
let workload: Workload | null = null
afterAll(async () => {
  await workload?.close()
  await cluster?.close()
})

describe('fault: kill -9 of the partition leader under load', () => {
  it(`${KILLS} leader kills in a row while producing and consuming: zero anomalies`, async () => {
    cluster = await FaultCluster.start({ sessionTimeoutMs: 2_000 })
    await cluster.waitHealthy()
    const w = (workload = await Workload.start(cluster, { topic: TOPIC }))

    const failovers: { killed: number; newLeader: number; leaderMs: number; writeMs: number }[] = []
    const staleLeaderships: { node: number; leaderEpoch: number; currentEpoch: number }[] = []
    const gapMs = DURATION_MS / (KILLS + 1)
    for (let k = 0; k < KILLS; k++) {
      await w.waitElapsed(Math.max(gapMs * (k + 1), w.elapsed()))
      const before = await cluster.waitLeader(TOPIC, 0)
      const killedAt = w.rec.now()
      await cluster.kill(before.leader)
      const after = await cluster.waitLeader(TOPIC, 0, (p) => p.leader !== before.leader && p.leaderEpoch > before.leaderEpoch)
      const leaderMs = w.rec.now() - killedAt
      const nextOk = await w.nextAckAfter(killedAt)
      failovers.push({ killed: before.leader, newLeader: after.leader, leaderMs: Math.round(leaderMs), writeMs: Math.round(nextOk.timeMs - killedAt) })
      await cluster.restart(before.leader)
      await cluster.waitLeader(TOPIC, 0, (p) => p.isr?.length === 3, 60_000)
      // The restarted node must not act as leader at an epoch the controller already replaced (its stale image).
      for (const l of cluster.node(before.leader).process!.logs) {
        if (l.msg === 'became leader' && l.topic === TOPIC && typeof l.leaderEpoch === 'number' && l.leaderEpoch < after.leaderEpoch) {
          staleLeaderships.push({ node: before.leader, leaderEpoch: l.leaderEpoch, currentEpoch: after.leaderEpoch })
        }
      }
    }

    const result = await w.finish()
    w.print('leader-kill', result, [
      `restarted nodes leading at a replaced epoch: ${JSON.stringify(staleLeaderships)}`,
      `failovers (SIGKILL → new leader / → next acknowledged write): ${failovers.map((f) => `node ${f.killed}→${f.newLeader}: ${f.leaderMs} ms / ${f.writeMs} ms`).join('; ')}`,
    ])
    w.expectClean(result)
    expect(staleLeaderships).toEqual([])
    expect(failovers).toHaveLength(KILLS)
    expect(new Set(w.rec.leaderSamples.map((s) => s.leaderEpoch)).size).toBeGreaterThan(KILLS)
  })
})
