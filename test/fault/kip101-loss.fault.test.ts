/**
 * Scenario "KIP-101 loss": a follower restarts with a truncated tail and is elected at once.
 *
 * Kafka before KIP-101: a restarted follower cut its log to its high-watermark checkpoint (which lags the records it
 * held), rejoined, and when the leader died right after it was elected: records the old leader had acknowledged were
 * gone. Samsa truncates by leader epoch (OffsetsForLeaderEpoch) and never by high watermark, and a restarted broker
 * re-registers fenced, which takes it out of every ISR until it has caught up again.
 *
 * Schedule: a 3-node cluster with `--fsync never` on every node (so a power loss may take any suffix of a partition's
 * active segment; see support/power-loss.ts: under the default `always` a follower reports only fsynced records to the
 * leader, so a power loss could take none it had acknowledged and the scenario would test nothing), topic RF 3, min.insync.replicas 2, the usual load (support/workload.ts).
 * At 30 % of the schedule the follower the controller would elect next (the first replica after the leader in
 * replica order) is killed with SIGKILL and loses power: its active segment loses its last 50–400 batches (below the
 * high watermark: records it had acknowledged) but a torn fragment of the first of them, which recovery cuts off. It
 * restarts at once (its old registration still stands until its session expires); as soon as it is back in the ISR
 * under its new registration the leader is killed, so it is elected. The old leader restarts once a new leader serves.
 *
 * Why nothing may be lost: every acknowledged record was on the two other replicas (acks=all with the ISR of 3 or, while
 * the victim was out, of 2), and those lost no power (a process kill keeps the page cache). The victim rejoins the
 * ISR only holding everything up to the high watermark. So the history check must find zero anomalies, as in every
 * scenario, and after the run every replica must hold the same log, byte for byte.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { FaultCluster } from './support/cluster.js'
import { cutTail, stopAndCompareReplicas } from './support/power-loss.js'
import { rejoinThenKillLeader } from './support/rejoin-then-kill.js'
import { DURATION_MS, seededRandom, Workload } from './support/workload.js'

const TOPIC = 'kip101-loss'

let cluster: FaultCluster | null = null
let workload: Workload | null = null
let failed = false
afterAll(async () => {
  if (failed) {
    workload?.dump(40)
    console.log(`consumer errors: ${JSON.stringify(workload?.consumerErrors)}; gaps: ${JSON.stringify(workload?.gaps)}`)
  }
  await workload?.close()
  await cluster?.close()
})

describe('fault: KIP-101 loss (a follower restarts with a truncated tail and is elected at once)', () => {
  it('the power-cut follower is elected as soon as it is back in the ISR: nothing acknowledged is lost, replicas agree', async ({ onTestFailed }) => {
    onTestFailed(() => void (failed = true))
    cluster = await FaultCluster.start({ sessionTimeoutMs: 2_000, extraArgs: ['--fsync', 'never'] })
    await cluster.waitHealthy()
    const w = (workload = await Workload.start(cluster, { topic: TOPIC }))
    const rand = seededRandom()

    await w.waitElapsed(DURATION_MS * 0.3)
    const before = await cluster.waitLeader(TOPIC, 0, (p) => p.isr?.length === 3)
    const leader = before.leader
    // The controller elects the first ISR member in replica order: this follower, once it is back in the ISR.
    const victim = before.replicas!.find((r) => r !== leader)!
    await cluster.kill(victim)
    const ackedAtKill = w.rec.ops.filter((o) => o.f === 'send' && o.type === 'ok')
    const cut = await cutTail(cluster.node(victim), TOPIC, 0, (batches) => {
      const drop = Math.min(batches.length - 1, 50 + Math.floor(rand() * 351))
      return { keep: batches.length - drop, tornBytes: 1 + Math.floor(rand() * 200) }
    })
    const ackedLostOnVictim = ackedAtKill.filter((o) => o.offset! >= cut.logEndAfter).length

    const restartedAt = w.rec.now()
    await cluster.restart(victim)
    // Back in the ISR under its NEW registration: until its old session expires the controller refuses the new process
    // (its old registration still stands in the ISR, on paper); registering fences it and takes it out of the ISR, and
    // it is added again once unfenced and caught up. Then the leader is killed.
    const { backInIsrMs, after, leaderMs, nextAckMs } = await rejoinThenKillLeader(cluster, w, TOPIC, victim, restartedAt, before)

    if (after.leader !== victim || process.env.FAULT_DEBUG) {
      for (const n of cluster.nodes.values()) {
        const lines = (n.process?.logs ?? []).filter((l) => /fenc|regist|leader|controller|truncat|isr|torn/i.test(String(l.msg)))
        console.log(`node ${n.id}:\n${lines.slice(-30).map((l) => JSON.stringify(l)).join('\n')}`)
      }
    }
    const result = await w.finish()
    const victimLogs = [...(cluster.node(victim).process?.logs ?? [])]
    const replicas = await stopAndCompareReplicas(cluster, TOPIC, 0)
    const recovered = victimLogs.filter((l) => l.msg === 'cut a torn tail off the active segment').length
    w.print('kip101-loss', result, [
      `power cut of follower ${victim}: log end ${cut.logEndBefore} → ${cut.logEndAfter} (${cut.droppedBatches} batches, torn fragment ${cut.tornBytes} B, recovery cut ${recovered} torn tail(s)); acknowledged records it lost: ${ackedLostOnVictim}`,
      `restart → back in the ISR: ${Math.round(backInIsrMs)} ms; leader ${leader} killed → node ${after.leader} leads at epoch ${after.leaderEpoch}: ${Math.round(leaderMs)} ms / next acknowledged write ${Math.round(nextAckMs)} ms`,
      `replicas on disk: log ends ${JSON.stringify(replicas.logEnds)}, ${replicas.batches} batches, divergences: ${replicas.divergences.length === 0 ? 'none' : replicas.divergences.join('; ')}`,
    ])
    w.expectClean(result)
    expect(after.leader, 'the truncated follower is the one elected').toBe(victim)
    expect(ackedLostOnVictim, 'the power cut took acknowledged records from the follower').toBeGreaterThan(0)
    expect(recovered).toBe(cut.tornBytes > 0 ? 1 : 0)
    expect(replicas.divergences).toEqual([])
  })
})
