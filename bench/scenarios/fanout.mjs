// Scenario "fanout": one producer at a fixed rate, one record per send() → N subscriber sockets held by a separate
// process (lib/fanout-subscribers.mjs, raw protocol clients). Reports delivery latency per (record, socket) and the
// server's CPU µs per delivery. target 'samsa': the broker (own process), the SDK producer (acks=all) in this process;
// target 'raw': the baseline, a plain `ws` server that sends each push frame it receives, the same bytes, to every
// subscriber socket (lib/raw-ws-server.mjs 'broadcast'), the producer a raw `ws` client sending push frames.
import WebSocket from 'ws'
import { fileURLToPath } from 'node:url'
import { encodePushRecords, encodeRecordBatch } from '@samsa/shared'
import { withTarget } from '../lib/target.mjs'
import { withRawServer } from '../lib/raw-server-process.mjs'
import { spawnNode, stopChild } from '../lib/child-process.mjs'
import { cpuMeter, processCpuMs } from '../lib/cpu.mjs'
import { runPaced } from '../lib/pacer.mjs'
import { closeClient, loadSdk, makeClient } from '../lib/sdk.mjs'
import { round, withTimeout } from '../lib/stats.mjs'

const subscribersScript = fileURLToPath(new URL('../lib/fanout-subscribers.mjs', import.meta.url))
const wallNow = () => performance.timeOrigin + performance.now()

/** opts: { target: 'samsa'|'raw', subscribers, ratePerSec, recordBytes, durationMs, warmupMs, fsync, creditBytes, drainTimeoutMs, brokerNodeArgs, brokerCpu } */
export async function fanout(opts) {
  const warmup = Math.floor((opts.ratePerSec * opts.warmupMs) / 1000)
  const total = warmup + Math.floor((opts.ratePerSec * opts.durationMs) / 1000)
  const value = (seq) => {
    const v = new Uint8Array(opts.recordBytes)
    const view = new DataView(v.buffer)
    view.setFloat64(0, wallNow())
    view.setUint32(8, seq)
    return v
  }
  const run = async (serverPid, url, mode, send, settle = async () => {}) => {
    const child = await spawnNode([subscribersScript], { ipc: true, timeoutMs: 10_000, isReady: (l) => l.includes('fanout subscribers up') || undefined })
    try {
      const ask = (msg, want) => new Promise((resolve, reject) => {
        const on = (m) => {
          if (m.msg === 'error') { child.child.off('message', on); reject(new Error(`subscribers: ${m.error}`)) }
          if (m.msg === want) { child.child.off('message', on); resolve(m) }
        }
        child.child.on('message', on)
        child.child.send(msg)
      })
      await withTimeout(ask({ cmd: 'start', url, mode, topic: 'bench-fanout', sockets: opts.subscribers, creditBytes: opts.creditBytes, valueBytes: opts.recordBytes, total, warmup }, 'ready'), 60_000, `${opts.subscribers} subscriber sockets to subscribe`)
      const subscribersCpu0 = processCpuMs(child.child.pid)
      const meter = cpuMeter(serverPid)
      const t0 = performance.now()
      const paced = await runPaced({ ratePerSec: opts.ratePerSec, durationMs: opts.warmupMs + opts.durationMs, tickMs: 2, send })
      await settle()
      const result = await ask({ cmd: 'finish', timeoutMs: opts.drainTimeoutMs }, 'result')
      const cpu = meter.stop()
      const subscribersCpuMs = processCpuMs(child.child.pid) - subscribersCpu0
      const elapsedMs = performance.now() - t0
      const deliveries = result.received
      return {
        scenario: 'fanout',
        target: opts.target,
        subscriberClients: 'raw protocol (lib/fanout-subscribers.mjs), one process',
        subscribers: opts.subscribers,
        recordBytes: opts.recordBytes,
        fsync: opts.target === 'samsa' ? opts.fsync : null,
        targetRatePerSec: opts.ratePerSec,
        sent: paced.sent,
        deliveries,
        lost: result.lost,
        duplicates: result.duplicates,
        outOfOrder: result.outOfOrder,
        deliveriesPerSec: Math.round((deliveries / (opts.warmupMs + opts.durationMs)) * 1000),
        count: result.count, minMs: result.minMs, meanMs: result.meanMs, p50Ms: result.p50Ms, p90Ms: result.p90Ms,
        p99Ms: result.p99Ms, p999Ms: result.p999Ms, maxMs: result.maxMs,
        serverCpuPct: cpu.serverCpuPct,
        serverCpuUsPerDelivery: deliveries ? round((cpu.serverCpuMs * 1000) / deliveries, 2) : null,
        /** The subscriber process (not in otherCpuPct's "other": it is part of the run). */
        subscribersCpuPct: Math.round((subscribersCpuMs / elapsedMs) * 100),
        clientCpuPct: cpu.clientCpuPct,
        otherCpuPct: cpu.otherCpuPct === null ? null : Math.max(0, cpu.otherCpuPct - Math.round((subscribersCpuMs / elapsedMs) * 100)),
      }
    } finally {
      await stopChild(child.child)
    }
  }

  if (opts.target === 'raw') {
    return withRawServer({ mode: 'broadcast', pinCpu: opts.brokerCpu }, async ({ url, pid }) => {
      const ws = new WebSocket(url, { perMessageDeflate: false })
      await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
      try {
        return await run(pid, url, 'raw', (count, seqStart) => {
          for (let i = 0; i < count; i++) {
            const seq = seqStart + i
            const batch = encodeRecordBatch({ baseOffset: seq, records: [{ key: null, value: value(seq), headers: [], timestamp: Date.now() }] })
            ws.send(encodePushRecords(0, 1, seq + 1, 0, batch))
          }
        })
      } finally {
        ws.terminate()
      }
    })
  }

  const sdk = await loadSdk()
  return withTarget({ fsync: opts.fsync, nodeArgs: opts.brokerNodeArgs, pinCpu: opts.brokerCpu }, async (target) => {
    const client = makeClient(sdk, { url: target.brokerUrls, clientId: 'bench-fanout-producer' })
    try {
      await target.createTopic(client, 'bench-fanout')
      const producer = client.producer({ acks: 'all' })
      const acks = []
      let sendErrors = 0
      const r = await run(target.serverPids, target.brokerUrls[0], 'samsa', (count, seqStart) => {
        // One record per send(), as a chat page or a ticker sends.
        for (let i = 0; i < count; i++) acks.push(producer.send('bench-fanout', [{ value: value(seqStart + i) }]).catch(() => { sendErrors++ }))
      }, () => withTimeout(Promise.all(acks), opts.drainTimeoutMs, 'acknowledgement of every fan-out record'))
      return { ...r, sendErrors }
    } catch (err) {
      err.message += `\nbroker output (last lines):\n${target.lastLines()}`
      throw err
    } finally {
      await closeClient(client)
    }
  })
}
