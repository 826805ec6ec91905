// Scenario "latency": open-loop producer at a fixed rate → broker (own process) → subscriber on another
// connection; latency = time the subscriber's async iterator yields a record − time send() was called for it.
// Each 100-byte value carries [float64 send time (performance.now()), uint32 sequence].
// With opts.cluster the broker is a local cluster and the topic is replicated (acks=all then waits for the ISR).
import { withTarget } from '../lib/target.mjs'
import { runPaced } from '../lib/pacer.mjs'
import { closeClient, loadSdk, makeClient } from '../lib/sdk.mjs'
import { cpuMeter } from '../lib/cpu.mjs'
import { produceLatencyDelta, scrapeProduceLatency } from '../lib/broker-metrics.mjs'
import { round, sleep, summarize, waitFor, withTimeout } from '../lib/stats.mjs'

/**
 * opts: { ratePerSec, recordBytes, durationMs, warmupMs, tickMs, fsync, drainTimeoutMs, producerOptions, cluster?,
 *         oneRecordPerSend? (each due record in its own send() call; default: one send() per tick) }
 */
export async function e2eLatency(opts) {
  const sdk = await loadSdk()
  return withTarget({ fsync: opts.fsync, nodeArgs: opts.brokerNodeArgs, pinCpu: opts.brokerCpu, cluster: opts.cluster , runtime: opts.runtime }, async (target) => {
    let producerClient
    let consumerClient
    let sub
    try {
      producerClient = makeClient(sdk, { url: target.brokerUrls, clientId: 'bench-latency-producer' })
      consumerClient = makeClient(sdk, { url: target.brokerUrls, clientId: 'bench-latency-consumer' })
      const topic = 'bench-latency'
      const { topology, metricsUrl } = await target.createTopic(producerClient, topic)
      sub = consumerClient.consumer().subscribe(topic, { from: 'latest' })
      if (typeof sub.position === 'function') await waitFor(() => sub.position(0) !== null, 10_000, 'the subscription to start')
      const producer = producerClient.producer({ acks: 'all', ...opts.producerOptions })

      const warmupCount = Math.floor((opts.ratePerSec * opts.warmupMs) / 1000)
      const totalCount = warmupCount + Math.floor((opts.ratePerSec * opts.durationMs) / 1000)
      const latencies = new Float64Array(totalCount)
      const seen = new Uint8Array(totalCount)
      let received = 0
      let measured = 0
      let duplicates = 0
      let outOfOrder = 0
      let lastSeq = -1

      const consume = (async () => {
        for await (const record of sub) {
          const now = performance.now()
          const v = record.value
          const view = new DataView(v.buffer, v.byteOffset, v.byteLength)
          const sentAt = view.getFloat64(0)
          const seq = view.getUint32(8)
          if (seq >= totalCount) continue
          if (seen[seq]) { duplicates++; continue }
          if (seq < lastSeq) outOfOrder++
          lastSeq = seq
          seen[seq] = 1
          received++
          if (seq >= warmupCount) latencies[measured++] = now - sentAt
          if (received === totalCount) break
        }
      })()

      const sendErrors = []
      const acks = []
      const ackLatencies = []
      const sendOne = (records, now, measuredSend) => {
        acks.push(producer.send(topic, records).then(
          () => { if (measuredSend) ackLatencies.push(performance.now() - now) },
          (err) => { sendErrors.push(err) },
        ))
      }
      const metricsBefore = await scrapeProduceLatency(metricsUrl)
      const meter = cpuMeter(target.serverPids)
      const paced = await runPaced({
        ratePerSec: opts.ratePerSec,
        durationMs: opts.warmupMs + opts.durationMs,
        tickMs: opts.tickMs,
        send: (count, seqStart) => {
          const now = performance.now()
          const records = new Array(count)
          for (let i = 0; i < count; i++) {
            const value = new Uint8Array(opts.recordBytes)
            const view = new DataView(value.buffer)
            view.setFloat64(0, now)
            view.setUint32(8, seqStart + i)
            records[i] = { value }
          }
          if (opts.oneRecordPerSend) for (let i = 0; i < count; i++) sendOne([records[i]], now, seqStart + i >= warmupCount)
          else sendOne(records, now, seqStart >= warmupCount)
        },
      })
      await withTimeout(Promise.all(acks), opts.drainTimeoutMs, 'acknowledgement of every latency record')
      const drainDeadline = performance.now() + opts.drainTimeoutMs
      while (received < totalCount && performance.now() < drainDeadline) await sleep(10)
      const cpu = meter.stop()
      const brokerProduceLatency = produceLatencyDelta(metricsBefore, await scrapeProduceLatency(metricsUrl))
      sub.close?.()
      await Promise.race([consume.catch(() => {}), sleep(1_000)])
      const summary = summarize(latencies.subarray(0, measured))
      return {
        scenario: 'latency',
        /** null: one broker; else the cluster, its replication factor, and the partition's leader, replicas and ISR at the start. */
        cluster: topology,
        recordBytes: opts.recordBytes,
        fsync: opts.fsync,
        acks: 'all',
        lingerMs: opts.producerOptions?.lingerMs ?? 0,
        oneRecordPerSend: Boolean(opts.oneRecordPerSend),
        targetRatePerSec: opts.ratePerSec,
        achievedSendRatePerSec: Math.round((paced.sent / paced.elapsedMs) * 1000),
        tickMs: opts.tickMs,
        maxTickLagMs: round(paced.maxTickLagMs, 2),
        warmupMs: opts.warmupMs,
        durationMs: opts.durationMs,
        sent: paced.sent,
        received,
        lost: totalCount - received,
        duplicates,
        outOfOrder,
        sendErrors: sendErrors.length,
        ...summary,
        /** send() call → its promise resolved (linger + broker append + fsync + response), per send() of one tick's records. */
        ackLatency: summarize(ackLatencies),
        /** The broker's produce requests over the run (its histogram) and the records each carried on average. */
        produceRequests: brokerProduceLatency?.requests ?? null,
        recordsPerProduce: brokerProduceLatency ? round(paced.sent / brokerProduceLatency.requests, 1) : null,
        /** Broker CPU (and the bench process's) over the whole paced run and drain, warm-up included. */
        clientCpuPct: cpu.clientCpuPct,
        serverCpuPct: cpu.serverCpuPct,
        otherCpuPct: cpu.otherCpuPct,
        /** Broker CPU µs per record delivered to the subscriber (produce, fsync, ack and push all counted). */
        serverCpuUsPerDelivered: cpu.serverCpuMs === null || received === 0 ? null : round((cpu.serverCpuMs * 1000) / received, 1),
        /** Of which in the kernel (system time). */
        serverSystemCpuUsPerDelivered: cpu.serverSystemCpuMs === null || received === 0 ? null : round((cpu.serverSystemCpuMs * 1000) / received, 1),
      }
    } catch (err) {
      err.message += `\nbroker output (last lines):\n${target.lastLines()}`
      throw err
    } finally {
      try { sub?.close?.() } catch { /* ignore */ }
      await closeClient(producerClient)
      await closeClient(consumerClient)
    }
  })
}
