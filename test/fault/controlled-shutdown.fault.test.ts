/**
 * Scenario "controlled shutdown": the partition leader is stopped with SIGTERM under load, SHUTDOWNS times, each
 * time restarted once a new leader serves writes. A controlled shutdown asks the controller to move the broker's
 * leadership away before the process exits (cluster/broker-lifecycle.ts), so the hand-off does not wait for a session
 * timeout: the aim is a new leader, and acknowledged writes flowing again, within 1 s of the SIGTERM. Zero anomalies;
 * the process exits 0. Prints SIGTERM → new leader / → next acknowledged write / → process exit.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { FaultCluster } from './support/cluster.js'
import { DURATION_MS, Workload } from './support/workload.js'

const TOPIC = 'controlled-shutdown'
const SHUTDOWNS = Number(process.env.FAULT_SHUTDOWNS ?? 3)

let cluster: FaultCluster | null = null
let workload: Workload | null = null
afterAll(async () => {
  await workload?.close()
  await cluster?.close()
})

describe('fault: controlled shutdown (SIGTERM) of the partition leader under load', () => {
  it(`${SHUTDOWNS} leader shutdowns: leadership handed away, zero anomalies`, async () => {
    cluster = await FaultCluster.start({ sessionTimeoutMs: 2_000 })
    await cluster.waitHealthy()
    const w = (workload = await Workload.start(cluster, { topic: TOPIC }))

    const handoffs: { stopped: number; newLeader: number; leaderMs: number; writeMs: number; exitMs: number; exitCode: number | null }[] = []
    const gapMs = DURATION_MS / (SHUTDOWNS + 1)
    for (let k = 0; k < SHUTDOWNS; k++) {
      await w.waitElapsed(Math.max(gapMs * (k + 1), w.elapsed()))
      const before = await cluster.waitLeader(TOPIC, 0)
      const t = w.rec.now()
      let exitMs = -1
      const stopping = cluster.stop(before.leader).then((exit) => {
        exitMs = w.rec.now() - t
        return exit
      })
      const after = await cluster.waitLeader(TOPIC, 0, (p) => p.leader !== before.leader && p.leaderEpoch > before.leaderEpoch)
      const leaderMs = w.rec.now() - t
      const nextOk = await w.nextAckAfter(t)
      const exit = await stopping
      handoffs.push({ stopped: before.leader, newLeader: after.leader, leaderMs: Math.round(leaderMs), writeMs: Math.round(nextOk.timeMs - t), exitMs: Math.round(exitMs), exitCode: exit.code })
      await cluster.restart(before.leader)
      await cluster.waitLeader(TOPIC, 0, (p) => p.isr?.length === 3, 60_000)
    }

    const result = await w.finish()
    w.print('controlled-shutdown', result, [
      `hand-offs (SIGTERM → new leader / → next acknowledged write / → exit): ${handoffs.map((h) => `node ${h.stopped}→${h.newLeader}: ${h.leaderMs} / ${h.writeMs} / ${h.exitMs} ms`).join('; ')}`,
    ])
    w.expectClean(result)
    expect(handoffs.map((h) => h.exitCode)).toEqual(handoffs.map(() => 0))
    // The controller moved leadership before the process left: no session timeout (2 s) in the hand-off.
    for (const h of handoffs) expect(h.leaderMs, `SIGTERM of node ${h.stopped} → new leader`).toBeLessThan(2_000)
  })
})
