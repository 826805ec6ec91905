// Scenario "restart": time from start to serving with a large log. A topic of `partitions` partitions, each holding
// `segmentsPerPartition` segments of `segmentBytes` (idempotent batches from `producers` producer ids), written straight
// into the broker's data directory; then the broker is started and stopped cleanly once (it writes the indexes and
// whatever a clean shutdown records) and the measured runs follow: clean restarts, then a restart after `kill -9`
// with `tailBytesPerPartition` produced to every partition since the previous start. Baselines in the same run: reading
// the same segment bytes sequentially from disk (what a full verification must at least read), clean restarts with the
// recovery points removed first (every batch verified, as before there were recovery points), and the same broker
// starting on a data directory with an empty topic (process start, no log to open). Each start also reports the CPU
// the broker process had used when it served (from /proc), which a busy machine disturbs far less than wall time.
import { mkdtemp, open, readdir, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Acks, encodeRecordBatch, exchanges, patchBatch } from '@samsa/shared'
import { samsaBin } from '../lib/broker-process.mjs'
import { spawnNode, stopChild } from '../lib/child-process.mjs'
import { rawRequest } from '../lib/raw-request.mjs'
import { round } from '../lib/stats.mjs'
import { processCpuMs } from '../lib/cpu.mjs'

const TOPIC = 'bench-restart'

/**
 * opts: { partitions, segmentsPerPartition, segmentBytes, recordBytes, recordsPerBatch, producers, cleanRuns,
 *         tailBytesPerPartition, brokerNodeArgs, brokerCpu }
 */
export async function restartScenario(opts) {
  const dataDir = await mkdtemp(join(tmpdir(), 'samsa-bench-restart-'))
  const emptyDir = await mkdtemp(join(tmpdir(), 'samsa-bench-restart-empty-'))
  try {
    const t0 = performance.now()
    await withStarted(opts, dataDir, (url) => rawRequest(url, exchanges.createTopic, { name: TOPIC, partitions: opts.partitions }))
    const logBytes = await writeLog(dataDir, opts)
    const generateMs = performance.now() - t0
    // First start on the generated files: indexes are written, and a clean shutdown records what it records.
    const first = await measuredStart(opts, dataDir, { stop: 'clean' })

    const baselineReadMs = await readSequentially(dataDir, opts.partitions)
    const clean = []
    for (let i = 0; i < opts.cleanRuns; i++) clean.push(await measuredStart(opts, dataDir, { stop: 'clean' }))
    // The behaviour before recovery points, in the same run: with the partitions' recovery-point files removed every
    // batch is verified again and the producer state is rebuilt from the whole log.
    const fullVerify = []
    for (let i = 0; i < opts.cleanRuns; i++) {
      await removeRecoveryPoints(dataDir, opts.partitions)
      fullVerify.push(await measuredStart(opts, dataDir, { stop: 'clean' }))
    }
    // Writes a tail to every partition, then kill -9; the next start is measured.
    await measuredStart(opts, dataDir, { stop: 'kill', tailBytes: opts.tailBytesPerPartition })
    const afterKill = await measuredStart(opts, dataDir, { stop: 'clean' })

    await withStarted(opts, emptyDir, (url) => rawRequest(url, exchanges.createTopic, { name: TOPIC, partitions: opts.partitions }))
    const empty = []
    for (let i = 0; i < opts.cleanRuns; i++) empty.push(await measuredStart(opts, emptyDir, { stop: 'clean' }))

    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
    return {
      scenario: 'restart',
      partitions: opts.partitions,
      segmentsPerPartition: opts.segmentsPerPartition,
      segmentBytes: opts.segmentBytes,
      logBytes,
      recordBytes: opts.recordBytes,
      recordsPerBatch: opts.recordsPerBatch,
      producers: opts.producers,
      generateMs: round(generateMs, 0),
      firstStart: first,
      /** Each clean restart: spawn → "broker listening" line, and spawn → every partition answered a fetch and partition 0 a produce. */
      clean,
      cleanServingMs: median(clean.map((r) => r.servingMs)),
      cleanBrokerCpuMs: median(clean.map((r) => r.brokerCpuMs)),
      /** Clean restarts with the recovery points removed first: every batch verified (the behaviour before them). */
      fullVerify,
      fullVerifyServingMs: median(fullVerify.map((r) => r.servingMs)),
      fullVerifyBrokerCpuMs: median(fullVerify.map((r) => r.brokerCpuMs)),
      tailBytesPerPartition: opts.tailBytesPerPartition,
      afterKill9: afterKill,
      afterKill9ServingMs: afterKill.servingMs,
      baselineReadMs: round(baselineReadMs, 1),
      /** The same broker on a data directory holding the same topic with empty partitions (median of cleanRuns starts). */
      baselineEmptyStart: empty,
      baselineEmptyStartMs: median(empty.map((r) => r.servingMs)),
      baselineEmptyStartCpuMs: median(empty.map((r) => r.brokerCpuMs)),
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true })
    await rm(emptyDir, { recursive: true, force: true })
  }
}

function brokerArgs(opts, dataDir) {
  return [...(opts.brokerNodeArgs ?? []), samsaBin, 'start', '--port', '0', '--data', dataDir, '--log-format', 'json', '--log-level', 'info', '--fsync', 'always']
}

async function spawnBroker(opts, dataDir) {
  return spawnNode(brokerArgs(opts, dataDir), {
    pinCpu: opts.brokerCpu,
    timeoutMs: 120_000,
    isReady: (line) => {
      if (!line.startsWith('{')) return undefined
      const entry = JSON.parse(line)
      return entry.msg === 'broker listening' && typeof entry.url === 'string' ? entry.url : undefined
    },
  })
}

async function withStarted(opts, dataDir, fn) {
  const broker = await spawnBroker(opts, dataDir)
  try {
    return await fn(broker.ready.replace(/^http/, 'ws'))
  } finally {
    await stopChild(broker.child, 30_000)
  }
}

/** Spawns the broker and times it until it serves; then stops it cleanly or (after writing a tail) with SIGKILL. */
async function measuredStart(opts, dataDir, { stop, tailBytes = 0 }) {
  const start = performance.now()
  const broker = await spawnBroker(opts, dataDir)
  const listeningMs = performance.now() - start
  const url = broker.ready.replace(/^http/, 'ws')
  try {
    for (let p = 0; p < opts.partitions; p++) {
      await rawRequest(url, exchanges.fetch, { topic: TOPIC, partition: p, offset: 0, maxBytes: 1024, maxWaitMs: 0, minBytes: 0 }, { timeoutMs: 120_000 })
    }
    await rawRequest(url, exchanges.produce, { topic: TOPIC, partition: 0, acks: Acks.ALL, timeoutMs: 30_000, batch: plainBatch(opts.recordBytes, 1) }, { timeoutMs: 120_000 })
    const servingMs = performance.now() - start
    // CPU the broker process used until then: what the start cost, whatever else the machine was doing.
    const brokerCpuMs = processCpuMs(broker.child.pid)
    if (tailBytes > 0) {
      const batch = plainBatch(opts.recordBytes, Math.max(1, Math.floor(Math.min(tailBytes, 256 * 1024) / opts.recordBytes)))
      for (let p = 0; p < opts.partitions; p++) {
        for (let written = 0; written < tailBytes; written += batch.length) {
          await rawRequest(url, exchanges.produce, { topic: TOPIC, partition: p, acks: Acks.ALL, timeoutMs: 30_000, batch: batch.slice() }, { timeoutMs: 60_000 })
        }
      }
    }
    return { listeningMs: round(listeningMs, 1), servingMs: round(servingMs, 1), brokerCpuMs, stoppedBy: stop === 'kill' ? 'SIGKILL' : 'SIGTERM' }
  } catch (err) {
    err.message += `\nbroker output (last lines):\n${broker.lines.slice(-20).join('\n')}`
    throw err
  } finally {
    if (stop === 'kill') {
      broker.child.kill('SIGKILL')
      await stopChild(broker.child, 10_000)
    } else {
      await stopChild(broker.child, 60_000)
    }
  }
}

function plainBatch(recordBytes, records) {
  const value = new Uint8Array(recordBytes).fill(0x62)
  return encodeRecordBatch({ records: Array.from({ length: records }, () => ({ key: null, value, headers: [], timestamp: Date.now() })) })
}

/**
 * Replaces each partition's empty segment with segmentsPerPartition segments of idempotent batches (producer ids
 * round-robin, consecutive sequences per producer), leader epoch 0 as the topic's leader-epoch checkpoint says.
 * Returns the bytes written.
 */
async function writeLog(dataDir, opts) {
  const value = new Uint8Array(opts.recordBytes).fill(0x61)
  const ts = Date.now()
  let total = 0
  for (let p = 0; p < opts.partitions; p++) {
    const dir = join(dataDir, 'topics', TOPIC, String(p))
    for (const name of await readdir(dir)) if (/^\d{20}\.(log|index)$/.test(name)) await unlink(join(dir, name))
    const nextSeq = new Array(opts.producers).fill(0)
    let offset = 0
    let batchNo = 0
    for (let s = 0; s < opts.segmentsPerPartition; s++) {
      const parts = []
      let size = 0
      const base = offset
      while (size < opts.segmentBytes) {
        const producerId = batchNo++ % opts.producers
        const records = Array.from({ length: opts.recordsPerBatch }, (_, i) => ({ key: null, value, headers: [], timestamp: ts + i }))
        const batch = encodeRecordBatch({ records, producerId, producerEpoch: 0, baseSequence: nextSeq[producerId] })
        nextSeq[producerId] += opts.recordsPerBatch
        patchBatch(batch, 0, offset, 0)
        offset += opts.recordsPerBatch
        parts.push(batch)
        size += batch.length
      }
      await writeFile(join(dir, `${String(base).padStart(20, '0')}.log`), Buffer.concat(parts))
      total += size
    }
  }
  return total
}

async function removeRecoveryPoints(dataDir, partitions) {
  for (let p = 0; p < partitions; p++) await rm(join(dataDir, 'topics', TOPIC, String(p), 'recovery-point'), { force: true })
}

/** Reads every segment file of the topic once, front to back in 1 MiB reads; returns the milliseconds it took. */
async function readSequentially(dataDir, partitions) {
  const buf = Buffer.allocUnsafe(1 << 20)
  const start = performance.now()
  for (let p = 0; p < partitions; p++) {
    const dir = join(dataDir, 'topics', TOPIC, String(p))
    for (const name of (await readdir(dir)).filter((n) => n.endsWith('.log')).sort()) {
      const fh = await open(join(dir, name), 'r')
      try {
        while ((await fh.read(buf, 0, buf.length, null)).bytesRead > 0);
      } finally {
        await fh.close()
      }
    }
  }
  return performance.now() - start
}
