// Scenario "produce": one SDK producer (acks=all) → a broker in its own process, records of one size sent in
// large chunks with a bounded number of unsettled send() calls; from first send to last acknowledgement.
// With opts.cluster the broker is a local cluster and the topic is replicated (acks=all then waits for the ISR).
import { withTarget } from '../lib/target.mjs'
import { closeClient, countingWebSocket, frameSummary, loadSdk, makeClient, newFrameStats } from '../lib/sdk.mjs'
import { cpuMeter } from '../lib/cpu.mjs'
import { produceLatencyDelta, scrapeProduceLatency } from '../lib/broker-metrics.mjs'
import { rates, round, withTimeout } from '../lib/stats.mjs'

/**
 * opts: { recordBytes, fsync, chunkRecords, maxUnsettled, durationMs, maxRecords, warmupRecords, brokerNodeArgs, pinCpu,
 *         cluster?: { nodes, replicationFactor, minInsyncReplicas },
 *         auth?: { label, brokerArgs, token }: a single broker started with brokerArgs, the client presenting token }
 */
export async function produceThroughput(opts) {
  const sdk = await loadSdk()
  return withTarget({ fsync: opts.fsync, nodeArgs: opts.brokerNodeArgs, pinCpu: opts.brokerCpu, cluster: opts.cluster, brokerArgs: opts.auth?.brokerArgs , runtime: opts.runtime }, async (target) => {
    const frames = newFrameStats()
    const client = makeClient(sdk, { url: target.brokerUrls, clientId: 'bench-producer', WebSocketClass: countingWebSocket(frames), token: opts.auth?.token })
    try {
      const topic = `bench-produce-${opts.recordBytes}`
      const { metricsUrl: httpUrl, topology } = await target.createTopic(client, topic)
      const producer = client.producer({ acks: 'all' })
      const value = new Uint8Array(opts.recordBytes).fill(0x61)
      const chunk = Array.from({ length: opts.chunkRecords }, () => ({ value }))

      await run(producer, topic, chunk, { ...opts, durationMs: 60_000, maxRecords: opts.warmupRecords })
      Object.assign(frames, newFrameStats())
      const metricsBefore = await scrapeProduceLatency(httpUrl)
      const meter = cpuMeter(target.serverPids)
      const result = await run(producer, topic, chunk, opts)
      const cpu = meter.stop()
      const brokerProduceLatency = produceLatencyDelta(metricsBefore, await scrapeProduceLatency(httpUrl))
      await withTimeout(producer.close?.() ?? Promise.resolve(), 10_000, 'producer.close')
      return {
        scenario: 'produce',
        /** null: one broker; else the cluster, its replication factor, and the partition's leader, replicas and ISR at the start. */
        cluster: topology,
        /** null: the scenario as usual; else the authentication case it measures (auth-cost.mjs). */
        auth: opts.auth?.label ?? null,
        recordBytes: opts.recordBytes,
        fsync: opts.fsync,
        acks: 'all',
        chunkRecords: opts.chunkRecords,
        maxUnsettledSends: opts.maxUnsettled,
        records: result.records,
        elapsedMs: round(result.elapsedMs, 1),
        ...rates(result.records, opts.recordBytes, result.elapsedMs),
        sendCallMsTotal: round(result.sendCallMs, 1),
        frames: frameSummary(frames),
        ...cpu,
        clientCpuUsPerRecord: round((cpu.clientCpuMs * 1000) / result.records, 3),
        serverCpuUsPerRecord: cpu.serverCpuMs === null ? null : round((cpu.serverCpuMs * 1000) / result.records, 3),
        /** From the (leader) broker's samsa_produce_latency_seconds histogram over the measured run (bucket bounds, not exact). */
        brokerProduceLatency,
      }
    } catch (err) {
      err.message += `\nbroker output (last lines):\n${target.lastLines()}`
      throw err
    } finally {
      await closeClient(client)
    }
  })
}

/** Sends chunks until durationMs or maxRecords with at most maxUnsettled send() calls pending; waits for all acks. */
async function run(producer, topic, chunk, { durationMs, maxRecords, maxUnsettled }) {
  const pending = new Set()
  let firstError = null
  let sent = 0
  let acked = 0
  let lastAck = 0
  let sendCallMs = 0
  const start = performance.now()
  while (firstError === null && sent < maxRecords && performance.now() - start < durationMs) {
    if (pending.size >= maxUnsettled) {
      await withTimeout(Promise.race(pending), 60_000, 'any of the unsettled send() calls to settle')
      continue
    }
    const t0 = performance.now()
    const p = producer.send(topic, chunk).then(
      () => { acked += chunk.length; lastAck = performance.now() },
      (err) => { firstError ??= err },
    )
    sendCallMs += performance.now() - t0
    sent += chunk.length
    const tracked = p.finally(() => pending.delete(tracked))
    pending.add(tracked)
  }
  await withTimeout(Promise.all(pending), 60_000, `acknowledgement of ${sent - acked} outstanding records`)
  if (firstError) throw firstError
  return { records: acked, elapsedMs: lastAck - start, sendCallMs }
}
