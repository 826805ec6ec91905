/**
 * Scenario "isolated leader" (Jepsen 2013, Kafka 0.8): the ISR shrinks to the leader, then the leader is cut from
 * the controller but not from its clients. Kafka 0.8 lost acknowledged writes here: the leader alone acknowledged
 * (min.insync.replicas did not exist; in effect 1), ZooKeeper moved leadership to a replica outside the ISR, and
 * the old leader's acknowledged writes were truncated when it came back.
 *
 * Setting: 3 real `samsa start` nodes (controller + broker each) behind TCP proxies (support/cluster.ts), a topic of
 * 3 partitions with replication factor 3 (one partition led by each node), an SDK producer (acks=all, idempotent)
 * and an SDK consumer (support/workload.ts). The target is a partition whose leader L is NOT the active controller
 * (seeded choice), so "cut from the controller" is a real cut; its followers are X and F.
 *
 * Schedule (each step waits on what it causes, never on a fixed sleep):
 *  1. load flows;
 *  2. the followers' replica fetches into L are cut (`cutReplication`), L's Raft and controller links stay up (as
 *     Kafka 0.8's ZooKeeper session did): L proposes them out of the ISR after --replica-lag-time-max-ms (2 s here)
 *     and the controller commits it. We wait until L's metadata shows the expected ISR;
 *  3. L is cut from both other nodes (`splitNetwork([[L], [X, F]])`); every client link stays up, so clients still
 *     reach L. The controller fences L after the session timeout (2 s) and must elect only from the ISR;
 *  4. once the majority side shows L's leadership gone, the cut is held 1.5 session timeouts longer, then healed;
 *  5. `finish()`: every send settles, the ISR is full again, the topic is drained and the history checked.
 *
 * Three variants, each on its own cluster:
 *  A. min.insync.replicas 2, ISR shrunk to {L}: once the ISR is {L}, L refuses acks=all (NOT_ENOUGH_REPLICAS); when
 *     L is cut off, the controller may NOT elect X or F (out of the ISR; unclean election is off): the partition is
 *     offline until the heal, then L leads again. L must acknowledge nothing while cut off.
 *  B. min.insync.replicas 1, ISR shrunk to {L}: Kafka 0.8's setting. L acknowledges alone, and keeps acknowledging
 *     while cut off (its clients reach it; a leader cannot know it was fenced). That is safe only because nobody
 *     else may lead: the controller keeps the partition offline, L leads again after the heal with everything it
 *     acknowledged. The history checker is the proof (no acknowledged write lost); the count is printed.
 *  C. min.insync.replicas 1, ISR shrunk to {L, X}: the controller elects X. L may still believe it leads, and
 *     min.insync.replicas 1 would let it acknowledge alone if it could drop X from its ISR by itself: it must not
 *     (ISR changes go through the controller, which it cannot reach), so its acknowledgements stop at the cut.
 *     Measured: cut → L's last acknowledgement, cut → X's first acknowledged write. The default cut (1.5 session
 *     timeouts after the election) ends before the SDK's request timeout (5 s), so writes reach X after the heal; with
 *     FAULT_ISOLATION_MS=12000 they still do (a client that reaches L stays on it: see test/fault/README.md).
 *
 * Checked: zero anomalies in the history (no acknowledged write lost, no duplicate, no two values at one offset, one
 * leader per leader epoch), no send failed, ≥ 100 acknowledged writes/s; no leader outside the ISR while L is cut off;
 * L's acknowledgements (its `samsa_produce_latency_seconds_count`, which grows only on a successful produce, read
 * straight from its port) stop by the cut in A and C.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { FaultCluster } from './support/cluster.js'
import { MetricWatch } from './support/metric-watch.js'
import { seededRandom, Workload } from './support/workload.js'
import { until } from '../support/until.js'

const SESSION_TIMEOUT_MS = 2_000
const REPLICA_LAG_TIME_MAX_MS = 2_000
const PARTITIONS = 3
/** How long L stays cut off after the majority side took its leadership (FAULT_ISOLATION_MS; default 1.5 session timeouts). */
const ISOLATION_MS = Number(process.env.FAULT_ISOLATION_MS ?? 1.5 * SESSION_TIMEOUT_MS)
/** Grows once per successful produce answer (the broker acknowledged a write). */
const ACKS_METRIC = 'samsa_produce_latency_seconds_count'

interface Variant {
  readonly key: string
  readonly title: string
  readonly minInsyncReplicas: number
  /** How many followers keep fetching from L in step 2: 0 shrinks the ISR to {L}, 1 to {L, X}. */
  readonly followersKept: 0 | 1
}

const VARIANTS: readonly Variant[] = [
  { key: 'A', title: 'min.insync.replicas 2, ISR shrunk to the leader: no election outside the ISR, the leader acknowledges nothing', minInsyncReplicas: 2, followersKept: 0 },
  { key: 'B', title: 'min.insync.replicas 1, ISR shrunk to the leader (Kafka 0.8): no election outside the ISR, nothing acknowledged lost', minInsyncReplicas: 1, followersKept: 0 },
  { key: 'C', title: 'min.insync.replicas 1, ISR shrunk to {leader, X}: X is elected, the old leader stops acknowledging at the cut', minInsyncReplicas: 1, followersKept: 1 },
]

let cluster: FaultCluster | null = null
let workload: Workload | null = null
let watch: MetricWatch | null = null
afterEach(async () => {
  await watch?.stop()
  await workload?.close()
  await cluster?.close()
  watch = workload = cluster = null
})

const sorted = (ids: readonly number[] | undefined) => [...(ids ?? [])].sort((a, b) => a - b).join(',')
const ms = (v: number | null) => (v === null ? 'none' : `${Math.round(v)} ms`)

describe('fault: the ISR shrinks to the leader, then the leader is cut from the controller but not from its clients', () => {
  for (const v of VARIANTS) {
    it(`${v.key}. ${v.title}`, async () => {
      const topic = `isolated-leader-${v.key.toLowerCase()}`
      const random = seededRandom()
      cluster = await FaultCluster.start({ sessionTimeoutMs: SESSION_TIMEOUT_MS, replicaLagTimeMaxMs: REPLICA_LAG_TIME_MAX_MS })
      await cluster.waitHealthy()
      const w = (workload = await Workload.start(cluster, { topic, partitions: PARTITIONS, minInsyncReplicas: v.minInsyncReplicas }))
      const c = cluster

      // 1. Load flows; pick a partition whose leader is not the active controller.
      await w.waitElapsed(3_000)
      const { leaderId: controller } = await c.waitHealthy()
      const leaders = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => c.waitLeader(topic, p)))
      const candidates = leaders.filter((m) => m.leader !== controller)
      expect(candidates.length).toBeGreaterThan(0)
      const target = candidates[Math.floor(random() * candidates.length)]!
      const p = target.partition
      const L = target.leader
      const followers = [...c.nodes.keys()].filter((id) => id !== L)
      const X = followers[Math.floor(random() * followers.length)]!
      const F = followers.find((id) => id !== X)!
      const expectedIsr = v.followersKept === 1 ? [L, X] : [L]
      watch = MetricWatch.start(c, L, ACKS_METRIC, { now: () => w.rec.now() })

      // 2. Cut the followers' fetches into L (not its Raft or controller links): the ISR shrinks through the controller.
      const shrinkAt = w.rec.now()
      c.cutReplication((v.followersKept === 1 ? [F] : followers).map((f) => [f, L] as const))
      const shrunk = await until(async () => {
        const m = await c.partition(L, topic, p)
        return m && m.leader === L && sorted(m.isr) === sorted(expectedIsr) ? m : null
      }, { timeoutMs: 30_000, what: `the ISR of ${topic}/${p} to shrink to {${expectedIsr.join(', ')}}` })
      const shrinkMs = w.rec.now() - shrinkAt
      // Let writes meet the shrunk ISR (refused under min.insync.replicas 2, acknowledged by L alone under 1).
      await w.waitElapsed(w.elapsed() + 1_500)

      // 3. Cut L from every other node; clients still reach it.
      await watch.sampleNow()
      const cutAt = w.rec.now()
      c.splitNetwork([[L], followers])
      // 4. The majority side takes L's leadership away: X elected (C), or the partition offline (A, B).
      const after = await until(async () => {
        const views = await Promise.all(followers.map((id) => c.partition(id, topic, p)))
        return views.find((m) => m && m.leaderEpoch > shrunk.leaderEpoch) ?? null
      }, { timeoutMs: 30_000, what: `the controller to take ${topic}/${p} from node ${L}` })
      const lostAt = w.rec.now()
      await w.waitElapsed(w.elapsed() + ISOLATION_MS)
      await watch.sampleNow()
      const healAt = w.rec.now()
      c.heal()

      const result = await w.finish()
      await watch.stop()

      // Who wrote what: each acknowledged write on the target partition, with the leader epoch its record carries.
      const acks = result.acked.filter((o) => o.partition === p).map((o) => ({ timeMs: o.timeMs, epoch: result.leaderEpochs.get(`${p}/${o.offset}`) ?? -1 }))
      const firstNewEpochAck = acks.filter((a) => a.epoch > shrunk.leaderEpoch && a.timeMs > cutAt).reduce<number | null>((t, a) => (t === null || a.timeMs < t ? a.timeMs : t), null)
      const newEpochs = [...new Set(acks.filter((a) => a.epoch > shrunk.leaderEpoch).map((a) => a.epoch))].sort((a, b) => a - b)
      const isolatedAcks = watch.growth(cutAt, healAt)
      const acksAfterLoss = watch.growth(lostAt, healAt)
      const lastAck = watch.lastGrowthBefore(healAt, cutAt)
      // Leaders seen for the target partition while L was cut off, other than L at its old epoch.
      const othersLeading = [...new Set(w.rec.leaderSamples
        .filter((s) => s.topic === topic && s.partition === p && s.timeMs >= cutAt && s.timeMs <= healAt && s.leader > 0 && s.leader !== L)
        .map((s) => s.leader))]
      const finalLeader = await c.waitLeader(topic, p)

      w.print(`isolated-leader ${v.key}`, result, [
        `${v.title}`,
        `target ${topic}/${p}: leader ${L} at epoch ${shrunk.leaderEpoch}, controller ${controller}; ISR {${expectedIsr.join(', ')}} ${Math.round(shrinkMs)} ms after the fetch cut`,
        `cut of node ${L} → its leadership gone on the majority side: ${ms(lostAt - cutAt)} (now leader ${after.leader} at epoch ${after.leaderEpoch}, ISR {${(after.isr ?? []).join(', ')}}); healed ${ms(healAt - cutAt)} after the cut`,
        `node ${L} while cut off: ${isolatedAcks} produce acknowledgements (${acksAfterLoss} after its leadership was gone); cut → its last acknowledgement: ${lastAck === null ? 'none after the cut' : ms(lastAck - cutAt)}`,
        `cut → first acknowledged write at a newer leader epoch: ${ms(firstNewEpochAck === null ? null : firstNewEpochAck - cutAt)} (epochs ${newEpochs.join(', ') || 'none'}; heal → it: ${ms(firstNewEpochAck === null ? null : firstNewEpochAck - healAt)})`,
        `leaders other than ${L} seen while it was cut off: [${othersLeading.join(', ')}]; after the heal: node ${finalLeader.leader} at epoch ${finalLeader.leaderEpoch}`,
      ])
      w.expectClean(result)

      if (v.followersKept === 0) {
        // No election outside the ISR: the partition stays offline until L returns, and L leads it again.
        expect(after.leader).toBe(-1)
        expect(othersLeading).toEqual([])
        expect(finalLeader.leader).toBe(L)
      } else {
        expect(after.leader).toBe(X)
        expect(othersLeading).toEqual([X])
        expect(firstNewEpochAck).not.toBeNull()
      }
      if (v.minInsyncReplicas === 2 || v.followersKept === 1) {
        // L acknowledges nothing once it can no longer reach the ISR it is bound to: its last acknowledgement is
        // before its leadership was taken, and within the session timeout of the cut (in practice: at the cut).
        expect(acksAfterLoss).toBe(0)
        if (lastAck !== null) expect(lastAck - cutAt).toBeLessThanOrEqual(SESSION_TIMEOUT_MS)
      }
      if (v.minInsyncReplicas === 2) expect(isolatedAcks).toBe(0)
    })
  }
})
