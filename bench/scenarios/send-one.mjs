// Scenario "send-one": one SDK producer (acks=all) → a broker in its own process (--fsync always), one record per
// send(), a fixed number of send() calls in flight (each settled send starts the next); from the first send of the
// measured run to its last acknowledgement. What a chat page or a ticker does, as opposed to `produce`'s big chunks.
import { withTarget } from '../lib/target.mjs'
import { closeClient, countingWebSocket, frameSummary, loadSdk, makeClient, newFrameStats } from '../lib/sdk.mjs'
import { cpuMeter } from '../lib/cpu.mjs'
import { produceLatencyDelta, scrapeProduceLatency } from '../lib/broker-metrics.mjs'
import { rates, round, withTimeout } from '../lib/stats.mjs'

/** opts: { recordBytes, fsync, inFlight, durationMs, maxRecords, warmupRecords, brokerNodeArgs, brokerCpu } */
export async function sendOne(opts) {
  const sdk = await loadSdk()
  return withTarget({ fsync: opts.fsync, nodeArgs: opts.brokerNodeArgs, pinCpu: opts.brokerCpu }, async (target) => {
    const frames = newFrameStats()
    const client = makeClient(sdk, { url: target.brokerUrls, clientId: 'bench-send-one', WebSocketClass: countingWebSocket(frames) })
    try {
      const topic = 'bench-send-one'
      const { metricsUrl } = await target.createTopic(client, topic)
      const producer = client.producer({ acks: 'all' })
      const record = { value: new Uint8Array(opts.recordBytes).fill(0x61) }

      await run(producer, topic, record, { inFlight: opts.inFlight, durationMs: 60_000, maxRecords: opts.warmupRecords })
      Object.assign(frames, newFrameStats())
      const metricsBefore = await scrapeProduceLatency(metricsUrl)
      const meter = cpuMeter(target.serverPids)
      const result = await run(producer, topic, record, opts)
      const cpu = meter.stop()
      const brokerProduceLatency = produceLatencyDelta(metricsBefore, await scrapeProduceLatency(metricsUrl))
      await withTimeout(producer.close?.() ?? Promise.resolve(), 10_000, 'producer.close')
      return {
        scenario: 'send-one',
        recordBytes: opts.recordBytes,
        fsync: opts.fsync,
        acks: 'all',
        inFlight: opts.inFlight,
        records: result.records,
        elapsedMs: round(result.elapsedMs, 1),
        ...rates(result.records, opts.recordBytes, result.elapsedMs),
        frames: frameSummary(frames),
        ...cpu,
        /** One record per send(): µs per record = µs per send. */
        clientCpuUsPerSend: round((cpu.clientCpuMs * 1000) / result.records, 3),
        serverCpuUsPerRecord: cpu.serverCpuMs === null ? null : round((cpu.serverCpuMs * 1000) / result.records, 3),
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

/** Keeps `inFlight` one-record send() calls unsettled until durationMs or maxRecords; resolves once all settled. */
function run(producer, topic, record, { inFlight, durationMs, maxRecords }) {
  const records = [record]
  return withTimeout(new Promise((resolve, reject) => {
    let sent = 0
    let settled = 0
    let firstError = null
    const start = performance.now()
    let lastAck = start
    const canSend = () => firstError === null && sent < maxRecords && performance.now() - start < durationMs
    const onAck = () => {
      settled++
      lastAck = performance.now()
      next()
    }
    const onError = (err) => {
      settled++
      firstError ??= err
      next()
    }
    const next = () => {
      if (canSend()) {
        sent++
        producer.send(topic, records).then(onAck, onError)
      } else if (settled === sent) {
        if (firstError) reject(firstError)
        else resolve({ records: settled, elapsedMs: lastAck - start })
      }
    }
    for (let i = 0; i < inFlight; i++) next()
  }), durationMs + 60_000, 'the send-one run')
}
