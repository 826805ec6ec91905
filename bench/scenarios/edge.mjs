// Scenario "edge": the broker as a Cloudflare Durable Object in workerd (Miniflare), beside Node in the same run.
// Cold start: one partition filled to `partitionBytes` through the object (1 KiB records, acks=all), the object's
// recovery point left to be written (every recoveryPointMs), workerd stopped; then each measured run starts a fresh
// workerd on the persisted storage and times spawn → the namespace's catalog object serving its first request (the
// host's /healthz, which starts it) → the first fetch at the tail answered by the topic's object (which that fetch
// starts: one Durable Object per topic); the catalog object's own part (workerd serving → its first answer) is
// reported apart. The Worker is bundled once, before any start. --quick skips the baseline (each workerd
// start takes seconds). Baseline in the same run: the same start on a
// storage holding one empty topic (workerd and the object with no log). The object's "partition log recovered" line
// gives the bytes it verified on open (the log after the recovery point, not the whole partition).
// With `throughput`, SDK produce (100 B records, acks=all) for durationMs and produce→subscribe latency at a fixed
// rate, on workerd and on a Node broker (`samsa start`, fsync always), one after the other.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { exchanges } from '@samsa/shared'
import { withBroker } from '../lib/broker-process.mjs'
import { stopChild } from '../lib/child-process.mjs'
import { rawRequest } from '../lib/raw-request.mjs'
import { closeClient, loadSdk, makeClient } from '../lib/sdk.mjs'
import { rates, round, sleep, summarize, withTimeout } from '../lib/stats.mjs'
import { startWorkerd } from '../lib/workerd-process.mjs'
import { buildWorker } from '../../packages/server/scripts/build-worker.mjs'

const TOPIC = 'edge-cold'
const RECORD_BYTES = 1024
const RECORDS_PER_SEND = 256

/** opts: { partitionBytes, coldRuns, recoveryPointMs, baseline (the empty-storage starts), throughput?: { durationMs, latencyMs, ratePerSec }, brokerCpu } */
export async function edgeScenario(opts) {
  const sdk = await loadSdk()
  const dataDir = await mkdtemp(join(tmpdir(), 'samsa-bench-edge-'))
  const emptyDir = await mkdtemp(join(tmpdir(), 'samsa-bench-edge-empty-'))
  // The recovery point is written on the object's alarm once the fill is over: let the alarm come that soon.
  const flags = ['--recovery-point-interval-ms', String(opts.recoveryPointMs), '--min-alarm-interval-ms', String(opts.recoveryPointMs)]
  const { outfile: bundle } = await buildWorker()
  try {
    // Fill the partition through the object, then let it write its recovery point.
    const fill = await withWorkerd({ dataDir, flags, bundle, pinCpu: opts.brokerCpu }, async (w) => {
      const client = makeClient(sdk, { url: [w.wsUrl], clientId: 'bench-edge-fill' })
      try {
        await withTimeout(client.admin.createTopic(TOPIC, { partitions: 1 }), 10_000, 'createTopic')
        const producer = client.producer({ acks: 'all' })
        const value = new Uint8Array(RECORD_BYTES).fill(0x61)
        const chunk = Array.from({ length: RECORDS_PER_SEND }, () => ({ value }))
        const records = Math.ceil(opts.partitionBytes / RECORD_BYTES / RECORDS_PER_SEND) * RECORDS_PER_SEND
        const t0 = performance.now()
        const unsettled = new Set()
        for (let sent = 0; sent < records; sent += RECORDS_PER_SEND) {
          const p = producer.send(TOPIC, chunk).finally(() => unsettled.delete(p))
          unsettled.add(p)
          if (unsettled.size >= 8) await Promise.race(unsettled)
        }
        await Promise.all(unsettled)
        const fillMs = performance.now() - t0
        await sleep(opts.recoveryPointMs * 2 + 500) // the recovery point is written on the object's alarm
        return { records, fillMs: round(fillMs, 0), fillMbPerSec: round((records * RECORD_BYTES) / 1e6 / (fillMs / 1000), 1) }
      } finally {
        await closeClient(client)
      }
    })
    if (opts.baseline) await withWorkerd({ dataDir: emptyDir, flags, bundle, pinCpu: opts.brokerCpu }, (w) => rawRequest(w.wsUrl, exchanges.createTopic, { name: TOPIC, partitions: 1 }))

    const cold = []
    for (let i = 0; i < opts.coldRuns; i++) cold.push(await coldStart({ dataDir, flags, bundle, pinCpu: opts.brokerCpu }, fill.records - 1))
    const empty = []
    for (let i = 0; i < (opts.baseline ? opts.coldRuns : 0); i++) empty.push(await coldStart({ dataDir: emptyDir, flags, bundle, pinCpu: opts.brokerCpu }, null))
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
    const result = {
      scenario: 'edge',
      partitionBytes: fill.records * RECORD_BYTES,
      fill,
      coldRuns: opts.coldRuns,
      /** Median ms from spawning workerd to the first fetch at the tail answered. */
      coldStartMs: median(cold.map((c) => c.tailFetchMs)),
      /** Median ms from spawning workerd to the object serving (its broker started, the partition opened). */
      coldServingMs: median(cold.map((c) => c.servingMs)),
      /** Median ms from workerd serving to the catalog object's first answer: the catalog's own cold start. */
      objectStartMs: median(cold.map((c) => c.objectStartMs)),
      /** Median ms of the first fetch at the tail, which starts the topic's object (partition opened from its recovery point). */
      topicObjectStartMs: median(cold.map((c) => c.topicObjectMs)),
      baselineEmptyObjectStartMs: empty.length ? median(empty.map((c) => c.objectStartMs)) : null,
      verifiedBytes: cold.map((c) => c.verifiedBytes),
      resumedFrom: cold.map((c) => c.resumedFrom),
      baselineEmptyMs: empty.length ? median(empty.map((c) => c.servingMs)) : null,
      runs: { cold, empty },
      throughput: null,
    }
    if (opts.throughput) result.throughput = await throughputRows(sdk, opts, bundle)
    return result
  } finally {
    await rm(dataDir, { recursive: true, force: true })
    await rm(emptyDir, { recursive: true, force: true })
    await rm(dirname(bundle), { recursive: true, force: true })
  }
}

async function withWorkerd(o, fn) {
  const w = await startWorkerd(o)
  try {
    return await fn(w)
  } finally {
    await stopChild(w.child, 10_000)
  }
}

async function coldStart(o, tailOffset) {
  const w = await startWorkerd(o)
  try {
    const servingMs = performance.now() - w.startedAtMs
    let tailFetchMs = null
    let topicObjectMs = null
    if (tailOffset !== null) {
      const beforeFetch = performance.now()
      // The topic's own Durable Object (its leader's URL in metadata): this fetch is what starts it.
      const r = await rawRequest(`${w.wsUrl}/t/${TOPIC}`, exchanges.fetch, { topic: TOPIC, partition: 0, offset: tailOffset, maxBytes: 64 * 1024, maxWaitMs: 0, minBytes: 0 })
      if (!(r.records?.byteLength > 0)) throw new Error('the fetch at the tail returned no records')
      tailFetchMs = performance.now() - w.startedAtMs
      topicObjectMs = performance.now() - beforeFetch
    }
    const recovered = w.lines.map((l) => (l.startsWith('{') ? JSON.parse(l) : null)).find((e) => e?.msg === 'partition log recovered')
    return { servingMs: round(servingMs, 0), workerdReadyMs: w.workerdReadyMs, objectStartMs: w.objectStartMs, tailFetchMs: tailFetchMs === null ? null : round(tailFetchMs, 0), topicObjectMs: topicObjectMs === null ? null : round(topicObjectMs, 0), verifiedBytes: recovered?.verifiedBytes ?? null, resumedFrom: recovered?.resumedFrom ?? null }
  } finally {
    await stopChild(w.child, 10_000)
  }
}

/** SDK produce throughput and produce→subscribe latency, workerd then Node. */
async function throughputRows(sdk, opts, bundle) {
  const rows = []
  for (const runtime of ['workerd', 'node']) {
    const run = async (wsUrl) => ({ runtime, ...(await produceFor(sdk, wsUrl, opts.throughput.durationMs)), latency: await latencyFor(sdk, wsUrl, opts.throughput) })
    if (runtime === 'node') rows.push(await withBroker({ fsync: 'always', pinCpu: opts.brokerCpu }, ({ wsUrl }) => run(wsUrl)))
    else {
      const dir = await mkdtemp(join(tmpdir(), 'samsa-bench-edge-thr-'))
      try {
        rows.push(await withWorkerd({ dataDir: dir, bundle, pinCpu: opts.brokerCpu, logLevel: 'warn' }, (w) => run(w.wsUrl)))
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    }
  }
  return rows
}

async function produceFor(sdk, wsUrl, durationMs) {
  const client = makeClient(sdk, { url: [wsUrl], clientId: 'bench-edge-produce' })
  try {
    await withTimeout(client.admin.createTopic('edge-produce', { partitions: 1 }), 10_000, 'createTopic')
    const producer = client.producer({ acks: 'all' })
    const value = new Uint8Array(100).fill(0x61)
    const chunk = Array.from({ length: 1000 }, () => ({ value }))
    const unsettled = new Set()
    let acked = 0
    const t0 = performance.now()
    while (performance.now() - t0 < durationMs) {
      const p = producer.send('edge-produce', chunk).then(() => void (acked += chunk.length)).finally(() => unsettled.delete(p))
      unsettled.add(p)
      if (unsettled.size >= 16) await Promise.race(unsettled)
    }
    await Promise.all(unsettled)
    const elapsed = performance.now() - t0
    return { recordBytes: 100, ...rates(acked, 100, elapsed) }
  } finally {
    await closeClient(client)
  }
}

/** One record per send() at ratePerSec, each stamped with its send time; latency = delivery to the subscriber − send. */
async function latencyFor(sdk, wsUrl, { latencyMs, ratePerSec }) {
  const client = makeClient(sdk, { url: [wsUrl], clientId: 'bench-edge-latency' })
  try {
    await withTimeout(client.admin.createTopic('edge-latency', { partitions: 1 }), 10_000, 'createTopic')
    const samples = []
    const sub = client.consumer().subscribe('edge-latency', { from: 'latest' })
    const reading = (async () => {
      for await (const r of sub) samples.push(performance.now() - Number(r.text()))
    })()
    const producer = client.producer({ acks: 'all', lingerMs: 0 })
    await producer.send('edge-latency', [{ value: String(performance.now()) }])
    await sleep(200)
    samples.length = 0
    const sends = []
    const t0 = performance.now()
    for (let i = 0; performance.now() - t0 < latencyMs; i++) {
      const due = t0 + (i * 1000) / ratePerSec
      const wait = due - performance.now()
      if (wait > 0) await sleep(wait)
      sends.push(producer.send('edge-latency', [{ value: String(performance.now()) }]))
    }
    await Promise.all(sends)
    await sleep(500)
    sub.close()
    await reading.catch(() => {})
    const s = summarize(samples)
    return { sent: sends.length, received: samples.length, p50Ms: round(s.p50Ms, 2), p99Ms: round(s.p99Ms, 2), maxMs: round(s.maxMs, 2) }
  } finally {
    await closeClient(client)
  }
}
