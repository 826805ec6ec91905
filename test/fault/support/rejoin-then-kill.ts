/**
 * The second half of the "a replica that lost committed data is elected" scenarios (kip101-loss, crc-damage): wait
 * until the restarted replica is unfenced and back in the ISR under its new registration, as its own metadata view
 * (past its registration) shows it, then kill the partition leader and time the failover; the killed node restarts.
 */
import type { PartitionMetadata } from '@samsa/shared'
import { until } from '../../support/until.js'
import type { FaultCluster } from './cluster.js'
import type { Workload } from './workload.js'

export interface RejoinThenKill {
  /** From `restartedAt` until the replica was back in the ISR. */
  readonly backInIsrMs: number
  readonly killedAt: number
  /** The partition after the kill, at a newer leader epoch than `before`. */
  readonly after: PartitionMetadata
  /** From the kill until a new leader was seen. */
  readonly leaderMs: number
  /** From the kill until the next acknowledged write. */
  readonly nextAckMs: number
}

export async function rejoinThenKillLeader(
  cluster: FaultCluster, w: Workload, topic: string, victim: number, restartedAt: number, before: PartitionMetadata,
): Promise<RejoinThenKill> {
  await until(async () => {
    const unfenced = cluster.node(victim).process?.logs.some((l) => l.msg === 'broker unfenced')
    return unfenced && (await cluster.partition(victim, topic, 0))?.isr?.includes(victim)
  }, { timeoutMs: 60_000, what: `node ${victim} back in the ISR of ${topic}/0` })
  const backInIsrMs = w.rec.now() - restartedAt
  const killedAt = w.rec.now()
  await cluster.kill(before.leader)
  const after = await cluster.waitLeader(topic, 0, (p) => p.leader !== before.leader && p.leaderEpoch > before.leaderEpoch)
  const leaderMs = w.rec.now() - killedAt
  const nextOk = await w.nextAckAfter(killedAt)
  await cluster.restart(before.leader)
  return { backInIsrMs, killedAt, after, leaderMs, nextAckMs: nextOk.timeMs - killedAt }
}
