/**
 * Scenario "client blackhole" (Redpanda's duplicates schedule): while an idempotent SDK producer (acks=all) streams
 * records (support/workload.ts), the clients' links to the partition leader become a blackhole mid-send — bytes stop
 * both ways and no close is seen by either side — and at the same moment leadership moves away from that node:
 * - `split`: the leader is cut from its peers (`splitNetwork([[leader], others])`), so the controller fences it and
 *   elects a new leader from the ISR; the old leader keeps running, unreachable;
 * - `kill`: the leader is killed with SIGKILL behind the blackhole (its clients see no close, only silence).
 * The SDK must notice by its own timeouts (request timeout, heartbeat), refresh metadata and resend the same batches
 * (same producer id, epoch and sequences) to the new leader, which answers the ones it already has with their
 * original offsets. Then the network heals (the old leader rejoins as a follower, or restarts) and the load finishes.
 * The recorded history must show zero anomalies: above all no duplicate, nothing acknowledged lost, no reordering.
 * Prints operation counts, per round blackhole → new leader → first acknowledgement of a send made after it, and how
 * many resends were acknowledged as duplicates (the SDK logs each).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { FaultCluster } from './support/cluster.js'
import { DURATION_MS, Workload, seededRandom } from './support/workload.js'
import { until } from '../support/until.js'

const TOPIC = 'client-blackhole'
type Variant = 'split' | 'kill'
/** The rounds of the run, in order (FAULT_VARIANTS=split,kill,… to choose). */
const VARIANTS = (process.env.FAULT_VARIANTS ?? 'split,kill').split(',').map((v) => v.trim()) as Variant[]

/**
 * SDK timeouts (FAULT_SDK='{…}' to override): a produce waits produceTimeoutMs + 5 s for its answer; unanswered, the
 * SDK probes the socket with a ping (heartbeatTimeoutMs) and, on silence, closes it, refreshes metadata and resends.
 * Periodic heartbeats keep their default interval (15 s), so it is the request timeout that finds the blackhole.
 * (With every SDK default it takes 30 + 5 + 10 s, or a heartbeat: 15 + 10 s.)
 */
const SDK: { requestTimeoutMs?: number; heartbeatIntervalMs?: number; heartbeatTimeoutMs?: number; produceTimeoutMs?: number } = JSON.parse(
  process.env.FAULT_SDK ?? '{"requestTimeoutMs":2000,"heartbeatTimeoutMs":2000,"produceTimeoutMs":2000}',
)
const DUPLICATE_ACK = 'batch acknowledged as a duplicate: the broker already had it (original offsets)'

let cluster: FaultCluster | null = null
let workload: Workload | null = null
afterAll(async () => {
  await workload?.close()
  await cluster?.close()
})

interface Round {
  readonly variant: Variant
  readonly oldLeader: number
  readonly newLeader: number
  /** Sends invoked before the blackhole and still unanswered at it: the batches that had to be resent. */
  readonly inFlight: number
  readonly leaderMs: number
  readonly ackMs: number
}

describe('fault: a client blackholed from the partition leader while leadership moves', () => {
  it(`${VARIANTS.join(' + ')}: the SDK times out, follows the new leader and resends without a duplicate`, async () => {
    expect(VARIANTS.every((v) => v === 'split' || v === 'kill')).toBe(true)
    cluster = await FaultCluster.start({ sessionTimeoutMs: 2_000 })
    await cluster.waitHealthy()
    const w = (workload = await Workload.start(cluster, { topic: TOPIC, ...SDK }))
    const random = seededRandom()

    const rounds: Round[] = []
    const gapMs = DURATION_MS / (VARIANTS.length + 1)
    for (const [k, variant] of VARIANTS.entries()) {
      // Somewhere in the middle of the round's slice of the schedule, always with sends in flight (one every 5 ms).
      await w.waitElapsed(Math.max(gapMs * (k + 1) + (random() - 0.5) * gapMs * 0.4, w.elapsed()))
      const before = await cluster.waitLeader(TOPIC, 0)
      const others = [...cluster.nodes.keys()].filter((id) => id !== before.leader)
      // Mid-send: the fault goes in the same turn of the event loop that sees a send unanswered.
      await until(() => unansweredAt(w, w.rec.now()) > 0, { timeoutMs: 5_000, what: 'a send in flight' })
      const at = w.rec.now()
      cluster.blackholeClients(before.leader)
      if (variant === 'split') cluster.splitNetwork([[before.leader], others])
      else await cluster.kill(before.leader)

      const after = await cluster.waitLeader(TOPIC, 0, (p) => p.leader !== before.leader && p.leaderEpoch > before.leaderEpoch)
      const leaderMs = w.rec.now() - at
      const nextOk = await w.nextAckInvokedAfter(at)
      const inFlight = unansweredAt(w, at)
      rounds.push({ variant, oldLeader: before.leader, newLeader: after.leader, inFlight, leaderMs: Math.round(leaderMs), ackMs: Math.round(nextOk.timeMs - at) })

      cluster.heal()
      if (variant === 'kill') await cluster.restart(before.leader)
      await cluster.waitLeader(TOPIC, 0, (p) => p.isr?.length === 3, 60_000)
    }

    const result = await w.finish()
    w.print('client-blackhole', result, [
      `SDK: ${JSON.stringify(SDK)}`,
      `rounds (blackhole → new leader / → first ack of a send made after it; sends unanswered at the blackhole): ${rounds
        .map((r) => `${r.variant} node ${r.oldLeader}→${r.newLeader}: ${r.leaderMs} ms / ${r.ackMs} ms; ${r.inFlight} in flight`)
        .join('; ')}`,
      `resends the new leader acknowledged as duplicates (original offsets): ${w.sdkMessages.get(DUPLICATE_ACK) ?? 0}`,
      `bytes discarded by the blackholes: ${[...cluster.nodes.values()].map((n) => `node ${n.id} ${n.proxy.blackholedBytes}`).join(', ')}`,
    ])
    w.expectClean(result)
    expect(rounds).toHaveLength(VARIANTS.length)
    expect(rounds.every((r) => r.inFlight > 0)).toBe(true)
  })
})

/** Sends invoked before `timeMs` and not completed by then. */
function unansweredAt(w: Workload, timeMs: number): number {
  const open = new Set<number>()
  for (const o of w.rec.ops) {
    if (o.f !== 'send') continue
    if (o.type === 'invoke' && o.timeMs <= timeMs) open.add(o.id)
    else if (o.type !== 'invoke' && o.timeMs <= timeMs) open.delete(o.id)
  }
  return open.size
}
