/**
 * Scenario "broker-only node": three controller voters (combined mode) and a fourth node that is a broker only (not
 * among `--controllers`: it observes the metadata log), real processes behind TCP proxies; a topic with four
 * partitions, replication factor 3 and min.insync.replicas 2 placed over all four brokers, so the broker-only node
 * leads one partition and follows others; an SDK producer (acks=all, idempotent) and an SDK consumer
 * (support/workload.ts). The broker-only node is killed with SIGKILL (its partition gets a new leader from the ISR)
 * and restarted (it catches up from the controllers and rejoins the ISRs); then the active controller is killed and
 * restarted. The recorded history must show zero anomalies. Prints both failover times (SIGKILL → new leader or
 * controller → the next acknowledged write).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { FaultCluster } from './support/cluster.js'
import { DURATION_MS, Workload } from './support/workload.js'

const TOPIC = 'broker-only'
const PARTITIONS = 4
const BROKER_ONLY = 4

let cluster: FaultCluster | null = null
let workload: Workload | null = null
afterAll(async () => {
  await workload?.close()
  await cluster?.close()
})

describe('fault: a broker-only node and a controller voter killed under load', () => {
  it('kill -9 of the broker-only node, then of the active controller, while producing and consuming: zero anomalies', async () => {
    cluster = await FaultCluster.start({ sessionTimeoutMs: 2_000, brokerOnly: 1 })
    await cluster.waitHealthy()
    const self = await cluster.status(BROKER_ONLY)
    expect(self).toMatchObject({ role: 'broker', fenced: false })
    const w = (workload = await Workload.start(cluster, { topic: TOPIC, partitions: PARTITIONS }))
    const partitions = Array.from({ length: PARTITIONS }, (_, p) => p)
    const waitAllInSync = async () => {
      for (const p of partitions) await cluster!.waitLeader(TOPIC, p, (m) => m.isr?.length === 3, 60_000)
    }

    // The broker-only node hosts replicas: it leads some partition and follows others.
    const leaders = await Promise.all(partitions.map((p) => cluster!.waitLeader(TOPIC, p)))
    const led = leaders.filter((l) => l.leader === BROKER_ONLY).map((l) => l.partition)
    expect(led.length).toBeGreaterThan(0)
    expect(leaders.filter((l) => l.leader !== BROKER_ONLY && l.replicas?.includes(BROKER_ONLY)).length).toBeGreaterThan(0)

    // 1. kill -9 of the broker-only node: its partitions get new leaders from their ISRs, writes go on.
    await w.waitElapsed(DURATION_MS / 3)
    const before = await Promise.all(led.map((p) => cluster!.waitLeader(TOPIC, p)))
    const brokerKilledAt = w.rec.now()
    await cluster.kill(BROKER_ONLY)
    for (const b of before) await cluster.waitLeader(TOPIC, b.partition, (p) => p.leader !== BROKER_ONLY && p.leaderEpoch > b.leaderEpoch)
    const brokerLeaderMs = w.rec.now() - brokerKilledAt
    const brokerOks = await Promise.all(led.map((p) => w.nextAckAfter(brokerKilledAt, { partition: p, invokedAfter: true })))
    const brokerWriteMs = Math.max(...brokerOks.map((o) => o.timeMs)) - brokerKilledAt
    await cluster.restart(BROKER_ONLY)
    await cluster.waitHealthy(60_000)
    await waitAllInSync()

    // 2. kill -9 of the active controller: the broker-only node follows the new one.
    await w.waitElapsed(Math.max((2 * DURATION_MS) / 3, w.elapsed()))
    const controller = await cluster.waitHealthy()
    const controllerKilledAt = w.rec.now()
    await cluster.kill(controller.leaderId)
    const next = await cluster.waitController((c) => c.term > controller.term && c.leaderId !== controller.leaderId)
    const controllerMs = w.rec.now() - controllerKilledAt
    const controllerOk = await w.nextAckAfter(controllerKilledAt, { invokedAfter: true })
    const seen = await cluster.status(BROKER_ONLY)
    expect(seen?.leaderId).toBe(next.leaderId)
    await cluster.restart(controller.leaderId)
    await cluster.waitHealthy(60_000)
    await waitAllInSync()

    const result = await w.finish()
    w.print('broker-only-node', result, [
      `broker-only node ${BROKER_ONLY} led [${led.join(',')}]: SIGKILL → new leaders ${Math.round(brokerLeaderMs)} ms / → next ack on them ${Math.round(brokerWriteMs)} ms`,
      `controller ${controller.leaderId}@t${controller.term} → ${next.leaderId}@t${next.term}: SIGKILL → new active controller ${Math.round(controllerMs)} ms / → next ack ${Math.round(controllerOk.timeMs - controllerKilledAt)} ms`,
    ])
    w.expectClean(result)
  })
})
