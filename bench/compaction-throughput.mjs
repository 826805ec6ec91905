// Log-cleaner throughput on its own (the `compaction` scenario of bench/run.mjs, scenarios/compaction.mjs): one
// unthrottled cleaner pass over a partition of totalMB (default 100) of keyed records, 10 % live after compaction.
// Usage: npm run build && node bench/compaction-throughput.mjs [dataDir] [totalMB]
import { compactionThroughput } from './scenarios/compaction.mjs'

const r = await compactionThroughput({ ...(process.argv[2] ? { dataDir: process.argv[2] } : {}), totalMB: Number(process.argv[3] ?? 100) })
console.log(JSON.stringify(r))
