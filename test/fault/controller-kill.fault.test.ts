/**
 * Scenario "controller kill": a 3-node cluster of real processes behind TCP proxies (every node controller + broker);
 * a topic with replication factor 3, min.insync.replicas 2 and three partitions, so that every node is the preferred
 * leader of one of them and the active controller leads a partition at least at the first kill; an SDK producer
 * (acks=all, idempotent) and an SDK consumer (support/workload.ts). The active controller (the Raft leader every node
 * names in /v1/cluster) is killed with SIGKILL KILLS times (3 in ≥ 20 s), each time restarted on its data directory
 * once a new controller is active in a higher term and writes flow again. The recorded history must show zero
 * anomalies, including one controller leader per term (the sampler records each node's view of the controller).
 * Prints, per kill: which partitions the controller led, SIGKILL → new active controller, → the next acknowledged
 * write, and → the next acknowledged write to a partition the killed node led (writes invoked after the kill).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { FaultCluster } from './support/cluster.js'
import { DURATION_MS, Workload } from './support/workload.js'

const TOPIC = 'controller-kill'
const PARTITIONS = 3
const KILLS = Number(process.env.FAULT_KILLS ?? 3)

let cluster: FaultCluster | null = null
let workload: Workload | null = null
afterAll(async () => {
  await workload?.close()
  await cluster?.close()
})

interface ControllerFailover {
  killed: number
  term: number
  newController: number
  newTerm: number
  /** Partitions the killed controller led when it was killed. */
  led: number[]
  controllerMs: number
  writeMs: number
  /** SIGKILL → the next acknowledged write to the slowest of the partitions it led (null when it led none). */
  ledWriteMs: number | null
}

describe('fault: kill -9 of the active controller under load', () => {
  it(`${KILLS} controller kills in a row while producing and consuming: zero anomalies, one controller per term`, async () => {
    cluster = await FaultCluster.start({ sessionTimeoutMs: 2_000 })
    await cluster.waitHealthy()
    const w = (workload = await Workload.start(cluster, { topic: TOPIC, partitions: PARTITIONS }))
    const partitions = Array.from({ length: PARTITIONS }, (_, p) => p)

    const failovers: ControllerFailover[] = []
    const gapMs = DURATION_MS / (KILLS + 1)
    for (let k = 0; k < KILLS; k++) {
      await w.waitElapsed(Math.max(gapMs * (k + 1), w.elapsed()))
      const before = await cluster.waitHealthy()
      const leaders = await Promise.all(partitions.map((p) => cluster!.waitLeader(TOPIC, p)))
      const led = leaders.filter((l) => l.leader === before.leaderId).map((l) => l.partition)
      const killedAt = w.rec.now()
      await cluster.kill(before.leaderId)
      const after = await cluster.waitController((c) => c.term > before.term && c.leaderId !== before.leaderId)
      const controllerMs = w.rec.now() - killedAt
      const nextOk = await w.nextAckAfter(killedAt, { invokedAfter: true })
      const ledOks = await Promise.all(led.map((p) => w.nextAckAfter(killedAt, { partition: p, invokedAfter: true })))
      failovers.push({
        killed: before.leaderId,
        term: before.term,
        newController: after.leaderId,
        newTerm: after.term,
        led,
        controllerMs: Math.round(controllerMs),
        writeMs: Math.round(nextOk.timeMs - killedAt),
        ledWriteMs: ledOks.length > 0 ? Math.round(Math.max(...ledOks.map((o) => o.timeMs)) - killedAt) : null,
      })
      await cluster.restart(before.leaderId)
      await cluster.waitHealthy(60_000)
      for (const p of partitions) await cluster.waitLeader(TOPIC, p, (m) => m.isr?.length === 3, 60_000)
    }

    const result = await w.finish()
    const terms = new Set(w.rec.controllerSamples.filter((s) => s.leaderId !== null).map((s) => s.term))
    w.print('controller-kill', result, [
      `controller samples ${w.rec.controllerSamples.length}, terms seen with a leader: ${[...terms].sort((a, b) => a - b).join(', ')}`,
      `failovers (SIGKILL → new active controller / → next acknowledged write / → next ack on the partitions it led): ${failovers
        .map((f) => `node ${f.killed}@t${f.term}→${f.newController}@t${f.newTerm} led [${f.led.join(',')}]: ${f.controllerMs} ms / ${f.writeMs} ms / ${f.ledWriteMs ?? '-'} ms`)
        .join('; ')}`,
    ])
    w.expectClean(result)
    expect(failovers).toHaveLength(KILLS)
    // At least one kill took down the controller and a partition leader at once (three partitions: at the first kill
    // every node leads its preferred one).
    expect(failovers.some((f) => f.led.length > 0)).toBe(true)
    // The sampler saw every new controller: one term per kill at least beyond the first.
    expect(terms.size).toBeGreaterThan(KILLS)
  })
})
