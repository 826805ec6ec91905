#!/usr/bin/env node
// `npm run bench`: runs the benchmark scenarios against the BUILT packages, prints JSON and a table,
// and writes the JSON to bench/results/<timestamp>.json. See bench/README.md.
import { mkdir, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { killAllChildren } from './lib/child-process.mjs'
import { machineInfo } from './lib/machine.mjs'
import { round } from './lib/stats.mjs'
import { fmtInt, fmtNum, formatTable } from './lib/table.mjs'
import { recordsPerFrame } from './lib/frame-bytes.mjs'
import { rawThroughput } from './scenarios/raw-throughput.mjs'
import { produceThroughput } from './scenarios/produce-throughput.mjs'
import { e2eLatency } from './scenarios/e2e-latency.mjs'
import { rawLatency } from './scenarios/raw-latency.mjs'
import { bundleSize } from './scenarios/bundle-size.mjs'
import { restartScenario } from './scenarios/restart.mjs'
import { sendOne } from './scenarios/send-one.mjs'
import { fanout } from './scenarios/fanout.mjs'
import { connectionRate, withAuthCases } from './scenarios/auth-cost.mjs'
import { httpStreams } from './scenarios/http-streams.mjs'
import { BENCH_RUNTIMES, runtimeVersion } from './lib/runtimes.mjs'
import { runtimesTable } from './lib/runtimes-table.mjs'
import { idle } from './scenarios/idle.mjs'
import { edgeScenario } from './scenarios/edge.mjs'
import { compactionTable, compactionThroughput } from './scenarios/compaction.mjs'
import { groupRebalance, groupsTable } from './scenarios/group-rebalance.mjs'

const SCENARIOS = ['bundle', 'raw', 'produce', 'send-one', 'latency', 'raw-latency', 'cluster', 'restart', 'fanout', 'auth', 'streams', 'runtimes', 'idle', 'edge', 'compaction', 'groups']
/** The `fanout` rows: subscriber sockets per run, one producer at FANOUT_RATE records/s, one record per send(). */
const FANOUT_SUBSCRIBERS = [100, 500]
const FANOUT_RATE = 100
/** The `cluster` rows: a local cluster of combined-mode nodes, a replicated topic, acks=all (waits for the ISR). */
const CLUSTER = { nodes: 3, replicationFactor: 3, minInsyncReplicas: 2 }
const RECORD_SIZES = [100, 1024]
/** The SDK's defaults: maxBatchBytes = the broker's maxBatchBytes (1 MiB), maxInFlight 5 per partition. */
const SDK_MAX_BATCH_BYTES = 1024 * 1024
const SDK_MAX_IN_FLIGHT = 5
/** `send-one`: send() calls kept in flight, one 100 B record each. */
const SEND_ONE_IN_FLIGHT = 1_000

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    out: { type: 'string' },
    pin: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

if (flags.help) {
  process.stdout.write(`usage: node bench/run.mjs [--quick] [--only ${SCENARIOS.join('|')}]… [--out DIR] [--pin] [--cpu-prof]
  --quick     short runs (whole run < 2 min on 2 cores)
  --only X    run only scenario X (repeatable, or comma-separated; runtimes: the broker on Node 20/22/24, Bun, Deno)
  --out DIR   where the JSON goes (default bench/results)
  --pin       taskset: bench process on CPU 0, broker / raw server on CPU 1
  --cpu-prof  run brokers with --cpu-prof; profiles go to <out>/profiles/
`)
  process.exit(0)
}

const only = (flags.only ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)
for (const name of only) {
  if (!SCENARIOS.includes(name)) {
    process.stderr.write(`unknown scenario "${name}"; known: ${SCENARIOS.join(', ')}\n`)
    process.exit(2)
  }
}
const selected = (name) => only.length === 0 || only.includes(name)
const quick = flags.quick
const outDir = flags.out ?? fileURLToPath(new URL('./results/', import.meta.url))
const profileDir = join(outDir, 'profiles')

const settings = quick
  ? { runtimesProduceMs: 800, runtimesWarmupRecords: 10_000, runtimesLatencyMs: 1_000, runtimesLatencyWarmupMs: 200, streamsMs: 800, sendOneMs: 2_500, sendOneWarmupRecords: 50_000, rawMs: 1_500, rawWarmupMs: 300, produceMs: 2_500, produceMaxBytes: 1e9, latencyMs: 2_000, latencyWarmupMs: 500, restartSegmentBytes: 1 << 20, restartCleanRuns: 2, fanoutMs: 1_200, fanoutWarmupMs: 300, authProduceMs: 1_000, authWarmupRecords: 30_000, connectMs: 750, idleConnections: 2_000, idleProcesses: 2, idleSettleMs: 500, edgePartitionBytes: 4e6, edgeColdRuns: 1, edgeThroughput: null, compactionMB: 20, compactionSegmentMB: 4, groupRounds: 1 }
  : { runtimesProduceMs: 10_000, runtimesWarmupRecords: 100_000, runtimesLatencyMs: 10_000, runtimesLatencyWarmupMs: 1_000, streamsMs: 6_000, sendOneMs: 10_000, sendOneWarmupRecords: 100_000, rawMs: 5_000, rawWarmupMs: 500, produceMs: 10_000, produceMaxBytes: 3e9, latencyMs: 10_000, latencyWarmupMs: 1_000, restartSegmentBytes: 10 << 20, restartCleanRuns: 3, fanoutMs: 10_000, fanoutWarmupMs: 1_000, authProduceMs: 10_000, authWarmupRecords: 100_000, connectMs: 5_000, idleConnections: 10_000, idleProcesses: 4, idleSettleMs: 2_000, edgePartitionBytes: 100e6, edgeColdRuns: 3, edgeThroughput: { durationMs: 5_000, latencyMs: 5_000, ratePerSec: 200 }, compactionMB: 100, compactionSegmentMB: 16, groupRounds: 3 }

const cpus = flags.pin ? { bench: 0, server: 1 } : {}
if (flags.pin) {
  const { execFileSync } = await import('node:child_process')
  execFileSync('taskset', ['-a', '-cp', String(cpus.bench), String(process.pid)], { stdio: 'ignore' })
}
const brokerNodeArgs = flags['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []

const startedAt = new Date()
const loadAvgAtStart = (await import('node:os')).loadavg().map((v) => round(v, 2))
const results = []
const errors = []
const log = (msg) => process.stderr.write(`[bench] ${msg}\n`)

async function step(label, fn) {
  log(`${label} …`)
  const t0 = performance.now()
  try {
    const r = await fn()
    results.push(r)
    log(`${label}: ${summaryLine(r)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`)
    return r
  } catch (err) {
    errors.push({ step: label, error: String(err?.stack ?? err) })
    log(`${label} FAILED: ${err?.message ?? err}`)
    return null
  }
}

function summaryLine(r) {
  if (r.scenario === 'idle') return `${r.target}${r.auth ? ` auth ${r.auth}` : ''}: ${fmtInt(r.connections)} connections, ${fmtNum(r.perConnection.rssBytes / 1024, 1)} KB RSS and ${fmtNum(r.perConnection.heapUsedBytes / 1024, 1)} KB heap per connection, ${fmtNum(r.after.rss / 2 ** 20, 0)} MB RSS in all`
  if (r.scenario === 'fanout') return `${r.target} → ${r.subscribers} sockets: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.serverCpuUsPerDelivery} µs server CPU per delivery, lost ${r.lost}`
  if (r.connectionsPerSec !== undefined) return `${fmtInt(r.connectionsPerSec)} connections/s (connect, hello, close; ${r.concurrency} at a time)`
  if (r.recordsPerSec !== undefined) return `${fmtInt(r.recordsPerSec)} records/s, ${r.mbPerSec} MB/s`
  if (r.scenario === 'send-one') return `${fmtInt(r.recordsPerSec)} records/s, client ${r.clientCpuUsPerSend} µs/send, broker ${r.serverCpuUsPerRecord} µs/record, ${r.frames?.meanRecordsPerFrame} records/frame`
  if (r.p50Ms !== undefined) return `p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms${r.serverCpuUsPerDelivered == null ? '' : `, broker ${r.serverCpuUsPerDelivered} µs/delivered record`}`
  if (r.scenario === 'edge') return `Durable Object cold start with ${fmtInt(r.partitionBytes)} B in its partition: first fetch at the tail ${r.coldStartMs} ms after spawning workerd (the topic object's start and first fetch ${r.topicObjectStartMs} ms, the catalog object's start ${r.objectStartMs} ms${r.baselineEmptyObjectStartMs === null ? '' : `, on empty storage ${r.baselineEmptyObjectStartMs} ms`}; verified on open: ${r.verifiedBytes.map(fmtInt).join(', ')} B)${r.throughput ? `; ${r.throughput.map((t) => `${t.runtime} ${fmtInt(t.recordsPerSec)} records/s, e2e p99 ${t.latency.p99Ms} ms`).join('; ')}` : ''}`
  if (r.scenario === 'restart') return `clean restart serving in ${r.cleanServingMs} ms (every batch verified: ${r.fullVerifyServingMs} ms), after kill -9 in ${r.afterKill9ServingMs} ms (${fmtInt(r.logBytes)} B of log; reading it: ${r.baselineReadMs} ms; empty start: ${r.baselineEmptyStartMs} ms)`
  if (r.scenario === 'streams') return r.rows.map((x) => `${x.target} ${x.scenario}: ${x.recordsPerSec !== undefined ? `${fmtInt(x.recordsPerSec)} records/s` : `${x.received}/${x.sent}`} p50 ${round(x.latency.p50Ms, 2)} ms`).join('; ')
  if (r.scenario === 'compaction') return `${r.cleanedMBps} MB/s cleaned (${r.logMB} MB, ${r.segmentsCleaned} segments, ${r.seconds} s)`
  if (r.scenario === 'groups') return r.rows.map((x) => `${x.event} → ${x.members}: ${x.ms} ms`).join('; ')
  if (r.scenario === 'bundle') return `served ${fmtInt(r.served.bytes)} B (${fmtInt(r.served.gzipBytes)} B gzip); gzip per entry point: ${r.apps.map((a) => `${a.name} ${fmtInt(a.gzipBytes)} B`).join(', ')}`
  return 'done'
}

try {
  if (selected('bundle')) await step('bundle size', bundleSize)

  // SDK produce first: the raw baseline then copies the frame sizes the SDK was seen to send.
  if (selected('produce')) {
    for (const fsync of ['always', 'never']) {
      for (const recordBytes of RECORD_SIZES) {
        await step(`produce ${recordBytes} B fsync=${fsync}`, () =>
          produceThroughput({
            recordBytes,
            fsync,
            chunkRecords: 1_000,
            maxUnsettled: 16,
            durationMs: settings.produceMs,
            maxRecords: Math.floor(settings.produceMaxBytes / recordBytes),
            warmupRecords: recordBytes >= 1024 ? 20_000 : 100_000,
            brokerNodeArgs,
            brokerCpu: cpus.server,
          }),
        )
      }
    }
  }

  if (selected('send-one')) {
    const r = await step(`send-one 100 B, ${SEND_ONE_IN_FLIGHT} in flight, fsync=always`, () =>
      sendOne({
        recordBytes: 100,
        fsync: 'always',
        inFlight: SEND_ONE_IN_FLIGHT,
        durationMs: settings.sendOneMs,
        maxRecords: 20_000_000,
        warmupRecords: settings.sendOneWarmupRecords,
        brokerNodeArgs,
        brokerCpu: cpus.server,
      }),
    )
    // Its baseline: raw ws with the frames the SDK was seen to send (records per frame) and its window.
    const perFrame = Math.max(1, Math.round(r?.frames?.meanRecordsPerFrame ?? 1))
    const raw = await step(`send-one baseline: raw ws 100 B × ${perFrame} per frame`, () =>
      rawThroughput({
        recordBytes: 100,
        recordsPerFrame: perFrame,
        window: SDK_MAX_IN_FLIGHT,
        durationMs: settings.rawMs,
        warmupMs: settings.rawWarmupMs,
        maxRecords: 100_000_000,
        serverCpu: cpus.server,
      }),
    )
    if (raw) {
      raw.scenario = 'send-one-raw'
      raw.framesFrom = 'mean records per produce frame the SDK sent in the send-one run'
    }
  }

  if (selected('raw')) {
    for (const recordBytes of RECORD_SIZES) {
      const seen = results.find((r) => r.scenario === 'produce' && !r.cluster && r.recordBytes === recordBytes && r.fsync === 'always' && r.frames)
      const perFrame = seen ? Math.max(1, Math.round(seen.frames.meanRecordsPerFrame)) : recordsPerFrame(recordBytes, SDK_MAX_BATCH_BYTES)
      const r = await step(`raw ${recordBytes} B`, () =>
        rawThroughput({
          recordBytes,
          recordsPerFrame: perFrame,
          window: SDK_MAX_IN_FLIGHT,
          durationMs: settings.rawMs,
          warmupMs: settings.rawWarmupMs,
          maxRecords: Math.floor(settings.produceMaxBytes * 4 / recordBytes),
          serverCpu: cpus.server,
        }),
      )
      if (r) r.framesFrom = seen ? 'mean records per produce frame the SDK sent in this run' : 'SDK default maxBatchBytes (1 MiB)'
    }
  }

  if (selected('latency')) {
    // As specified (producer defaults — lingerMs 0 — and --fsync always); then lingerMs 5 to show what a linger
    // costs; then the defaults on a --fsync never broker to show what the fsync costs.
    // First one record per send() (each due record its own send() call, as a chat page or a ticker sends).
    for (const [producerOptions, fsync, oneRecordPerSend] of [[{}, 'always', true], [{}, 'always', false], [{ lingerMs: 5 }, 'always', false], [{}, 'never', false]]) {
      const label = `${oneRecordPerSend ? ' one record per send()' : ''}${producerOptions.lingerMs === undefined ? '' : ` lingerMs=${producerOptions.lingerMs}`} fsync=${fsync}`
      await step(`latency 100 B @ 5000/s${label}`, () =>
        e2eLatency({
          ratePerSec: 5_000,
          recordBytes: 100,
          durationMs: settings.latencyMs,
          warmupMs: settings.latencyWarmupMs,
          tickMs: 2,
          fsync,
          drainTimeoutMs: 10_000,
          producerOptions,
          oneRecordPerSend,
          brokerNodeArgs,
          brokerCpu: cpus.server,
        }),
      )
    }
  }

  if (selected('cluster')) {
    // The same two measurements against a 3-node cluster (child processes, data in a temp dir, torn down after each
    // case): a replication-factor-3 topic, acks=all, brokers --fsync always.
    await step(`cluster ${CLUSTER.nodes} nodes RF=${CLUSTER.replicationFactor}: produce 100 B fsync=always`, () =>
      produceThroughput({
        recordBytes: 100,
        fsync: 'always',
        chunkRecords: 1_000,
        maxUnsettled: 16,
        durationMs: settings.produceMs,
        maxRecords: Math.floor(settings.produceMaxBytes / 100),
        warmupRecords: 100_000,
        brokerNodeArgs,
        brokerCpu: cpus.server,
        cluster: CLUSTER,
      }),
    )
    await step(`cluster ${CLUSTER.nodes} nodes RF=${CLUSTER.replicationFactor}: latency 100 B @ 5000/s fsync=always`, () =>
      e2eLatency({
        ratePerSec: 5_000,
        recordBytes: 100,
        durationMs: settings.latencyMs,
        warmupMs: settings.latencyWarmupMs,
        tickMs: 2,
        fsync: 'always',
        drainTimeoutMs: 10_000,
        producerOptions: {},
        brokerNodeArgs,
        brokerCpu: cpus.server,
        cluster: CLUSTER,
      }),
    )
  }

  if (selected('raw-latency')) {
    await step('raw-latency 100 B @ 5000/s', () =>
      rawLatency({
        ratePerSec: 5_000,
        recordBytes: 100,
        durationMs: settings.latencyMs,
        warmupMs: settings.latencyWarmupMs,
        tickMs: 2,
        drainTimeoutMs: 10_000,
        serverCpu: cpus.server,
      }),
    )
  }
  if (selected('restart')) {
    // 10 partitions × 10 segments: 1 GB of log (quick: 100 MB), 1 KiB records, batches of 16, 1,000 producer ids.
    await step(`restart 10 partitions × 10 segments of ${settings.restartSegmentBytes / 2 ** 20} MiB`, () =>
      restartScenario({
        partitions: 10,
        segmentsPerPartition: 10,
        segmentBytes: settings.restartSegmentBytes,
        recordBytes: 1024,
        recordsPerBatch: 16,
        producers: 1_000,
        cleanRuns: settings.restartCleanRuns,
        tailBytesPerPartition: settings.restartSegmentBytes / 2,
        brokerNodeArgs,
        brokerCpu: cpus.server,
      }),
    )
  }
  if (selected('edge')) {
    // The broker as a Durable Object in workerd (Miniflare): cold start on a persisted partition, and (full runs) produce and e2e beside Node.
    await step(`edge: Durable Object cold start with ${settings.edgePartitionBytes / 1e6} MB`, () =>
      edgeScenario({ partitionBytes: settings.edgePartitionBytes, coldRuns: settings.edgeColdRuns, recoveryPointMs: 1_000, baseline: !quick, throughput: settings.edgeThroughput, brokerCpu: cpus.server }),
    )
  }
  if (selected('fanout')) {
    for (const subscribers of FANOUT_SUBSCRIBERS) {
      for (const target of ['raw', 'samsa']) {
        await step(`fanout ${target} 1 → ${subscribers} @ ${FANOUT_RATE}/s`, () =>
          fanout({
            target,
            subscribers,
            ratePerSec: FANOUT_RATE,
            recordBytes: 100,
            durationMs: settings.fanoutMs,
            warmupMs: settings.fanoutWarmupMs,
            fsync: 'always',
            creditBytes: 1 << 20,
            drainTimeoutMs: 15_000,
            brokerNodeArgs,
            brokerCpu: cpus.server,
          }),
        )
      }
    }
  }
  if (selected('auth')) {
    // Authentication + authorization off vs on, in this run: SDK produce 100 B acks=all on a --fsync never broker
    // (the case with the most requests per second, so a per-request check shows most), and the connection set-up
    // rate (every hello verifies a JWT when on). Two rounds in the order off, on, on, off, so a drift in the
    // machine's load during the run weighs on both alike; the table shows the mean of each.
    await withAuthCases(async ([off, on]) => {
      const order = [off, on, on, off]
      for (const [i, auth] of order.entries()) {
        await step(`auth ${auth.label}: produce 100 B fsync=never (round ${i < 2 ? 1 : 2})`, () =>
          produceThroughput({
            recordBytes: 100,
            fsync: 'never',
            chunkRecords: 1_000,
            maxUnsettled: 16,
            durationMs: settings.authProduceMs,
            maxRecords: Math.floor(settings.produceMaxBytes / 100),
            warmupRecords: settings.authWarmupRecords,
            brokerNodeArgs,
            brokerCpu: cpus.server,
            auth,
          }),
        )
      }
      for (const [i, auth] of order.entries()) {
        await step(`auth ${auth.label}: connection set-up (round ${i < 2 ? 1 : 2})`, () =>
          connectionRate({ auth, fsync: 'never', durationMs: settings.connectMs, concurrency: 4, brokerNodeArgs, brokerCpu: cpus.server }),
        )
      }
    })
  }
  if (selected('idle')) {
    // Idle subscribed connections: the raw `ws` baseline, then the broker without and with authentication, in this run.
    const idleOpts = { connections: settings.idleConnections, processes: settings.idleProcesses, settleMs: settings.idleSettleMs, brokerNodeArgs, brokerCpu: cpus.server }
    await step(`idle raw ws: ${settings.idleConnections} subscribed sockets`, () => idle({ ...idleOpts, target: 'raw' }))
    await withAuthCases(async (cases) => {
      for (const auth of cases) {
        await step(`idle samsa auth ${auth.label}: ${settings.idleConnections} subscribed SDK clients`, () => idle({ ...idleOpts, target: 'samsa', auth }))
      }
    })
  }
  if (selected('streams')) {
    await step('http streams (Durable Streams, beside ws and the reference server)', () =>
      httpStreams({ durationMs: settings.streamsMs, serverCpu: cpus.server, brokerNodeArgs }),
    )
  }
  if (selected('runtimes')) {
    // One broker per runtime (bench/lib/runtimes.mjs), each --fsync always (the Bun and Deno entries always fsync):
    // SDK produce 100 B acks=all (as the produce rows), then end-to-end latency 100 B @ 5000/s (as the first latency
    // row); the client is always the node running the bench. Node 20 is the baseline the other rows are set beside.
    for (const runtime of BENCH_RUNTIMES) {
      let version
      try {
        version = runtimeVersion(runtime)
      } catch (err) {
        errors.push({ step: `runtimes ${runtime}`, error: String(err?.message ?? err) })
        log(`runtimes ${runtime} FAILED: ${err?.message ?? err}`)
        continue
      }
      const nodeArgs = runtime === 'node' || runtime === 'node22' || runtime === 'node24' ? brokerNodeArgs : []
      const tag = (r, scenario) => r && Object.assign(r, { scenario, runtime, runtimeVersion: version })
      tag(await step(`runtimes ${runtime} (${version}): produce 100 B fsync=always`, () =>
        produceThroughput({
          runtime, recordBytes: 100, fsync: 'always', chunkRecords: 1_000, maxUnsettled: 16, durationMs: settings.runtimesProduceMs,
          maxRecords: Math.floor(settings.produceMaxBytes / 100), warmupRecords: settings.runtimesWarmupRecords, brokerNodeArgs: nodeArgs, brokerCpu: cpus.server,
        }),
      ), 'runtimes-produce')
      tag(await step(`runtimes ${runtime} (${version}): latency 100 B @ 5000/s fsync=always`, () =>
        e2eLatency({
          runtime, ratePerSec: 5_000, recordBytes: 100, durationMs: settings.runtimesLatencyMs, warmupMs: settings.runtimesLatencyWarmupMs, tickMs: 2,
          fsync: 'always', drainTimeoutMs: 10_000, producerOptions: {}, brokerNodeArgs: nodeArgs, brokerCpu: cpus.server,
        }),
      ), 'runtimes-latency')
    }
  }
  if (selected('compaction')) {
    await step(`compaction: one cleaner pass over ${settings.compactionMB} MB`, () => compactionThroughput({ totalMB: settings.compactionMB, segmentMB: settings.compactionSegmentMB }))
  }
  if (selected('groups')) {
    await step('groups: rebalance times (join, leave, crash)', () => groupRebalance({ partitions: 6, rounds: settings.groupRounds, brokerNodeArgs, brokerCpu: cpus.server }))
  }
} finally {
  killAllChildren()
}

// Ratios against the baselines measured in this run.
for (const r of results) {
  if (r.scenario === 'produce') {
    const raw = results.find((b) => b.scenario === 'raw' && b.recordBytes === r.recordBytes)
    r.ratioToRaw = raw ? round(r.recordsPerSec / raw.recordsPerSec, 3) : null
  }
  if (r.scenario === 'raw' || r.scenario === 'send-one-raw') r.ratioToRaw = 1
  if (r.scenario === 'send-one') {
    const raw = results.find((b) => b.scenario === 'send-one-raw')
    r.ratioToRaw = raw ? round(r.recordsPerSec / raw.recordsPerSec, 3) : null
  }
  if (r.scenario === 'latency') {
    const raw = results.find((b) => b.scenario === 'raw-latency' && b.targetRatePerSec === r.targetRatePerSec)
    r.p50RatioToRaw = raw?.p50Ms ? round(r.p50Ms / raw.p50Ms, 2) : null
    r.p99RatioToRaw = raw?.p99Ms ? round(r.p99Ms / raw.p99Ms, 2) : null
  }
}

const report = {
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  command: `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  quick,
  only: only.length ? only : null,
  pinned: flags.pin,
  units: { mbPerSec: '10^6 bytes of record values per second', latency: 'ms' },
  machine: { ...machineInfo(), loadAvgAtStart },
  results,
  errors,
}

await mkdir(outDir, { recursive: true })
const file = join(outDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`)
await writeFile(file, JSON.stringify(report, null, 2) + '\n')
process.stdout.write(JSON.stringify(report, null, 2) + '\n\n')
// Exit explicitly once stdout is flushed: a misbehaving client must not keep the bench alive.
process.stdout.write(humanTables(report) + `\n\nwritten to ${file}\n`, () => process.exit(errors.length ? 1 : 0))

/** "1 node", or "3-node cluster RF=3" for the cluster rows. */
function deployment(r) {
  return r.cluster ? `${r.cluster.nodes}-node cluster RF=${r.cluster.replicationFactor}` : '1 node'
}

function humanTables(rep) {
  const m = rep.machine
  const out = [`machine: ${m.cpus} × ${m.cpuModel}, node ${m.node}, ws ${m.ws}${m.bufferutil ? ' + bufferutil' : ''}; ${rep.quick ? 'quick run' : 'full run'}`]
  const bundle = rep.results.find((r) => r.scenario === 'bundle')
  if (bundle) {
    out.push('', formatTable(
      ['SDK bundle (minified ESM; the apps: packages/client-browser/scripts/bundle-apps.mjs)', 'bytes', 'gzip bytes'],
      [
        ['/sdk/samsa.js (everything)', fmtInt(bundle.served.bytes), fmtInt(bundle.served.gzipBytes)],
        ...bundle.apps.map((a) => [`app: ${a.name}`, fmtInt(a.bytes), fmtInt(a.gzipBytes)]),
      ],
    ))
  }
  const thr = rep.results.filter((r) => r.scenario === 'raw' || r.scenario === 'produce')
  if (thr.length) {
    out.push('', formatTable(
      ['throughput', 'record', 'fsync', 'records/s', 'MB/s', 'vs raw', 'rec/frame', 'client cpu', 'server cpu', 'other cpu', 'client µs/rec', 'server µs/rec', 'broker ms/produce'],
      thr.map((r) => [
        r.scenario === 'raw' ? 'raw ws baseline' : `SDK produce acks=all, ${deployment(r)}${r.auth ? `, auth ${r.auth}` : ''}`,
        `${r.recordBytes} B`,
        r.fsync ?? '-',
        fmtInt(r.recordsPerSec),
        fmtNum(r.mbPerSec, 1),
        fmtNum(r.ratioToRaw, 3),
        r.scenario === 'raw' ? r.recordsPerFrame : r.frames?.meanRecordsPerFrame,
        r.clientCpuPct == null ? null : `${r.clientCpuPct}%`,
        r.serverCpuPct == null ? null : `${r.serverCpuPct}%`,
        r.otherCpuPct == null ? null : `${r.otherCpuPct}%`,
        fmtNum(r.clientCpuUsPerRecord, 2),
        fmtNum(r.serverCpuUsPerRecord, 2),
        r.brokerProduceLatency ? fmtNum(r.brokerProduceLatency.meanMs, 1) : null,
      ]),
    ))
  }
  const one = rep.results.filter((r) => r.scenario === 'send-one' || r.scenario === 'send-one-raw')
  if (one.length) {
    out.push('', formatTable(
      ['send-one: 1 record per send(), 100 B, fsync always', 'records/s', 'vs raw', 'rec/frame', 'client cpu', 'server cpu', 'client µs/send', 'broker µs/rec', 'broker ms/produce'],
      one.map((r) => [
        r.scenario === 'send-one' ? `SDK producer acks=all, ${r.inFlight} sends in flight` : `raw ws baseline, ${r.window} frames in flight`,
        fmtInt(r.recordsPerSec),
        fmtNum(r.ratioToRaw, 3),
        r.scenario === 'send-one' ? r.frames?.meanRecordsPerFrame : r.recordsPerFrame,
        r.clientCpuPct == null ? null : `${r.clientCpuPct}%`,
        r.serverCpuPct == null ? null : `${r.serverCpuPct}%`,
        fmtNum(r.scenario === 'send-one' ? r.clientCpuUsPerSend : r.clientCpuUsPerRecord, 2),
        fmtNum(r.serverCpuUsPerRecord, 2),
        r.brokerProduceLatency ? fmtNum(r.brokerProduceLatency.meanMs, 1) : null,
      ]),
    ))
  }
  const lat = rep.results.filter((r) => r.scenario === 'latency' || r.scenario === 'raw-latency')
  if (lat.length) {
    out.push('', formatTable(
      [`latency, 100 B records @ 5000/s`, 'sent', 'recv', 'p50 ms', 'p99 ms', 'p999 ms', 'max ms', 'ack p50', 'ack p99', 'broker µs/delivered'],
      lat.map((r) => [
        r.scenario === 'latency'
          ? `SDK produce→subscribe, ${deployment(r)}, ${r.oneRecordPerSend ? '1 record per send()' : '1 send() per 2 ms tick'}, linger ${typeof r.lingerMs === 'number' ? r.lingerMs : 0} ms, fsync ${r.fsync}`
          : 'raw ws echo (baseline)',
        r.sent,
        r.received,
        fmtNum(r.p50Ms, 2),
        fmtNum(r.p99Ms, 2),
        fmtNum(r.p999Ms, 2),
        fmtNum(r.maxMs, 2),
        fmtNum(r.ackLatency?.p50Ms, 2),
        fmtNum(r.ackLatency?.p99Ms, 2),
        fmtNum(r.serverCpuUsPerDelivered, 1),
      ]),
    ))
  }
  const clusterRows = rep.results.filter((r) => r.cluster)
  if (clusterRows.length) {
    // Side by side: the single-node rows and the cluster rows measured the same way (100 B records, acks=all, fsync always, linger 0).
    const same = (r) => r.recordBytes === 100 && r.fsync === 'always' && (r.scenario === 'produce' || ((r.lingerMs ?? 0) === 0 && !r.oneRecordPerSend))
    const pick = (scenario, clustered) => rep.results.find((r) => r.scenario === scenario && Boolean(r.cluster) === clustered && same(r))
    out.push('', formatTable(
      ['1 node vs cluster (100 B, acks=all, fsync always)', 'records/s', 'MB/s', 'server cpu', 'e2e p50 ms', 'e2e p99 ms', 'e2e p999 ms', 'ack p99', 'lost', 'dup'],
      [false, true].map((clustered) => {
        const p = pick('produce', clustered)
        const l = pick('latency', clustered)
        const c = (p ?? l)?.cluster
        return [
          clustered ? `${c?.nodes ?? CLUSTER.nodes}-node cluster, RF=${c?.replicationFactor ?? CLUSTER.replicationFactor}, min ISR ${c?.minInsyncReplicas ?? CLUSTER.minInsyncReplicas}` : '1 node',
          fmtInt(p?.recordsPerSec), fmtNum(p?.mbPerSec, 1), p?.serverCpuPct == null ? null : `${p.serverCpuPct}%`,
          fmtNum(l?.p50Ms, 2), fmtNum(l?.p99Ms, 2), fmtNum(l?.p999Ms, 2), fmtNum(l?.ackLatency?.p99Ms, 2), l?.lost, l?.duplicates,
        ]
      }),
    ))
  }
  const fan = rep.results.filter((r) => r.scenario === 'fanout')
  if (fan.length) {
    out.push('', formatTable(
      [`fan-out, 1 producer @ ${FANOUT_RATE}/s, 100 B, one record per send`, 'sockets', 'deliveries', 'lost', 'p50 ms', 'p99 ms', 'p999 ms', 'max ms', 'server cpu', 'server µs/delivery', 'subscribers cpu', 'other cpu'],
      fan.map((r) => [
        r.target === 'raw' ? 'raw ws broadcast (baseline)' : `Samsa broker, SDK producer acks=all, fsync ${r.fsync}`,
        r.subscribers, fmtInt(r.deliveries), String(r.lost), fmtNum(r.p50Ms, 2), fmtNum(r.p99Ms, 2), fmtNum(r.p999Ms, 2), fmtNum(r.maxMs, 2),
        r.serverCpuPct == null ? null : `${r.serverCpuPct}%`, fmtNum(r.serverCpuUsPerDelivery, 2),
        `${r.subscribersCpuPct}%`, r.otherCpuPct == null ? null : `${r.otherCpuPct}%`,
      ]),
    ))
  }
  const idleRows = rep.results.filter((r) => r.scenario === 'idle')
  if (idleRows.length) {
    const kb = (b) => fmtNum(b / 1024, 1)
    const mb = (b) => fmtNum(b / 2 ** 20, 0)
    out.push('', formatTable(
      ['idle subscribed connections (server memory after full GCs)', 'connections', 'RSS before MB', 'RSS after MB', 'RSS/conn KB', 'heap/conn KB', 'connect s', 'server µs/connect', 'closed early'],
      idleRows.map((r) => [
        r.target === 'raw' ? 'raw ws server, sockets in a Set (baseline)' : `Samsa broker, SDK clients, 1 subscription each, auth ${r.auth}`,
        fmtInt(r.connections), mb(r.before.rss), mb(r.after.rss), kb(r.perConnection.rssBytes), kb(r.perConnection.heapUsedBytes),
        fmtNum(r.connectMs / 1000, 1), fmtNum(r.serverCpuUsPerConnect, 0), r.closedEarly,
      ]),
    ))
  }
  const authRows = rep.results.filter((r) => r.auth && r.scenario !== 'idle')
  if (authRows.length) {
    // Side by side: the same measurements against a broker without and with authentication + authorization (the
    // mean of the rounds of each).
    const mean = (scenario, label, key) => {
      const vals = authRows.filter((r) => r.scenario === scenario && r.auth === label).map((r) => r[key]).filter((v) => typeof v === 'number')
      return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null
    }
    const ratio = (scenario, key) => {
      const [a, b] = [mean(scenario, 'off', key), mean(scenario, 'on', key)]
      return a && b ? fmtNum(b / a, 3) : null
    }
    const keys = [['produce', 'recordsPerSec'], ['produce', 'serverCpuUsPerRecord'], ['connect', 'connectionsPerSec'], ['connect', 'serverCpuUsPerConnection']]
    out.push('', formatTable(
      ['authentication + authorization (1 node, mean of rounds)', 'produce 100 B rec/s', 'server µs/rec', 'connections/s', 'server µs/conn'],
      [
        ...['off', 'on'].map((label) => [
          label === 'on' ? 'on (HS256 token, grants from its claim)' : 'off (open broker)',
          fmtInt(mean('produce', label, 'recordsPerSec')), fmtNum(mean('produce', label, 'serverCpuUsPerRecord'), 2),
          fmtInt(mean('connect', label, 'connectionsPerSec')), fmtNum(mean('connect', label, 'serverCpuUsPerConnection'), 0),
        ]),
        ['on / off', ...keys.map(([scenario, key]) => ratio(scenario, key))],
      ],
    ))
  }
  const restart = rep.results.find((r) => r.scenario === 'restart')
  if (restart) {
    out.push('', formatTable(
      [`restart, ${fmtInt(restart.logBytes)} B of log (${restart.partitions} partitions × ${restart.segmentsPerPartition} segments)`, 'listening ms', 'serving ms', 'broker cpu ms'],
      [
        ...restart.clean.map((c, i) => [`clean shutdown → start (run ${i + 1})`, fmtNum(c.listeningMs, 0), fmtNum(c.servingMs, 0), fmtNum(c.brokerCpuMs, 0)]),
        ...restart.fullVerify.map((c, i) => [`baseline: clean shutdown, recovery points removed → start (every batch verified, run ${i + 1})`, fmtNum(c.listeningMs, 0), fmtNum(c.servingMs, 0), fmtNum(c.brokerCpuMs, 0)]),
        [`kill -9 after ${fmtInt(restart.tailBytesPerPartition)} B more per partition → start`, fmtNum(restart.afterKill9.listeningMs, 0), fmtNum(restart.afterKill9.servingMs, 0), fmtNum(restart.afterKill9.brokerCpuMs, 0)],
        ['baseline: read the same segment bytes sequentially', null, fmtNum(restart.baselineReadMs, 0), null],
        ...restart.baselineEmptyStart.map((c, i) => [`baseline: start with the topic empty (run ${i + 1})`, fmtNum(c.listeningMs, 0), fmtNum(c.servingMs, 0), fmtNum(c.brokerCpuMs, 0)]),
      ],
    ))
  }
  const edge = rep.results.find((r) => r.scenario === 'edge')
  if (edge) {
    out.push('', formatTable(
      [`Durable Object (workerd, Miniflare) cold start, ${fmtInt(edge.partitionBytes)} B in its partition`, 'workerd ready ms', 'catalog object start ms', 'topic object start + fetch ms', 'tail fetch ms', 'verified B'],
      [
        ...edge.runs.cold.map((c, i) => [`fresh workerd on the persisted storage (run ${i + 1})`, fmtNum(c.workerdReadyMs, 0), fmtNum(c.objectStartMs, 0), fmtNum(c.topicObjectMs, 0), fmtNum(c.tailFetchMs, 0), fmtInt(c.verifiedBytes)]),
        ...edge.runs.empty.map((c, i) => [`baseline: storage with one empty topic (run ${i + 1})`, fmtNum(c.workerdReadyMs, 0), fmtNum(c.objectStartMs, 0), null, null, null]),
      ],
    ))
    if (edge.throughput) {
      out.push('', formatTable(
        ['workerd beside Node (SDK, 100 B records, acks=all)', 'records/s', 'MB/s', 'e2e p50 ms', 'e2e p99 ms', 'received'],
        edge.throughput.map((t) => [t.runtime === 'node' ? 'Node (samsa start, fsync always)' : 'workerd (Durable Object, SQLite)', fmtInt(t.recordsPerSec), fmtNum(t.mbPerSec, 1), fmtNum(t.latency.p50Ms, 2), fmtNum(t.latency.p99Ms, 2), `${t.latency.received}/${t.latency.sent}`]),
      ))
    }
  }
  const streams = rep.results.find((r) => r.scenario === 'streams')
  if (streams) {
    out.push('', formatTable(
      [`HTTP streams, ${streams.recordBytes} B records, fsync ${streams.fsync}`, 'scenario', 'records/s', 'requests/s', 'p50 ms', 'p99 ms'],
      streams.rows.map((r) => [
        r.target, r.scenario,
        r.recordsPerSec !== undefined ? fmtInt(r.recordsPerSec) : `${r.received}/${r.sent} delivered`,
        fmtInt(r.requestsPerSec),
        fmtNum(round(r.latency.p50Ms, 2)), fmtNum(round(r.latency.p99Ms, 2)),
      ]),
    ))
  }
  const runtimes = runtimesTable(rep.results)
  if (runtimes) out.push('', runtimes)
  const compaction = rep.results.filter((r) => r.scenario === 'compaction')
  if (compaction.length) out.push('', compactionTable(compaction, { formatTable, fmtInt, fmtNum }))
  const groups = rep.results.find((r) => r.scenario === 'groups')
  if (groups) out.push('', groupsTable(groups, { formatTable, fmtInt }))
  const noisy = rep.results.filter((r) => r.otherCpuPct > 20)
  if (noisy.length) out.push('', `warning: other processes used > 20% of a core during ${noisy.length} run(s) (column "other cpu"); numbers are noisy`)
  if (rep.errors.length) out.push('', `FAILED: ${rep.errors.map((e) => e.step).join(', ')}`)
  return out.join('\n')
}
