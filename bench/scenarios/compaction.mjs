// Log-cleaner throughput: one partition on the file storage (`totalMB` of log: 100 MB full, 20 MB --quick), keyed
// records of 80 B values over keys 10 % as many as the records (so 10 % of the records are live after compaction),
// 100-record batches, 16 MiB segments (--quick: 4 MiB); one unthrottled cleaner pass, timed. cleanedMBps: sealed
// partition bytes cleaned per second (each is read twice: the key map, then the rewrite; readMBps counts both reads).
// The data directory is a temp dir, removed afterwards.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeRecordBatch } from '@samsa/shared'
import { FileLogStorage } from '../../packages/server/dist/adapters/node/file-log-storage.js'
import { nativeCrc32c } from '../../packages/server/dist/adapters/node/native-crc32c.js'
import { CleanerThrottle } from '../../packages/server/dist/log/cleaner-throttle.js'
import { PartitionLog, defaultPartitionLogConfig } from '../../packages/server/dist/log/partition-log.js'

const VALUE_BYTES = 80
const PER_BATCH = 100
const MB = 1024 * 1024

export async function compactionThroughput({ totalMB = 100, segmentMB = 16, dataDir } = {}) {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'samsa-compaction-'))
  const clock = { nowMs: () => Date.now(), monotonicMs: () => performance.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (t) => clearTimeout(t) }
  const logger = { debug() {}, info() {}, warn: console.warn, error: console.error, child() { return logger } }
  const crc32c = nativeCrc32c()
  const config = { ...defaultPartitionLogConfig, segmentBytes: segmentMB * MB, fsync: 'never' }
  try {
    const log = await PartitionLog.open({ storage: new FileLogStorage(dir), dir: 'p-0', config, clock, logger, leaderEpoch: 0, ...(crc32c ? { crc32c } : {}) })
    const te = new TextEncoder()
    const value = te.encode('x'.repeat(VALUE_BYTES))
    const sample = encodeRecordBatch({ records: Array.from({ length: PER_BATCH }, (_, i) => ({ key: te.encode(`key-${String(i).padStart(6, '0')}`), value, headers: [], timestamp: Date.now() })) })
    const batches = Math.ceil((totalMB * MB) / sample.length)
    const records = batches * PER_BATCH
    const keys = Math.round(records / 10)
    let k = 0
    for (let b = 0; b < batches; b++) {
      const recs = []
      for (let i = 0; i < PER_BATCH; i++) recs.push({ key: te.encode(`key-${String(k++ % keys).padStart(6, '0')}`), value, headers: [], timestamp: Date.now() })
      await log.append(encodeRecordBatch({ records: recs }))
    }
    const t0 = performance.now()
    const r = await log.clean({ deleteRetentionMs: 86_400_000, indexIntervalBytes: config.indexIntervalBytes, throttle: new CleanerThrottle(clock, Infinity) })
    const seconds = (performance.now() - t0) / 1000
    await log.close()
    return {
      scenario: 'compaction',
      records,
      keys,
      segmentMB,
      logMB: +((batches * sample.length) / MB).toFixed(1),
      ...r,
      seconds: +seconds.toFixed(2),
      readMBps: +(r.bytesRead / MB / seconds).toFixed(1),
      cleanedMBps: +((r.bytesRead / 2) / MB / seconds).toFixed(1),
      freedMB: +(r.bytesRemoved / MB).toFixed(1),
    }
  } finally {
    if (dataDir === undefined) rmSync(dir, { recursive: true, force: true })
  }
}

/** The human table of the compaction rows. */
export function compactionTable(rows, { formatTable, fmtInt, fmtNum }) {
  return formatTable(
    ['log cleaner, one unthrottled pass (file storage, 80 B values, 10 % of records live after)', 'log MB', 'segments', 'records removed', 'seconds', 'cleaned MB/s', 'read MB/s', 'freed MB'],
    rows.map((r) => [`${fmtInt(r.records)} records over ${fmtInt(r.keys)} keys, ${r.segmentMB} MiB segments`, fmtNum(r.logMB, 1), r.segmentsCleaned, fmtInt(r.recordsRemoved), fmtNum(r.seconds, 2), fmtNum(r.cleanedMBps, 1), fmtNum(r.readMBps, 1), fmtNum(r.freedMB, 1)]),
  )
}
