/**
 * Fault scenario "browser page and leader kill": a 3-node cluster of real processes behind TCP proxies
 * (test/fault/support/cluster.ts), a topic with replication factor 3 and min.insync.replicas 2, and a Chromium page
 * (e2e/pages/cluster-client.html, loaded from node 1's proxy: its origin, hence its IndexedDB, stays the same all
 * test long) given every node's proxy URL. In the page: a durable producer (IndexedDB outbox, acks all, idempotent)
 * sending ~200 records/s on a schedule, and a subscription with stored positions processing every record into an
 * IndexedDB store in the same transaction as its position commit. The partition leader is killed with SIGKILL KILLS
 * times and restarted each time; after the second kill, while there is no leader and ~50 records wait for their
 * acknowledgement (some of them in the outbox), the page is reloaded. The page's history (every send invoke and
 * outcome, every read, the batches resent from the outbox) and the nodes' leader/controller samples are checked
 * with cluster-history-checker.ts against a drain by a Node SDK client: zero anomalies; the consumer's committed
 * deliveries run from offset 0 with no gap and no duplicate across the reload; what the outbox held at the reload
 * is sent after it. Prints counts and failover times (SIGKILL → a new
 * leader seen → the page's next acknowledged write after that).
 */
import { expect, test } from '@playwright/test'
import { checkConsumerStream } from '../test/support/history-checker.js'
import { checkClusterHistory, describeClusterReport } from '../test/support/cluster-history-checker.js'
import { until } from '../test/support/until.js'
import { FaultCluster } from '../test/fault/support/cluster.js'
import { createReplicatedTopic, DURATION_MS, drainTopic, nodeClient, sendErrorCounts, startSampler } from '../test/fault/support/observe.js'
import { ClusterPageHistory, readDeliveries, RELOAD_REASON, type Reload } from './support/cluster-page.js'
import { assertBuilt, servePages, watchPage } from './support/harness.js'

const TOPIC = 'browser-leader-kill'
const DB = 'app'
const KILLS = Number(process.env.FAULT_KILLS ?? 3)
/** The kill after which the page reloads (0-based; -1: no reload). */
const RELOAD_AFTER_KILL = Number(process.env.FAULT_RELOAD_AFTER_KILL ?? 1)
const RATE_PER_S = 200

test('a page producing and consuming with IndexedDB positions while its partition leader is killed: nothing lost, no duplicate, no gap', async ({ browser }) => {
  test.setTimeout(240_000 + 2 * DURATION_MS)
  assertBuilt()
  let cluster: FaultCluster | null = null
  const context = await browser.newContext()
  const drainer = { client: null as ReturnType<typeof nodeClient> | null }
  let sampler: { stop(): Promise<void> } | null = null
  try {
    cluster = await FaultCluster.start({ sessionTimeoutMs: 2_000 })
    await cluster.waitHealthy()
    await createReplicatedTopic(cluster, { topic: TOPIC, partitions: 1, minInsyncReplicas: 2 })
    const origin = cluster.node(1).proxy
    await servePages(context, origin)
    const page = await context.newPage()
    const problems = watchPage(page, 'cluster-page')
    const query = new URLSearchParams({ topic: TOPIC, brokers: cluster.brokerUrls.join(','), db: DB })
    await page.goto(`${origin.httpUrl}/e2e/cluster-client.html?${query}`)
    const h = new ClusterPageHistory(page, RATE_PER_S)
    await until(() => page.evaluate(() => (window as any).__e2e?.ready || (window as any).__e2e?.fatal), { timeoutMs: 20_000, what: 'the page to load' })
    expect(await page.evaluate(() => (window as any).__e2e.fatal)).toBeNull()
    sampler = startSampler(cluster, h.rec, TOPIC, 1)
    const t0 = Date.now()
    await h.start()

    const failovers: { killed: number; newLeader: number; leaderMs: number; writeMs: number }[] = []
    let reload: Reload | null = null
    const gapMs = DURATION_MS / (KILLS + 1)
    for (let k = 0; k < KILLS; k++) {
      await until(() => Date.now() - t0 >= gapMs * (k + 1), { timeoutMs: DURATION_MS + 60_000, what: `kill ${k + 1}'s time` })
      const before = await cluster.waitLeader(TOPIC, 0)
      const killedAt = Date.now()
      await cluster.kill(before.leader)
      if (k === RELOAD_AFTER_KILL) reload = await h.reload(DB, RATE_PER_S / 4)
      const after = await cluster.waitLeader(TOPIC, 0, (p) => p.leader !== before.leader && p.leaderEpoch > before.leaderEpoch)
      const leaderSeenAt = Date.now()
      // The next acknowledgement after the new leader is seen (one received just after the SIGKILL can still be the
      // old leader's, sent before it died).
      const nextOk = await h.nextAckAfter(leaderSeenAt)
      const leaderMs = leaderSeenAt - killedAt
      failovers.push({ killed: before.leader, newLeader: after.leader, leaderMs, writeMs: Math.round(nextOk.timeMs - killedAt) })
      await cluster.restart(before.leader)
      await cluster.waitLeader(TOPIC, 0, (p) => p.isr?.length === 3, 60_000)
    }
    await until(() => Date.now() - t0 >= DURATION_MS, { timeoutMs: DURATION_MS + 60_000, what: 'the end of the schedule' })

    // Every send settles; the consumer processes up to the last acknowledged offset; a Node client drains the topic.
    await h.stop()
    await until(async () => {
      const t = await h.take()
      return t.settled === t.invoked
    }, { timeoutMs: 90_000, what: 'every send of the page to settle' })
    await cluster.waitHealthy(60_000)
    await cluster.waitLeader(TOPIC, 0, (p) => p.isr?.length === 3, 60_000)
    drainer.client = nodeClient({ brokers: cluster.brokerUrls, clientId: 'browser-fault-drain' })
    const drained = await drainTopic(drainer.client, TOPIC)
    const end = drained.at(-1)?.offset ?? -1
    await until(async () => (await h.take()).highest >= end, { timeoutMs: 60_000, what: `the page to process offset ${end}` })
    await until(async () => (await readDeliveries(page, DB)).some((d) => d.offset >= end), { timeoutMs: 30_000, what: 'the last delivery to commit' })
    await sampler.stop()
    const deliveries = await readDeliveries(page, DB)
    const last = await h.take()
    const acked = h.rec.ops.filter((o) => o.f === 'send' && o.type === 'ok')

    // The committed deliveries are the consumer's reads across page loads: one stream from offset 0.
    const ops = [...h.rec.ops]
    let id = 1e9
    for (const d of deliveries) {
      ops.push({ id, type: 'invoke', f: 'read', process: 'committed', value: d.value, timeMs: 0 })
      ops.push({ id: id++, type: 'ok', f: 'read', process: 'committed', value: d.value, timeMs: 0, partition: d.partition, offset: d.offset })
    }
    const report = checkClusterHistory({ ops, drained, leaderSamples: h.rec.leaderSamples, controllerSamples: h.rec.controllerSamples })
    const sendErrors = sendErrorCounts(h.rec.ops.filter((o) => o.error !== RELOAD_REASON))
    const sessions = [...new Set(deliveries.map((d) => d.session))]
    const drainedAt = new Map(drained.map((r) => [r.offset, r.value]))
    const recoveredOffsets = h.recovered.flat().map((m) => m.offset)
    const unsettled = new Set(reload?.unsettled ?? [])
    const elapsedS = (acked.at(-1)!.timeMs - t0) / 1000
    const lines = [
      describeClusterReport(report),
      `page: acknowledged ${acked.length} in ${elapsedS.toFixed(1)} s (${(acked.length / elapsedS).toFixed(0)}/s); drained ${drained.length}; committed deliveries ${deliveries.length} over ${sessions.length} load(s) [${sessions.map((s) => deliveries.filter((d) => d.session === s).length).join(', ')}]`,
      `unknown/failed sends by error (reload excluded): ${JSON.stringify(sendErrors)}; gaps ${JSON.stringify(last.gaps)}; consumer errors ${JSON.stringify(last.errors)}`,
      reload
        ? `reload after kill ${RELOAD_AFTER_KILL + 1}: stored position ${reload.storedPosition}, outbox ${reload.outboxBatches} batch(es); ${reload.unsettled.length} sends unsettled, of which ${[...unsettled].filter((v) => drained.some((r) => r.value === v)).length} in the log; the new load resent ${reload.recoveredAtStart.records} record(s) in ${reload.recoveredAtStart.batches} batch(es) (onRecovered: ${recoveredOffsets.length} at ${JSON.stringify(recoveredOffsets.slice(0, 3))}…); reload took ${reload.reloadMs} ms`
        : 'no reload',
      `failovers (SIGKILL → new leader / → next acknowledged write): ${failovers.map((f) => `node ${f.killed}→${f.newLeader}: ${f.leaderMs} ms / ${f.writeMs} ms`).join('; ')}`,
    ]
    console.log(lines.map((l) => `[browser-leader-kill] ${l}`).join('\n'))
    if (!report.ok || Object.keys(sendErrors).length > 0 || process.env.FAULT_DEBUG) {
      console.log(`page SDK warnings (last 40):\n${(await page.evaluate(() => (window as any).__e2e.warnings.slice(-40).join('\n')))}`)
      for (const n of cluster.nodes.values()) console.log(`node ${n.id} log:\n${(n.process?.logs ?? []).filter((l) => l.level >= 40).slice(-15).map((l) => JSON.stringify(l)).join('\n')}`)
    }

    expect(report.anomalies, describeClusterReport(report)).toEqual([])
    expect(sendErrors).toEqual({})
    expect(acked.length / elapsedS).toBeGreaterThanOrEqual(100)
    expect(failovers).toHaveLength(KILLS)
    // The consumer's committed deliveries: offsets 0..end, each once, the log's values, across every page load.
    expect(checkConsumerStream(deliveries, { 0: 0 })).toEqual([])
    expect(deliveries.map((d) => d.offset)).toEqual(drained.map((r) => r.offset))
    expect(deliveries.every((d) => drainedAt.get(d.offset) === d.value)).toBe(true)
    expect(last.gaps).toEqual([])
    expect(last.errors).toEqual([])
    if (reload) {
      expect(sessions.length).toBe(2)
      // The new load resumed right after the last delivery the old one committed.
      const firstOfNew = deliveries.findIndex((d) => d.session === sessions[1])
      expect(deliveries[firstOfNew]!.offset).toBe(deliveries[firstOfNew - 1]!.offset + 1)
      // What the outbox held at the reload was sent after it, each once, and was an unsettled send of the old page.
      expect(reload.recoveredAtStart.records).toBeGreaterThan(0)
      expect(recoveredOffsets).toHaveLength(reload.recoveredAtStart.records)
      for (const o of recoveredOffsets) expect(unsettled.has(drainedAt.get(o)!), `offset ${o} (${drainedAt.get(o)}) was unsettled at the reload`).toBe(true)
    }
    expect(problems.filter((p) => p.includes('pageerror'))).toEqual([])
  } finally {
    await sampler?.stop()
    await context.close()
    await drainer.client?.close().catch(() => {})
    await cluster?.close()
  }
})
