/**
 * Scenario "CRC damage": a follower's committed data fails its CRC after a crash, it restarts at once, and it is elected
 * as soon as it is back in the ISR.
 *
 * Bit rot or a bad sector damages a committed batch in place: it keeps its length, the batches after it are intact,
 * so recovery cannot take it for a torn write. A single node refuses to open such a log (no other copy); a replica
 * cuts its log at the damage, sets the rest aside (`.damaged` files), names the partition as incomplete when it
 * registers (the controller takes it out of the ISR even where its old registration still stood), and fetches the
 * records again from its leader, which adds it back to the ISR once it has caught up (log-recovery.ts,
 * partition-elections.ts).
 *
 * Schedule: a 3-node cluster (`--fsync always`, the default), topic RF 3, min.insync.replicas 2, the usual load
 * (support/workload.ts). At 30 % of the schedule the follower the controller would elect next (the first replica after
 * the leader in replica order) is killed with SIGKILL and one byte of a committed batch (below the high watermark the
 * cluster showed before the kill, with intact batches after it) is flipped in its active segment. It restarts at once;
 * as soon as it is back in the ISR under its new registration the leader is killed, so it is elected. The old leader
 * restarts once a new leader serves.
 *
 * Why nothing may be lost: every acknowledged record was on the two other replicas, and the damaged one rejoins the
 * ISR only once it holds everything up to the high watermark again. So the history check must find zero anomalies,
 * and after the run every replica must hold the same log, byte for byte (the repaired one included). *
 * Second schedule, damage found while running: at 30 % of the schedule one byte of a committed batch is flipped in the
 * running LEADER's active segment, and a reader fetches from that batch (the workload's consumer is past it). The
 * leader checks what it serves: the fetch fails NOT_LEADER_OR_FOLLOWER, the leader stops serving the partition, reopens
 * its log through recovery (cut at the damage, the rest set aside) and names the replica incomplete in its next
 * heartbeat; the controller elects another ISR member, and the damaged replica repairs from it and rejoins the ISR.
 * Same expectations: zero anomalies, every replica identical on disk after the run.
 */
import { readdir } from 'node:fs/promises'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { until } from '../support/until.js'
import { FaultCluster } from './support/cluster.js'
import { damageCommittedBatch } from './support/disk-damage.js'
import { partitionDir, stopAndCompareReplicas } from './support/power-loss.js'
import { rejoinThenKillLeader } from './support/rejoin-then-kill.js'
import { DURATION_MS, seededRandom, Workload } from './support/workload.js'
import { exchanges } from '../../packages/shared/src/index.js'
import { RawConnection } from '../support/raw-connection.js'

const TOPIC = 'crc-damage'

let cluster: FaultCluster | null = null
let workload: Workload | null = null
let failed = false
async function cleanUp(): Promise<void> {
  if (failed) {
    workload?.dump(40)
    console.log(`consumer errors: ${JSON.stringify(workload?.consumerErrors)}; gaps: ${JSON.stringify(workload?.gaps)}`)
  }
  await workload?.close()
  await cluster?.close()
  workload = null
  cluster = null
  failed = false
}
afterEach(cleanUp)
afterAll(cleanUp)

describe('fault: CRC damage (a follower restarts with a committed batch damaged in place and is elected at once)', () => {
  it('the damaged follower repairs from the leader and is elected as soon as it is back in the ISR: nothing acknowledged is lost, replicas agree', async ({ onTestFailed }) => {
    onTestFailed(() => void (failed = true))
    cluster = await FaultCluster.start({ sessionTimeoutMs: 2_000 })
    await cluster.waitHealthy()
    const w = (workload = await Workload.start(cluster, { topic: TOPIC }))
    const rand = seededRandom()

    await w.waitElapsed(DURATION_MS * 0.3)
    const before = await cluster.waitLeader(TOPIC, 0, (p) => p.isr?.length === 3)
    const leader = before.leader
    // The controller elects the first ISR member in replica order: this follower, once it is back in the ISR.
    const victim = before.replicas!.find((r) => r !== leader)!
    await cluster.kill(victim)
    const damage = await damageCommittedBatch(cluster.node(victim), TOPIC, 0, before.highWatermark, (n) => Math.floor(rand() * n))
    const ackedAtKill = w.rec.ops.filter((o) => o.f === 'send' && o.type === 'ok')
    const ackedCut = ackedAtKill.filter((o) => o.offset! >= damage.firstOffset).length

    const restartedAt = w.rec.now()
    await cluster.restart(victim)
    const cutLine = await cluster.waitLog(victim, 0, (l) => typeof l.msg === 'string' && l.msg.startsWith('cut the log at damaged data'), 'the cut at the damage')
    const registered = await cluster.waitLog(victim, 0, (l) => l.msg === 'broker registered with the controller', 'its registration')
    // Back in the ISR under its NEW registration, then the leader is killed.
    const { backInIsrMs, after, leaderMs, nextAckMs } = await rejoinThenKillLeader(cluster, w, TOPIC, victim, restartedAt, before)

    const result = await w.finish()
    const setAside = (await readdir(partitionDir(cluster.node(victim), TOPIC, 0))).filter((n) => n.endsWith('.damaged'))
    const replicas = await stopAndCompareReplicas(cluster, TOPIC, 0)
    w.print('crc-damage', result, [
      `damage on follower ${victim}: batch ${damage.firstOffset}..${damage.lastOffset} (high watermark ${before.highWatermark}), ${damage.intactAfter} intact batches after it; recovery: ${String(cutLine.reason)}; acknowledged records cut from its log: ${ackedCut}`,
      `registered naming ${JSON.stringify(registered.incompleteReplicas)}; restart → back in the ISR: ${Math.round(backInIsrMs)} ms; leader ${leader} killed → node ${after.leader} leads at epoch ${after.leaderEpoch}: ${Math.round(leaderMs)} ms / next acknowledged write ${Math.round(nextAckMs)} ms`,
      `replicas on disk: log ends ${JSON.stringify(replicas.logEnds)}, ${replicas.batches} batches, divergences: ${replicas.divergences.length === 0 ? 'none' : replicas.divergences.join('; ')}; set aside on node ${victim}: ${setAside.join(', ')}`,
    ])
    w.expectClean(result)
    expect(registered.incompleteReplicas).toEqual([{ topic: TOPIC, partition: 0 }])
    expect(after.leader, 'the repaired follower is the one elected').toBe(victim)
    expect(ackedCut, 'the cut took acknowledged records from the follower').toBeGreaterThan(0)
    expect(setAside).toHaveLength(1)
    expect(replicas.divergences).toEqual([])
  })
})

describe('fault: CRC damage found while running (a committed batch rots under the running leader and a reader reads it)', () => {
  it('the leader stops serving, reopens and reports the replica, another ISR member leads, the damaged replica repairs and rejoins: nothing acknowledged is lost, replicas agree', async ({ onTestFailed }) => {
    onTestFailed(() => void (failed = true))
    const topic = `${TOPIC}-running`
    // The batches last written are served from memory (the tail cache), where rot on disk cannot reach them; without
    // it the reader's batch comes from storage, as any batch does once newer ones have pushed it out of the cache.
    cluster = await FaultCluster.start({ sessionTimeoutMs: 2_000, extraArgs: ['--tail-cache-bytes', '0'] })
    await cluster.waitHealthy()
    const w = (workload = await Workload.start(cluster, { topic }))
    const rand = seededRandom()

    await w.waitElapsed(DURATION_MS * 0.3)
    const before = await cluster.waitLeader(topic, 0, (p) => p.isr?.length === 3)
    const leader = before.leader
    const mark = cluster.logMark(leader)
    const damage = await damageCommittedBatch(cluster.node(leader), topic, 0, before.highWatermark, (n) => Math.floor(rand() * n), { running: true })
    const damagedAt = w.rec.now()
    const reader = await RawConnection.open(cluster.node(leader).proxy.url)
    const read = await reader.request(exchanges.fetch, { topic, partition: 0, offset: damage.firstOffset, maxBytes: 1 << 20, maxWaitMs: 0, minBytes: 0 })
    reader.close()
    const found = await cluster.waitLog(leader, mark, (l) => typeof l.msg === 'string' && l.msg.startsWith('a read found this replica damaged'), 'the leader finding the damage')
    const after = await cluster.waitLeader(topic, 0, (p) => p.leader !== leader && p.leaderEpoch > before.leaderEpoch)
    const leaderMs = w.rec.now() - damagedAt
    const nextOk = await w.nextAckAfter(damagedAt)
    await until(async () => (await cluster!.partition(after.leader, topic, 0))?.isr?.includes(leader), { timeoutMs: 60_000, what: `node ${leader} back in the ISR of ${topic}/0` })
    const backInIsrMs = w.rec.now() - damagedAt

    const result = await w.finish()
    const setAside = (await readdir(partitionDir(cluster.node(leader), topic, 0))).filter((n) => n.endsWith('.damaged'))
    const replicas = await stopAndCompareReplicas(cluster, topic, 0)
    w.print('crc-damage-running', result, [
      `damage under running leader ${leader}: batch ${damage.firstOffset}..${damage.lastOffset} (high watermark ${before.highWatermark}); the reader's fetch: ${read.ok ? 'served?!' : read.error.errorName}; found at offset ${String(found.offset)}`,
      `damaged → node ${after.leader} leads at epoch ${after.leaderEpoch}: ${Math.round(leaderMs)} ms / next acknowledged write ${Math.round(nextOk.timeMs - damagedAt)} ms; node ${leader} back in the ISR after ${Math.round(backInIsrMs)} ms`,
      `replicas on disk: log ends ${JSON.stringify(replicas.logEnds)}, ${replicas.batches} batches, divergences: ${replicas.divergences.length === 0 ? 'none' : replicas.divergences.join('; ')}; set aside on node ${leader}: ${setAside.join(', ')}`,
    ])
    w.expectClean(result)
    expect(read.ok ? 'served' : read.error.errorName).toBe('NOT_LEADER_OR_FOLLOWER')
    expect(found.offset).toBe(damage.firstOffset)
    expect(before.isr).toContain(after.leader)
    expect(leaderMs, 'leadership moved within the bound of one heartbeat round, not a session timeout').toBeLessThan(5_000)
    expect(setAside).toHaveLength(1)
    expect(replicas.divergences).toEqual([])
  })
})
