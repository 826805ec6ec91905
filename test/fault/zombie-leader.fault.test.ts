/**
 * Scenario "zombie leader" (NATS JetStream / Redpanda style zombie acknowledgement): a 3-node cluster of real
 * processes; a topic with replication factor 3 and min.insync.replicas 2; an idempotent SDK producer (acks=all) and
 * an SDK consumer (support/workload.ts). PAUSES times during the load the leader of a partition is paused with
 * SIGSTOP past the session timeout: the controller fences it and elects a new leader from the ISR, which takes
 * writes; the old leader stays paused a little longer, then resumes with SIGCONT still believing it leads. It must
 * acknowledge nothing (acks=all needs an ISR whose followers have left it) until it learns from the metadata log that
 * it follows, and its clients must move to the new leader without loss or duplicate. The recorded history must show
 * zero anomalies.
 *
 * Two variants: the partition leader alone, and the active controller that also leads a partition (it resumes as a
 * stale Raft leader too). Per cycle it prints pause → new leader, pause → next acknowledged write to that partition,
 * and resume → the zombie's "became follower" (from its own log line's time).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { decodeResponseFrame, encodeRecordBatch, encodeRequestFrame, exchanges, type PartitionMetadata } from '@samsa/shared'
import { RawConnection } from '../support/raw-connection.js'
import { FaultCluster, logTimeMs } from './support/cluster.js'
import { DURATION_MS, Workload } from './support/workload.js'

const PAUSES = Number(process.env.FAULT_PAUSES ?? 3)
/** How long the old leader stays paused after the new leader acknowledged a write. */
const HOLD_MS = Number(process.env.FAULT_HOLD_MS ?? 1_000)
const SESSION_TIMEOUT_MS = 2_000
/** How long after the pause an acknowledged write to the partition may take. */
const ACK_TIMEOUT_MS = 60_000

interface Victim {
  readonly node: number
  readonly partition: number
  readonly before: PartitionMetadata
  /** The controller term when the victim is the active controller. */
  readonly controllerTerm?: number
}

interface Cycle {
  readonly node: number
  readonly partition: number
  readonly newLeader: number
  readonly pausedMs: number
  readonly leaderMs: number
  readonly writeMs: number
  /** resume → the zombie's own "became follower" for the partition (its log line's time). */
  readonly noticedMs: number
  /** Controller variant: pause → a new active controller; resume → the zombie's Raft "became follower". */
  readonly controllerMs?: number
  readonly raftNoticedMs?: number
  /** What the zombie answered the probe (an acks=all produce queued on its socket while it was paused). */
  readonly probe: string
}

let cluster: FaultCluster | null = null
let workload: Workload | null = null
afterEach(async () => {
  await workload?.close()
  await cluster?.close()
  workload = null
  cluster = null
})

/**
 * An acks=all produce of `value` sent straight to `conn` (the old leader, paused): it waits in the socket until the
 * zombie resumes, which must refuse it. Its value would show in the drained log as an `unexpected` record if it
 * stayed; an acknowledgement is the zombie acknowledgement itself.
 */
async function probe(conn: RawConnection, topic: string, partition: number, value: string): Promise<string> {
  const batch = encodeRecordBatch({ records: [{ key: null, value: new TextEncoder().encode(value), headers: [], timestamp: Date.now() }] })
  const frame = encodeRequestFrame(exchanges.produce, conn.version, conn.nextCorrelationId(), { topic, partition, acks: -1, timeoutMs: 10_000, batch })
  try {
    const r = decodeResponseFrame(await conn.sendRaw(frame, 30_000))
    return r.error ? r.error.errorName : `ACKNOWLEDGED at offset ${exchanges.produce.decodeResponse(r.body).baseOffset}`
  } catch (e) {
    return `no answer: ${String((e as Error).message ?? e)}`
  }
}

/** When no new leader or no write comes: what every live node says (controller view, the partition) and its last log lines. */
async function explain(c: FaultCluster, topic: string, partition: number): Promise<void> {
  for (const id of c.live()) {
    console.log(`node ${id}: ${JSON.stringify(await c.status(id))}\n${topic}/${partition}: ${JSON.stringify(await c.partition(id, topic, partition))}`)
    console.log(c.node(id).process!.logs.slice(-40).map((l) => JSON.stringify(l)).join('\n'))
  }
}

/** Pauses `pick()`'s node PAUSES times spread over the schedule; every cycle ends with a full ISR on every partition. */
async function pauseCycles(c: FaultCluster, w: Workload, partitions: number, pick: () => Promise<Victim>): Promise<Cycle[]> {
  const cycles: Cycle[] = []
  const gapMs = DURATION_MS / (PAUSES + 1)
  for (let k = 0; k < PAUSES; k++) {
    await w.waitElapsed(Math.max(gapMs * (k + 1), w.elapsed()))
    const v = await pick()
    const mark = c.logMark(v.node)
    const probeConn = await RawConnection.open(c.node(v.node).proxy.url)
    const pausedAt = w.rec.now()
    c.pause(v.node)
    let controllerMs: number | undefined
    if (v.controllerTerm !== undefined) {
      const ctl = await c.activeController()
      expect(ctl.term).toBeGreaterThan(v.controllerTerm)
      controllerMs = Math.round(w.rec.now() - pausedAt)
    }
    const after = await c.waitLeader(w.topic, v.partition, (p) => p.leader !== v.node && p.leaderEpoch > v.before.leaderEpoch).catch(async (e: unknown) => {
      await explain(c, w.topic, v.partition)
      throw e
    })
    const leaderMs = Math.round(w.rec.now() - pausedAt)
    // The SDK finds a silent leader's socket by its heartbeat (a ping 15 s after the last pong, 10 s for the answer).
    const nextOk = await w.nextAckAfter(pausedAt, ACK_TIMEOUT_MS, v.partition).catch(async (e: unknown) => {
      console.log(`SDK warnings (last 40):\n${w.sdkLog.slice(-40).join('\n')}`)
      await explain(c, w.topic, v.partition)
      throw e
    })
    // Keep the zombie paused while the new leader takes writes, then let it run on its stale view.
    await w.waitElapsed(w.elapsed() + HOLD_MS)
    const probed = probe(probeConn, w.topic, v.partition, `zombie-probe-${k}`)
    const resumedAtWall = Date.now()
    const pausedMs = Math.round(w.rec.now() - pausedAt)
    c.resume(v.node)
    const follower = await c.waitLog(v.node, mark, (l) => l.msg === 'became follower' && l.topic === w.topic && l.partition === v.partition
      && typeof l.leaderEpoch === 'number' && l.leaderEpoch >= after.leaderEpoch, `"became follower" of ${w.topic}/${v.partition}`)
    let raftNoticedMs: number | undefined
    if (v.controllerTerm !== undefined) {
      const stepDown = await c.waitLog(v.node, mark, (l) => l.raft === v.node && typeof l.msg === 'string' && l.msg.includes('became follower at term'), 'a Raft step-down')
      raftNoticedMs = logTimeMs(stepDown) - resumedAtWall
    }
    const probeAnswer = await probed
    probeConn.close()
    for (let p = 0; p < partitions; p++) await c.waitLeader(w.topic, p, (m) => m.isr?.length === 3, 60_000)
    cycles.push({
      node: v.node, partition: v.partition, newLeader: after.leader, pausedMs, leaderMs, writeMs: Math.round(nextOk.timeMs - pausedAt),
      noticedMs: logTimeMs(follower) - resumedAtWall, probe: probeAnswer, ...(controllerMs !== undefined && { controllerMs, raftNoticedMs }),
    })
  }
  return cycles
}

function describeCycles(cycles: readonly Cycle[]): string[] {
  return cycles.map((x, i) => `pause ${i + 1}: node ${x.node} (partition ${x.partition}) paused ${x.pausedMs} ms → new leader ${x.newLeader}`
    + `${x.controllerMs !== undefined ? ` | pause → new controller ${x.controllerMs} ms` : ''}`
    + ` | pause → new leader ${x.leaderMs} ms | pause → next ack ${x.writeMs} ms | resume → zombie became follower ${x.noticedMs} ms`
    + `${x.raftNoticedMs !== undefined ? ` | resume → Raft step-down ${x.raftNoticedMs} ms` : ''}` + ` | probe: ${x.probe}`)
}

describe('fault: a paused partition leader resumes as a zombie', () => {
  it(`the partition leader paused past the session timeout ${PAUSES} times: zero anomalies, the zombie acknowledges nothing`, async () => {
    const topic = 'zombie-leader'
    cluster = await FaultCluster.start({ sessionTimeoutMs: SESSION_TIMEOUT_MS })
    await cluster.waitHealthy()
    const c = cluster
    const w = (workload = await Workload.start(c, { topic }))
    const cycles = await pauseCycles(c, w, 1, async () => {
      const before = await c.waitLeader(topic, 0)
      return { node: before.leader, partition: 0, before }
    })
    const result = await w.finish()
    w.print('zombie-leader', result, describeCycles(cycles))
    w.expectClean(result)
    expect(cycles).toHaveLength(PAUSES)
    for (const x of cycles) expect(x.probe).not.toMatch(/ACKNOWLEDGED|no answer/)
  })

  it(`the active controller, also a partition leader, paused past the session timeout ${PAUSES} times: zero anomalies`, async () => {
    const topic = 'zombie-controller'
    const partitions = 3
    cluster = await FaultCluster.start({ sessionTimeoutMs: SESSION_TIMEOUT_MS })
    await cluster.waitHealthy()
    const c = cluster
    const w = (workload = await Workload.start(c, { topic, partitions }))
    const cycles = await pauseCycles(c, w, partitions, async () => {
      const ctl = await c.activeController()
      // Three partitions, replicas placed round robin: the controller leads one of them unless it was the last node
      // paused (it lost its leaderships), and a resumed node does not win the controller back.
      for (let p = 0; p < partitions; p++) {
        const before = await c.waitLeader(topic, p)
        if (before.leader === ctl.leaderId) return { node: ctl.leaderId, partition: p, before, controllerTerm: ctl.term }
      }
      throw new Error(`the active controller ${ctl.leaderId} leads no partition of ${topic}`)
    })
    const result = await w.finish()
    w.print('zombie-controller', result, describeCycles(cycles))
    w.expectClean(result)
    expect(cycles).toHaveLength(PAUSES)
    for (const x of cycles) expect(x.probe).not.toMatch(/ACKNOWLEDGED|no answer/)
  })
})
