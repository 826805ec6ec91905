/**
 * Scenario "network partition": only the majority makes progress, never two leaders.
 *
 * 1. Majority/minority on 3 nodes: under load, `splitNetwork([[x], [y, z]])` SPLITS times, x chosen by role in a
 *    seeded order (the partition leader, the active controller, a plain follower), each split held past the session
 *    timeout, then healed and the ISR waited on until it is full again. Clients still reach every node. While cut off,
 *    x's high watermark must not move (a minority node commits, hence acknowledges, nothing with acks=all) and a probe
 *    write sent to x through its client link is not acknowledged; the majority elects a leader or shrinks the ISR and
 *    a probe write sent to its leader is acknowledged (recorded in the history); x's uncommitted tail is truncated on
 *    return (the history check would see it as a lost or changed acknowledged record otherwise). The workload's own
 *    producer is only reported on: an SDK producer whose partition leader is cut off waits on it (see README).
 * 2. Ring on 5 nodes (topic RF 3): each node keeps peer links only to its two ring neighbours, held, healed. Progress
 *    may pause (fenced brokers, a follower that cannot reach its leader), but never two leaders in one leader epoch or
 *    two controller leaders in one term, and no anomaly.
 *
 * The recorded history of each test is checked (support/workload.ts) and must show zero anomalies. Per split it
 * prints: split → majority leader (a majority-side leader whose ISR no longer holds the cut-off node) ms, → next
 * acknowledged write committed after the split ms, heal → full ISR ms.
 */
import { loadavg } from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import type { PartitionMetadata } from '@samsa/shared'
import { FaultCluster } from './support/cluster.js'
import { seededRandom, Workload } from './support/workload.js'
import { until } from '../support/until.js'

const SESSION_MS = 2_000
/** How long each split or ring is held: past the session timeout, so the cut-off nodes are fenced. */
const HOLD_MS = Number(process.env.FAULT_HOLD_MS ?? SESSION_MS + 3_000)
const SPLITS = Number(process.env.FAULT_SPLITS ?? 3)
const RINGS = Number(process.env.FAULT_RINGS ?? 2)

let cluster: FaultCluster | null = null
let workload: Workload | null = null
afterEach(async () => {
  await workload?.close()
  await cluster?.close()
  workload = null
  cluster = null
})

function shuffle<T>(xs: readonly T[], rng: () => number): T[] {
  const a = [...xs]
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    ;[a[i], a[j]] = [a[j]!, a[i]!]
  }
  return a
}

/** The highest high watermark any node reports: everything committed so far. */
function committed(views: Map<number, PartitionMetadata | null>): number {
  return Math.max(0, ...[...views.values()].map((v) => v?.highWatermark ?? 0))
}

/** The first acknowledged send received after `afterMs` at an offset not yet committed at the fault; null by `deadlineMs`. */
async function nextCommittedAck(w: Workload, afterMs: number, fromOffset: number, deadlineMs: number): Promise<number | null> {
  const find = () => w.rec.ops.find((o) => o.type === 'ok' && o.f === 'send' && o.process !== 'probe' && o.timeMs > afterMs && o.offset! >= fromOffset)
  try {
    const op = await until(() => find() ?? (w.rec.now() > deadlineMs ? 'none' : null), { timeoutMs: Math.max(0, deadlineMs - w.rec.now()) + 5_000 })
    return op === 'none' ? null : Math.round(op.timeMs - afterMs)
  } catch {
    return null
  }
}

/** The two ring neighbours of `id` in `order`. */
function neighbours(order: readonly number[], id: number): number[] {
  const i = order.indexOf(id)
  return [order[(i + order.length - 1) % order.length]!, order[(i + 1) % order.length]!]
}

type Role = 'leader' | 'controller' | 'follower'

describe('fault: network partitions', () => {
  it(`majority/minority split ${SPLITS} times (leader, controller, follower cut off): the minority acknowledges nothing`, async () => {
    cluster = await FaultCluster.start({ sessionTimeoutMs: SESSION_MS })
    await cluster.waitHealthy()
    const topic = 'split'
    const w = (workload = await Workload.start(cluster, { topic }))
    const rng = seededRandom()
    const roles = shuffle<Role>(['leader', 'controller', 'follower'], rng)
    const ids = [...cluster.nodes.keys()]

    const lines: string[] = []
    const moved: { node: number; role: string; hwAtSplit: number; hwAtHeal: number }[] = []
    const stillController: { node: number; role: string; term: number | null }[] = []
    const minorityAcks: { node: number; offset: number }[] = []
    for (let k = 0; k < SPLITS; k++) {
      await w.waitElapsed(Math.max(2_000, w.elapsed() + 1_000))
      const before = await cluster.waitLeader(topic, 0, (m) => m.isr?.length === 3, 60_000)
      const { leaderId: controller } = await cluster.waitHealthy(60_000)
      const role = roles[k % roles.length]!
      const plain = ids.filter((id) => id !== before.leader && id !== controller)
      const x = role === 'leader' ? before.leader : role === 'controller' ? controller : plain[Math.floor(rng() * plain.length)]!
      const label = [x === before.leader && 'leader', x === controller && 'controller'].filter(Boolean).join('+') || 'follower'
      const majority = ids.filter((id) => id !== x)

      const splitAt = w.rec.now()
      cluster.splitNetwork([[x], majority])
      // With the full ISR cut apart nothing can commit until the controller changes the ISR: this is all that committed.
      const atSplit = await cluster.partitionViews(topic, 0)
      const committedAtSplit = committed(atSplit)
      const hwAtSplit = atSplit.get(x)?.highWatermark ?? -1

      const after = await cluster.waitLeader(topic, 0, (m) => majority.includes(m.leader) && !(m.isr ?? []).includes(x), 30_000)
      const leaderMs = Math.round(w.rec.now() - splitAt)
      // Probes through the client links: the majority's leader acknowledges a write (recorded in the history), the
      // cut-off node does not (not recorded: should it ever commit, the history check reads it as an unexpected value).
      const probe = w.rec.invoke('send', 'probe', `probe-${k + 1}`, 0)
      let probeMs = -1
      const [majorityProbe, minorityProbe] = await Promise.all([
        cluster.probeProduce(after.leader, topic, 0, [`probe-${k + 1}`], 5_000).then((r) => ((probeMs = Math.round(w.rec.now() - splitAt)), r)),
        cluster.probeProduce(x, topic, 0, [`minority-${k + 1}`], 2_000),
      ])
      if (majorityProbe.ok) probe.ok({ partition: 0, offset: majorityProbe.baseOffset })
      else probe.unknown(new Error(majorityProbe.error))
      if (minorityProbe.ok) minorityAcks.push({ node: x, offset: minorityProbe.baseOffset })
      const ackMs = await nextCommittedAck(w, splitAt, committedAtSplit, splitAt + HOLD_MS)
      await w.waitElapsed(splitAt - w.t0 + HOLD_MS)

      const atEnd = await cluster.partition(x, topic, 0)
      const xStatus = await cluster.status(x)
      const healAt = w.rec.now()
      cluster.heal()
      await cluster.waitLeader(topic, 0, (m) => m.isr?.length === 3, 60_000)
      const healMs = Math.round(w.rec.now() - healAt)

      const hwAtHeal = atEnd?.highWatermark ?? -1
      if (hwAtHeal !== hwAtSplit) moved.push({ node: x, role: label, hwAtSplit, hwAtHeal })
      if (xStatus?.role === 'leader') stillController.push({ node: x, role: xStatus.role, term: xStatus.term })
      const during = w.rec.ops.filter((o) => o.type === 'ok' && o.f === 'send' && o.process !== 'probe' && o.timeMs > splitAt && o.timeMs <= healAt)
      const late = during.filter((o) => o.offset! < committedAtSplit).length
      lines.push(
        `split ${k + 1}: node ${x} (${label}) cut from ${majority.join(',')}; leader ${before.leader}@${before.leaderEpoch} → ${after.leader}@${after.leaderEpoch} isr [${after.isr?.join(',')}]; ` +
          `split → majority leader ${leaderMs} ms, → probe acked by it ${probeMs} ms, → next workload ack ${ackMs ?? 'none during the split'}${ackMs === null ? '' : ' ms'}, heal → full ISR ${healMs} ms; ` +
          `probe of the cut-off node: ${minorityProbe.ok ? `ACKNOWLEDGED at ${minorityProbe.baseOffset}` : minorityProbe.error}; ` +
          `minority HW ${hwAtSplit} → ${hwAtHeal} (log end ${atEnd?.logEndOffset ?? '?'}), controller view ${xStatus?.role}/term ${xStatus?.term}; ` +
          `acks during split ${during.length} (${late} committed before it)`,
      )
    }

    const result = await w.finish()
    w.print('network-partition/split', result, lines)
    w.expectClean(result)
    expect(moved, 'a minority node advanced its high watermark').toEqual([])
    expect(stillController, 'a minority node still leads the controller quorum at the end of its split').toEqual([])
    expect(minorityAcks, 'a write acknowledged by a node cut off from the majority').toEqual([])
    expect(lines).toHaveLength(SPLITS)
  })

  it(`ring partition on 5 nodes ${RINGS} times: progress may pause, never two leaders`, async () => {
    const startedAt = performance.now()
    cluster = await FaultCluster.start({ nodes: 5, sessionTimeoutMs: SESSION_MS })
    await cluster.waitHealthy(60_000)
    const startMs = Math.round(performance.now() - startedAt)
    const topic = 'ring'
    const w = (workload = await Workload.start(cluster, { topic }))
    const rng = seededRandom()
    const ids = [...cluster.nodes.keys()]

    const lines: string[] = [`5 nodes up and healthy in ${startMs} ms`]
    for (let k = 0; k < RINGS; k++) {
      await w.waitElapsed(Math.max(3_000, w.elapsed() + 1_500))
      const before = await cluster.waitLeader(topic, 0, (m) => m.isr?.length === 3, 60_000)
      const { leaderId: controller, term } = await cluster.waitHealthy(60_000)
      const order = shuffle(ids, rng)

      const splitAt = w.rec.now()
      cluster.ringPartition(order)
      const committedAtSplit = committed(await cluster.partitionViews(topic, 0))
      const ackMs = await nextCommittedAck(w, splitAt, committedAtSplit, splitAt + HOLD_MS)
      await w.waitElapsed(splitAt - w.t0 + HOLD_MS)

      const healAt = w.rec.now()
      cluster.heal()
      const after = await cluster.waitLeader(topic, 0, (m) => m.isr?.length === 3, 60_000)
      const healMs = Math.round(w.rec.now() - healAt)
      const load = loadavg()[0]!.toFixed(2)
      const ackAfterHealMs = ackMs === null ? await nextCommittedAck(w, healAt, committedAtSplit, healAt + 30_000) : null

      const window = (s: { timeMs: number }) => s.timeMs > splitAt && s.timeMs <= healAt
      const leaders = [...new Set(w.rec.leaderSamples.filter(window).filter((s) => s.leader > 0).map((s) => `${s.leader}@${s.leaderEpoch}`))]
      const controllers = [...new Set(w.rec.controllerSamples.filter(window).filter((s) => s.leaderId !== null).map((s) => `${s.leaderId}@t${s.term}`))]
      const acks = w.rec.ops.filter((o) => o.type === 'ok' && o.f === 'send' && window(o) && o.offset! >= committedAtSplit).length
      lines.push(
        `ring ${k + 1}: ${order.join('-')}-${order[0]}; replicas [${before.replicas?.join(',')}] leader ${before.leader}@${before.leaderEpoch}, controller ${controller}@t${term}; ` +
          `cut from the controller: ${ids.filter((id) => id !== controller && !neighbours(order, controller).includes(id)).join(',')}; ` +
          `seen during ring: partition leaders ${leaders.join(' ')}, controllers ${controllers.join(' ')}; ` +
          `split → next ack ${ackMs === null ? `none during the ring (${ackAfterHealMs ?? 'none'} ms after heal)` : `${ackMs} ms`}, ${acks} acks committed during it; ` +
          `heal → full ISR ${healMs} ms (leader ${after.leader}@${after.leaderEpoch}); load average ${load}`,
      )
    }

    const result = await w.finish()
    w.print('network-partition/ring', result, lines)
    w.expectClean(result)
    expect(lines).toHaveLength(RINGS + 1)
  })
})
