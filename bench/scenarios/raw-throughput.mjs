// Scenario "raw": plain ws client → plain ws server (child process), produce-shaped frames, a window of
// frames in flight, a 35-byte ack per frame. No broker logic: the ceiling the SDK + broker are compared to.
import { once } from 'node:events'
import WebSocket from 'ws'
import { buildProduceFrame, recordsPerFrame } from '../lib/frame-bytes.mjs'
import { withRawServer } from '../lib/raw-server-process.mjs'
import { cpuMeter } from '../lib/cpu.mjs'
import { rates, round, withTimeout } from '../lib/stats.mjs'

/**
 * opts: { recordBytes, frameBytes?, recordsPerFrame?, window, durationMs, maxRecords, warmupMs, pinCpu }
 */
export async function rawThroughput(opts) {
  const perFrame = opts.recordsPerFrame ?? recordsPerFrame(opts.recordBytes, opts.frameBytes)
  const frame = buildProduceFrame(opts.recordBytes, perFrame)
  return withRawServer({ mode: 'ack', pinCpu: opts.serverCpu }, async ({ url, pid }) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 })
    try {
      await withTimeout(once(ws, 'open'), 10_000, 'raw ws open')
      ws.binaryType = 'nodebuffer'
      await pump(ws, frame, opts.window, opts.warmupMs, Math.ceil(opts.maxRecords / perFrame / 4))
      const meter = cpuMeter(pid)
      const run = await pump(ws, frame, opts.window, opts.durationMs, Math.ceil(opts.maxRecords / perFrame))
      const cpu = meter.stop()
      const records = run.frames * perFrame
      return {
        scenario: 'raw',
        recordBytes: opts.recordBytes,
        recordsPerFrame: perFrame,
        frameBytes: frame.length,
        window: opts.window,
        frames: run.frames,
        records,
        elapsedMs: round(run.elapsedMs, 1),
        ...rates(records, opts.recordBytes, run.elapsedMs),
        ...cpu,
        clientCpuUsPerRecord: round((cpu.clientCpuMs * 1000) / records, 3),
        serverCpuUsPerRecord: cpu.serverCpuMs === null ? null : round((cpu.serverCpuMs * 1000) / records, 3),
        wireMbPerSec: round((run.frames * frame.length) / 1e6 / (run.elapsedMs / 1000), 2),
      }
    } finally {
      ws.terminate()
    }
  })
}

/** Keeps `window` frames in flight until durationMs or maxFrames; resolves once every sent frame is acked. */
function pump(ws, frame, window, durationMs, maxFrames) {
  return withTimeout(new Promise((resolve, reject) => {
    let sent = 0
    let acked = 0
    let correlationId = 1
    const start = performance.now()
    let lastAck = start
    const canSend = () => sent < maxFrames && performance.now() - start < durationMs
    const send = () => {
      frame.writeUInt32BE(correlationId++ >>> 0, 4)
      ws.send(frame)
      sent++
    }
    const onMessage = () => {
      acked++
      lastAck = performance.now()
      if (canSend()) send()
      else if (acked === sent) {
        cleanup()
        resolve({ frames: acked, elapsedMs: lastAck - start })
      }
    }
    const onClose = () => { cleanup(); reject(new Error('raw ws closed during the run')) }
    const cleanup = () => { ws.off('message', onMessage); ws.off('close', onClose) }
    ws.on('message', onMessage)
    ws.on('close', onClose)
    for (let i = 0; i < window && canSend(); i++) send()
  }), durationMs + 30_000, 'raw throughput run')
}
