/**
 * Scenario "KIP-101 divergence": two replicas crash with unflushed tails (`--fsync never`) and restart in reverse order.
 *
 * Kafka before KIP-101: leader A and follower B lose power; B's log lost more than A's. B comes back first and leads,
 * writes new records at the offsets it lost; A comes back, truncates to its high watermark (which is above B's end)
 * and keeps its old records there: the replicas now hold different records at the same offsets, for good. Samsa
 * truncates by leader epoch: A asks the leader where A's last epoch ends and cuts its log there.
 *
 * Schedule: 5 nodes (every one a controller voter, so the metadata quorum survives two dead replicas and a leader can
 * still be elected), `--fsync never`, topic RF 3 (replicas L, F1, F2), min.insync.replicas 2, the usual load.
 *   1. F2 is killed (a plain SIGKILL): the ISR shrinks to {L, F1}; writes go on.
 *   2. L is killed; the controller elects F1 (the ISR becomes {F1}: writes wait, the ISR is below 2).
 *   3. F1 is killed. Both L and F1 lose power: F1's active segment loses its last 50–300 batches (cut at a batch
 *      boundary); L's loses fewer (it keeps at least half of its batches above F1's new end) and a torn fragment of
 *      the next remains, which recovery cuts off.
 *   4. Reverse order: F1 restarts first and leads again (the last member of the ISR, the only one it may elect);
 *      then L (it must truncate by leader epoch to exactly F1's end, then catch up; writes resume with it in the
 *      ISR), then F2.
 *
 * What may be lost, by design: with `--fsync never`, acknowledged means "written on every ISR member", not "on disk".
 * A power loss of every ISR member (here both L and F1, which held the only copies of everything above F2's end) may
 * lose acknowledged records, and so records consumers read. The records lost are exactly those at or above the offset
 * F1 (the replica elected) recovered to. So the check here is:
 *   - no divergence: after the run every replica holds the same log, byte for byte (support/power-loss.ts);
 *   - L truncated to F1's end (by leader epoch, not by its high watermark);
 *   - every history anomaly is a loss at or above F1's recovered end (a lost acknowledged write, a read that vanished, a
 *     new value at an offset whose old value was acknowledged or read); anything below it, and every other kind —
 *     duplicates, offset gaps, reordering within a producer, unexpected or aborted records, two leaders in one
 *     epoch — fails. The consumer runs with `reset: 'earliest'`: the truncation is reported to it as a typed gap,
 *     and within each consumer session (between such gaps) it never sees an offset twice or skips one.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { describeClusterReport } from '../support/cluster-history-checker.js'
import { FaultCluster } from './support/cluster.js'
import { cutTail, splitByLoss, stopAndCompareReplicas } from './support/power-loss.js'
import { DURATION_MS, seededRandom, Workload } from './support/workload.js'

const TOPIC = 'kip101-divergence'

let cluster: FaultCluster | null = null
let workload: Workload | null = null
let failed = false
afterAll(async () => {
  if (failed) workload?.dump(60)
  await workload?.close()
  await cluster?.close()
})

describe('fault: KIP-101 divergence (two replicas crash with unflushed tails and restart in reverse order)', () => {
  it('leader and follower lose power, the shorter log leads again: replicas converge, only the lost tail differs', async ({ onTestFailed }) => {
    onTestFailed(() => void (failed = true))
    cluster = await FaultCluster.start({ nodes: 5, sessionTimeoutMs: 2_000, extraArgs: ['--fsync', 'never'] })
    await cluster.waitHealthy()
    const w = (workload = await Workload.start(cluster, { topic: TOPIC, consumerReset: 'earliest' }))
    const rand = seededRandom()
    const c = cluster

    await w.waitElapsed(DURATION_MS * 0.2)
    const before = await c.waitLeader(TOPIC, 0, (p) => p.isr?.length === 3)
    const L = before.leader
    const [F1, F2] = before.replicas!.filter((r) => r !== L) as [number, number]
    const t0 = w.rec.now()
    const at = () => `${Math.round(w.rec.now() - t0)} ms`
    const steps: string[] = []

    await c.kill(F2)
    await c.waitLeader(TOPIC, 0, (p) => p.leader === L && p.isr?.includes(F2) === false)
    steps.push(`F2=${F2} killed, ISR without it: ${at()}`)
    await c.kill(L)
    const f1Leads = await c.waitLeader(TOPIC, 0, (p) => p.leader === F1 && p.leaderEpoch > before.leaderEpoch)
    steps.push(`L=${L} killed, F1=${F1} leads at epoch ${f1Leads.leaderEpoch}: ${at()}`)
    await c.kill(F1)
    steps.push(`F1 killed: ${at()}`)
    const acked = w.rec.ops.filter((o) => o.f === 'send' && o.type === 'ok')

    const cutF1 = await cutTail(c.node(F1), TOPIC, 0, (batches) => ({ keep: batches.length - Math.min(batches.length - 1, 50 + Math.floor(rand() * 251)), tornBytes: 0 }))
    const lossFrom = cutF1.logEndAfter
    const cutL = await cutTail(c.node(L), TOPIC, 0, (batches) => {
      const above = batches.findIndex((b) => b.header.baseOffset >= lossFrom) // L's first batch F1 no longer has
      if (above < 0) throw new Error(`L's log ends at or below F1's new end ${lossFrom}`)
      // L keeps at least half of the batches above F1's new end (the tail F1 will write other records over), and loses
      // at least the last one, of which a torn fragment remains.
      const lo = above + Math.ceil((batches.length - above) / 2)
      const hi = batches.length - 1
      const keep = lo <= hi ? lo + Math.floor(rand() * (hi - lo + 1)) : batches.length
      return { keep, tornBytes: 1 + Math.floor(rand() * 200) }
    })
    const ackedLost = acked.filter((o) => o.offset! >= lossFrom).length

    await c.restart(F1)
    const f1LeadsAgain = await c.waitLeader(TOPIC, 0, (p) => p.leader === F1 && p.leaderEpoch > f1Leads.leaderEpoch, 60_000)
    steps.push(`F1 restarted first, leads at epoch ${f1LeadsAgain.leaderEpoch}: ${at()}`)
    const lRestartedAt = w.rec.now()
    await c.restart(L)
    await c.waitLeader(TOPIC, 0, (p) => p.leader === F1 && p.isr?.includes(L) === true, 60_000)
    const resumed = await w.nextAckAfter(lRestartedAt, 60_000)
    steps.push(`L restarted, back in the ISR: ${at()}; next acknowledged write ${Math.round(resumed.timeMs - t0)} ms`)
    const lTruncations = c.node(L).process!.logs.filter((l) => l.msg === 'truncating by leader epoch').map((l) => ({ from: l.from, to: l.to }))
    const lTornTails = c.node(L).process!.logs.filter((l) => l.msg === 'cut a torn tail off the active segment').length
    await c.restart(F2)
    steps.push(`F2 restarted: ${at()}`)

    const result = await w.finish()
    const replicas = await stopAndCompareReplicas(c, TOPIC, 0)
    const { explained, violations } = splitByLoss(result.report.anomalies, { 0: lossFrom })
    const byKind = (list: readonly { kind: string }[]) => JSON.stringify(list.reduce<Record<string, number>>((m, a) => ({ ...m, [a.kind]: (m[a.kind] ?? 0) + 1 }), {}))
    w.print('kip101-divergence', result, [
      `replicas L=${L} F1=${F1} F2=${F2}; ${steps.join('; ')}`,
      `power cuts: F1 log end ${cutF1.logEndBefore} → ${cutF1.logEndAfter} (${cutF1.droppedBatches} batches); L ${cutL.logEndBefore} → ${cutL.logEndAfter} (${cutL.droppedBatches} batches, torn fragment ${cutL.tornBytes} B, recovery cut ${lTornTails})`,
      `L's truncation by leader epoch: ${JSON.stringify(lTruncations)}`,
      `acknowledged records at or above F1's recovered end ${lossFrom} (may be lost by design): ${ackedLost}; anomalies explained by the loss: ${byKind(explained)}; other anomalies: ${byKind(violations)}`,
      `replicas on disk: log ends ${JSON.stringify(replicas.logEnds)}, ${replicas.batches} batches, divergences: ${replicas.divergences.length === 0 ? 'none' : replicas.divergences.join('; ')}`,
    ])
    expect(replicas.divergences).toEqual([])
    expect(lTruncations, "L truncates to F1's end by leader epoch").toEqual([{ from: cutL.logEndAfter, to: lossFrom }])
    expect(lTornTails).toBe(1)
    expect(violations, describeClusterReport(result.report)).toEqual([])
    expect(w.consumerErrors).toEqual([])
    expect(cutL.logEndAfter).toBeGreaterThan(lossFrom)
  })
})
