/**
 * Scenario "leader kill": a 3-node cluster of real processes behind TCP proxies; a topic with replication factor 3
 * and min.insync.replicas 2; an SDK producer (acks=all, idempotent) sending ≥ 100 records/s for ~20 s and an SDK
 * consumer reading everything from the start. The partition leader is killed with SIGKILL KILLS times, each time
 * restarted on its data directory once a new leader serves writes. Afterwards a fresh client drains the partition
 * and the recorded history must show zero anomalies: no acknowledged record lost, no duplicate, no read that
 * vanished, one value per offset, each producer's records in send order, one leader per leader epoch, one
 * controller leader per term. Prints operation counts and each failover time (SIGKILL → next acknowledged write).
 */
import { afterAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { exchanges } from '@samsa/shared'
import { createClient, memoryStorage, type Logger, type SamsaClient } from '@samsa/client-browser'
import { RawConnection } from '../support/raw-connection.js'
import { checkClusterHistory, describeClusterReport, HistoryRecorder } from '../support/cluster-history-checker.js'
import { until } from '../support/until.js'
import { FaultCluster } from './support/cluster.js'

const TOPIC = 'leader-kill'
const KILLS = Number(process.env.FAULT_KILLS ?? 3)
const DURATION_MS = Number(process.env.FAULT_DURATION_MS ?? 20_000)
const SEND_INTERVAL_MS = 5 // ~200 sends/s offered; the floor asserted is 100 acknowledged/s

let cluster: FaultCluster | null = null
const clients: SamsaClient[] = []
afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))
  await cluster?.close()
})

/** The SDK's own log lines (FAULT_DEBUG=1 prints them with the report). */
const sdkLog: string[] = []
const debugLogger = (bindings: object): Logger => {
  const line = (level: string) => (fields: object, msg?: string) => {
    if (process.env.FAULT_DEBUG && level !== 'debug') sdkLog.push(`${performance.now().toFixed(0)} ${level} ${msg ?? ''} ${JSON.stringify({ ...bindings, ...fields })}`)
  }
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), child: (b) => debugLogger({ ...bindings, ...b }) }
}

function client(id: string): SamsaClient {
  const c = createClient({
    logger: debugLogger({ client: id }),
    brokers: cluster!.brokerUrls,
    clientId: id,
    WebSocket: WebSocket as never,
    storage: memoryStorage(),
    reconnectBackoff: { baseMs: 20, capMs: 250 },
    requestTimeoutMs: 5_000,
  })
  clients.push(c)
  return c
}

/** Samples every live node's view of the partition leader and of the controller, until stopped. */
function startSampler(rec: HistoryRecorder, c: FaultCluster): () => Promise<void> {
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      await Promise.all(c.live().map(async (id) => {
        const [p, s] = await Promise.all([c.partition(id, TOPIC, 0, 1_000), c.status(id, 1_000)])
        if (p) rec.sampleLeader({ observer: id, topic: TOPIC, partition: 0, leader: p.leader, leaderEpoch: p.leaderEpoch })
        if (s && s.term !== null) rec.sampleController({ observer: id, term: s.term, leaderId: s.leaderId })
      }))
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  return async () => {
    stopped = true
    await loop
  }
}

describe('fault: kill -9 of the partition leader under load', () => {
  it(`${KILLS} leader kills while producing and consuming: zero anomalies`, async () => {
    cluster = await FaultCluster.start({ sessionTimeoutMs: 2_000 })
    await cluster.waitHealthy()
    const admin = await RawConnection.open(`ws://127.0.0.1:${cluster.node(1).port}`)
    try {
      const created = await admin.request(exchanges.createTopic, { name: TOPIC, partitions: 1, replicationFactor: 3, minInsyncReplicas: 2 })
      expect(created).toEqual({ ok: true, value: { name: TOPIC, partitions: 1 } })
    } finally {
      admin.close()
    }
    await cluster.waitLeader(TOPIC, 0, (p) => p.isr?.length === 3)

    const rec = new HistoryRecorder()
    const stopSampler = startSampler(rec, cluster)

    // Consumer: everything from the start, recorded as it is delivered.
    const consumerClient = client('fault-consumer')
    const sub = consumerClient.consumer().subscribe(TOPIC, {
      from: 'earliest',
      partitions: [0],
      onRecord: (r) => rec.read('c1', { partition: r.partition, offset: r.offset }, r.text()),
    })

    // Producer: one record per tick, never awaited inline (a failover must not stop the offered load).
    const producer = client('fault-producer').producer({ acks: 'all', idempotent: true, lingerMs: 5, maxRetries: 1_000 })
    await producer.ready
    const t0 = rec.now()
    const maxSends = Math.ceil(DURATION_MS / SEND_INTERVAL_MS)
    const inFlight = new Set<Promise<void>>()
    let sent = 0
    const sending = (async () => {
      const timer = setInterval(() => {
        if (sent >= maxSends || rec.now() - t0 > DURATION_MS) return
        const value = `p1-${sent++}`
        const op = rec.invoke('send', 'p1', value, 0)
        const done = producer.send(TOPIC, [{ value, partition: 0 }]).then(
          ([m]) => op.ok({ partition: m!.partition, offset: m!.offset }),
          // The SDK retries lost connections itself; a rejection may still have reached the log.
          (e: unknown) => op.unknown(e),
        )
        inFlight.add(done)
        void done.finally(() => inFlight.delete(done))
      }, SEND_INTERVAL_MS)
      await until(() => sent >= maxSends || rec.now() - t0 > DURATION_MS, { timeoutMs: DURATION_MS + 10_000, what: 'the send schedule to end' })
      clearInterval(timer)
    })()

    // The faults: KILLS times, let writes flow, kill -9 the leader, wait for a new leader and an acknowledged
    // write after the kill, restart the old leader and wait until it is back in the ISR.
    const failovers: { killed: number; newLeader: number; leaderMs: number; writeMs: number }[] = []
    const killTimes: number[] = []
    const staleLeaderships: { node: number; leaderEpoch: number; currentEpoch: number }[] = []
    const gapMs = DURATION_MS / (KILLS + 1)
    for (let k = 0; k < KILLS; k++) {
      await until(() => rec.now() - t0 > gapMs * (k + 1), { timeoutMs: DURATION_MS * 2, what: `the time of kill ${k + 1}` })
      const before = await cluster.waitLeader(TOPIC, 0)
      const killedAt = rec.now()
      killTimes.push(Math.round(killedAt))
      await cluster.kill(before.leader)
      const after = await cluster.waitLeader(TOPIC, 0, (p) => p.leader !== before.leader && p.leaderEpoch > before.leaderEpoch)
      const leaderMs = rec.now() - killedAt
      const nextOk = await until(() => rec.ops.find((o) => o.type === 'ok' && o.f === 'send' && o.timeMs > killedAt), {
        timeoutMs: 30_000, what: `an acknowledged write after killing node ${before.leader}`,
      })
      failovers.push({ killed: before.leader, newLeader: after.leader, leaderMs: Math.round(leaderMs), writeMs: Math.round(nextOk.timeMs - killedAt) })
      await cluster.restart(before.leader)
      await cluster.waitLeader(TOPIC, 0, (p) => p.isr?.length === 3, 60_000)
      // The restarted node must not act as leader at an epoch the controller already replaced (its stale image).
      for (const l of cluster.node(before.leader).process!.logs) {
        if (l.msg === 'became leader' && l.topic === TOPIC && typeof l.leaderEpoch === 'number' && l.leaderEpoch < after.leaderEpoch) {
          staleLeaderships.push({ node: before.leader, leaderEpoch: l.leaderEpoch, currentEpoch: after.leaderEpoch })
        }
      }
    }

    await sending
    await until(async () => (await Promise.all([...inFlight]), inFlight.size === 0), { timeoutMs: 60_000, what: 'every send to settle' })
    await cluster.waitHealthy(60_000)
    const end = await cluster.waitLeader(TOPIC, 0, (p) => p.isr?.length === 3, 60_000)

    // The consumer catches up to the end (every acknowledged record is below the high watermark by now).
    const acked = rec.ops.filter((o) => o.f === 'send' && o.type === 'ok')
    const maxAcked = Math.max(...acked.map((o) => o.offset!))
    await until(() => rec.ops.some((o) => o.f === 'read' && o.type === 'ok' && o.offset! >= maxAcked), { timeoutMs: 30_000, what: `the consumer to read offset ${maxAcked}` })
    sub.close()
    await stopSampler()

    // Final drain with a fresh client, from the start to the end.
    const drained: { partition: number; offset: number; value: string }[] = []
    for await (const r of client('fault-drain').consumer().subscribe(TOPIC, { from: 'earliest', until: 'end', partitions: [0] })) {
      drained.push({ partition: r.partition, offset: r.offset, value: r.text() })
    }

    const report = checkClusterHistory({ ops: rec.ops, drained, leaderSamples: rec.leaderSamples, controllerSamples: rec.controllerSamples })
    const unknownErrors = new Map<string, number>()
    for (const o of rec.ops) if (o.type === 'unknown' || o.type === 'fail') unknownErrors.set(o.error ?? '?', (unknownErrors.get(o.error ?? '?') ?? 0) + 1)
    const elapsedS = (acked.at(-1)!.timeMs - t0) / 1000
    console.log(
      `[leader-kill] ${describeClusterReport(report)}\n` +
        `[leader-kill] acknowledged ${acked.length} in ${elapsedS.toFixed(1)} s (${(acked.length / elapsedS).toFixed(0)}/s); final leader ${end.leader} epoch ${end.leaderEpoch}\n` +
        `[leader-kill] unknown/failed sends by error: ${JSON.stringify(Object.fromEntries(unknownErrors))}\n` +
        `[leader-kill] restarted nodes leading at a replaced epoch: ${JSON.stringify(staleLeaderships)}\n` +
        `[leader-kill] failovers (SIGKILL → new leader / → next acknowledged write): ${failovers.map((f) => `node ${f.killed}→${f.newLeader}: ${f.leaderMs} ms / ${f.writeMs} ms`).join('; ')}`,
    )
    if (process.env.FAULT_DEBUG) {
      const sends = rec.ops.filter((o) => o.f === 'send' && o.type !== 'invoke')
      const firstBad = sends.findIndex((o) => o.type !== 'ok')
      const badAt = firstBad >= 0 ? sends[firstBad]!.timeMs : Infinity
      const near = sdkLog.filter((l) => Math.abs(Number(l.split(' ')[0]) - badAt) < 1_500 && !l.includes('reconnecting after backoff'))
      console.log(`[leader-kill] kills at ${JSON.stringify(killTimes)}\nSDK log near the first failed send:\n${near.slice(0, 60).join('\n')}`)
      if (firstBad >= 0) console.log(sends.slice(Math.max(0, firstBad - 4), firstBad + 2).map((o) => JSON.stringify(o)).join('\n'))
      for (const n of cluster.nodes.values()) {
        console.log(`node ${n.id} log:\n${(n.process?.logs ?? []).filter((l) => l.level >= 30).slice(-25).map((l) => JSON.stringify(l)).join('\n')}`)
      }
    }
    expect(report.anomalies, describeClusterReport(report)).toEqual([])
    // An idempotent producer with retries follows the new leader: no send is rejected by a failover.
    expect(Object.fromEntries(unknownErrors)).toEqual({})
    expect(staleLeaderships).toEqual([])
    expect(failovers).toHaveLength(KILLS)
    expect(acked.length).toBeGreaterThan(0)
    expect(new Set(rec.leaderSamples.map((s) => s.leaderEpoch)).size).toBeGreaterThan(KILLS)
  })
})
