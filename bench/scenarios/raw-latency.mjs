// Scenario "raw-latency": the latency baseline. The same open-loop schedule, but each tick's records go as one
// frame to a plain `ws` echo server (child process) and come straight back; latency = echo receive − send.
import { once } from 'node:events'
import WebSocket from 'ws'
import { runPaced } from '../lib/pacer.mjs'
import { withRawServer } from '../lib/raw-server-process.mjs'
import { buildProduceFrame } from '../lib/frame-bytes.mjs'
import { round, sleep, summarize, withTimeout } from '../lib/stats.mjs'

/** opts: { ratePerSec, recordBytes, durationMs, warmupMs, tickMs, drainTimeoutMs } */
export async function rawLatency(opts) {
  return withRawServer({ mode: 'echo', pinCpu: opts.serverCpu }, async ({ url }) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    try {
      await withTimeout(once(ws, 'open'), 10_000, 'raw ws open')
      const warmupCount = Math.floor((opts.ratePerSec * opts.warmupMs) / 1000)
      const totalCount = warmupCount + Math.floor((opts.ratePerSec * opts.durationMs) / 1000)
      const latencies = new Float64Array(totalCount)
      let received = 0
      let measured = 0
      const framesBySize = new Map()
      ws.on('message', (data) => {
        const now = performance.now()
        const sentAt = data.readDoubleBE(8)
        const seqStart = data.readUInt32BE(16)
        const count = data.readUInt32BE(20)
        for (let i = 0; i < count; i++) {
          received++
          if (seqStart + i >= warmupCount) latencies[measured++] = now - sentAt
        }
      })
      const paced = await runPaced({
        ratePerSec: opts.ratePerSec,
        durationMs: opts.warmupMs + opts.durationMs,
        tickMs: opts.tickMs,
        send: (count, seqStart) => {
          let frame = framesBySize.get(count)
          if (!frame) framesBySize.set(count, (frame = buildProduceFrame(opts.recordBytes, count)))
          // The payload bytes are irrelevant to ws: stamp send time, first sequence and count after the header.
          frame.writeDoubleBE(performance.now(), 8)
          frame.writeUInt32BE(seqStart, 16)
          frame.writeUInt32BE(count, 20)
          ws.send(frame)
        },
      })
      const deadline = performance.now() + opts.drainTimeoutMs
      while (received < totalCount && performance.now() < deadline) await sleep(5)
      return {
        scenario: 'raw-latency',
        recordBytes: opts.recordBytes,
        targetRatePerSec: opts.ratePerSec,
        achievedSendRatePerSec: Math.round((paced.sent / paced.elapsedMs) * 1000),
        tickMs: opts.tickMs,
        maxTickLagMs: round(paced.maxTickLagMs, 2),
        warmupMs: opts.warmupMs,
        durationMs: opts.durationMs,
        sent: paced.sent,
        received,
        lost: totalCount - received,
        ...summarize(latencies.subarray(0, measured)),
      }
    } finally {
      ws.terminate()
    }
  })
}
