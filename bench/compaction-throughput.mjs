// Log-cleaner throughput: one partition of ~100 MB on the file storage, 1 M keyed records over 100 k keys (10 % live
// after compaction), 100-record batches, 16 MiB segments; one unthrottled cleaner pass, timed. partitionMBps: sealed
// bytes cleaned per second (each is read twice: the key map, then the rewrite).
// Usage: npm run build && node bench/compaction-throughput.mjs [dataDir] [totalMB]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeRecordBatch } from '@samsa/shared'
import { FileLogStorage } from '../packages/server/dist/adapters/node/file-log-storage.js'
import { nativeCrc32c } from '../packages/server/dist/adapters/node/native-crc32c.js'
import { CleanerThrottle } from '../packages/server/dist/log/cleaner-throttle.js'
import { PartitionLog, defaultPartitionLogConfig } from '../packages/server/dist/log/partition-log.js'

const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'samsa-compaction-'))
const totalMB = Number(process.argv[3] ?? 100)
const VALUE_BYTES = 80
const PER_BATCH = 100
const clock = { nowMs: () => Date.now(), monotonicMs: () => performance.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (t) => clearTimeout(t) }
const logger = { debug() {}, info() {}, warn: console.warn, error: console.error, child() { return logger } }
const crc32c = nativeCrc32c()
const config = { ...defaultPartitionLogConfig, segmentBytes: 16 * 1024 * 1024, fsync: 'never' }
const open = () => PartitionLog.open({ storage: new FileLogStorage(dir), dir: 'p-0', config, clock, logger, leaderEpoch: 0, ...(crc32c ? { crc32c } : {}) })

const te = new TextEncoder()
const value = te.encode('x'.repeat(VALUE_BYTES))
const sample = encodeRecordBatch({ records: Array.from({ length: PER_BATCH }, (_, i) => ({ key: te.encode(`key-${String(i).padStart(6, '0')}`), value, headers: [], timestamp: Date.now() })) })
const batches = Math.ceil((totalMB * 1024 * 1024) / sample.length)
const records = batches * PER_BATCH
const keys = Math.round(records / 10) // 10 % of the records are the latest of their key

const log = await open()
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
const MB = 1024 * 1024
console.log(JSON.stringify({ records, keys, logMB: +((batches * sample.length) / MB).toFixed(1), ...r, seconds: +seconds.toFixed(2), readMBps: +(r.bytesRead / MB / seconds).toFixed(1), partitionMBps: +((r.bytesRead / 2) / MB / seconds).toFixed(1), freedMB: +(r.bytesRemoved / MB).toFixed(1) }))
if (process.argv[2] === undefined) rmSync(dir, { recursive: true, force: true })
