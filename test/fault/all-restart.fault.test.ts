/**
 * Scenario "all nodes killed and restarted": a 3-node cluster of real processes behind TCP proxies; a topic with
 * replication factor 3, min.insync.replicas 2 and three partitions; two SDK producers (acks=all, idempotent,
 * maxRetries 1000) and an SDK consumer (support/workload.ts). Two whole-cluster outages under load:
 *   1. every node is killed with SIGKILL at once, then all are restarted at once;
 *   2. the nodes are killed one after another quickly (seeded order, 50–400 ms apart), then restarted one after
 *      another in the order they died, so the first two back (a quorum) are the ones that stopped first.
 * After each, the cluster must come back (a controller, every node registered and unfenced), every partition must
 * have a leader with a full ISR again, and writes must flow; sends in flight during the outage are retried by the
 * SDK and must end acknowledged. The recorded history must show zero anomalies: every acknowledged write is still
 * there, no duplicate, no reordering, the consumer resumes and reads everything. Prints per outage: all down →
 * every node restarted, → cluster healthy, → every partition led at a newer epoch, → the next acknowledged write
 * (restarts begin as soon as all are down).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { FaultCluster } from './support/cluster.js'
import { DURATION_MS, seededRandom, Workload } from './support/workload.js'

const TOPIC = 'all-restart'
const PARTITIONS = 3

let cluster: FaultCluster | null = null
let workload: Workload | null = null
afterAll(async () => {
  await workload?.close()
  await cluster?.close()
})

interface Outage {
  name: string
  killOrder: number[]
  restartOrder: number[]
  /** First SIGKILL → last process gone. */
  killSpanMs: number
  /** All down → every node restarted (listening). */
  downMs: number
  healthyMs: number
  /** All down → every partition led again, at a newer leader epoch. */
  leaderMs: number
  nextAckMs: number
  epochs: string
}

function shuffled<T>(xs: readonly T[], random: () => number): T[] {
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

describe('fault: all nodes killed and restarted', () => {
  it('two whole-cluster kill -9 outages (at once; one after another) while producing and consuming: zero anomalies', async () => {
    const random = seededRandom()
    cluster = await FaultCluster.start({ sessionTimeoutMs: 2_000 })
    await cluster.waitHealthy()
    const c = cluster
    const w = (workload = await Workload.start(c, { topic: TOPIC, partitions: PARTITIONS, producers: 2 }))
    const partitions = Array.from({ length: PARTITIONS }, (_, p) => p)
    const ids = [...c.nodes.keys()]
    const outages: Outage[] = []

    const outage = async (name: string, kill: (order: number[]) => Promise<void>, killOrder: number[], restart: (order: number[]) => Promise<void>, restartOrder: number[]) => {
      const before = await Promise.all(partitions.map((p) => c.waitLeader(TOPIC, p, (m) => m.isr?.length === 3, 60_000)))
      const killStart = w.rec.now()
      await kill(killOrder)
      const allDownAt = w.rec.now()
      expect(c.live()).toEqual([])
      await restart(restartOrder)
      const restartedAt = w.rec.now()
      await c.waitHealthy(60_000)
      const healthyAt = w.rec.now()
      await Promise.all(partitions.map((p) => c.waitLeader(TOPIC, p, (m) => m.leaderEpoch > before[p]!.leaderEpoch, 60_000)))
      const ledAt = w.rec.now()
      const nextOk = await w.nextAckAfter(allDownAt, { timeoutMs: 60_000 })
      const after = await Promise.all(partitions.map((p) => c.waitLeader(TOPIC, p, (m) => m.isr?.length === 3, 60_000)))
      // Every partition writes again.
      await Promise.all(partitions.map((p) => w.nextAckAfter(restartedAt, { timeoutMs: 60_000, partition: p, invokedAfter: true })))
      outages.push({
        name,
        killOrder,
        restartOrder,
        killSpanMs: Math.round(allDownAt - killStart),
        downMs: Math.round(restartedAt - allDownAt),
        healthyMs: Math.round(healthyAt - allDownAt),
        leaderMs: Math.round(ledAt - allDownAt),
        nextAckMs: Math.round(nextOk.timeMs - allDownAt),
        epochs: partitions.map((p) => `p${p} ${before[p]!.leader}@e${before[p]!.leaderEpoch}→${after[p]!.leader}@e${after[p]!.leaderEpoch}`).join(' '),
      })
    }

    // 1. All at once, back all at once.
    await w.waitElapsed(DURATION_MS / 4)
    await outage('at once', (order) => Promise.all(order.map((id) => c.kill(id))).then(() => {}), ids, (order) => Promise.all(order.map((id) => c.restart(id))).then(() => {}), ids)

    // 2. One after another quickly; back one after another, first killed first.
    await w.waitElapsed(Math.max((DURATION_MS * 5) / 8, w.elapsed()))
    const killOrder = shuffled(ids, random)
    const gaps = killOrder.map(() => 50 + Math.floor(random() * 350))
    await outage(
      'one after another',
      async (order) => {
        for (const [i, id] of order.entries()) {
          if (i > 0) await w.waitElapsed(w.elapsed() + gaps[i]!)
          await c.kill(id)
        }
      },
      killOrder,
      async (order) => {
        for (const id of order) await c.restart(id)
      },
      killOrder,
    )

    const result = await w.finish()
    w.print('all-restart', result, [
      ...outages.map(
        (o) =>
          `outage "${o.name}" (kill ${o.killOrder.join(',')} over ${o.killSpanMs} ms; restart ${o.restartOrder.join(',')}): all down → restarted ${o.downMs} ms, → healthy ${o.healthyMs} ms, → every partition led ${o.leaderMs} ms, → next acknowledged write ${o.nextAckMs} ms; leaders ${o.epochs}`,
      ),
    ])
    w.expectClean(result)
    expect(outages).toHaveLength(2)
  })
})
