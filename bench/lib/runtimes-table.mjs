// The human table of the `runtimes` scenario: per runtime, SDK produce throughput and end-to-end latency, each
// beside Node 20's (the node running the bench) from the same run.
import { round } from './stats.mjs'
import { fmtInt, fmtNum, formatTable } from './table.mjs'

/** null when the report has no runtimes rows. */
export function runtimesTable(results) {
  const produce = results.filter((r) => r.scenario === 'runtimes-produce')
  const latency = results.filter((r) => r.scenario === 'runtimes-latency')
  const runtimes = [...new Set([...produce, ...latency].map((r) => r.runtime))]
  if (runtimes.length === 0) return null
  const base = produce.find((r) => r.runtime === 'node')
  const baseLat = latency.find((r) => r.runtime === 'node')
  return formatTable(
    ['broker runtime (SDK client on the bench node), 100 B, fsync always', 'version', 'produce records/s', 'vs node', 'server µs/rec', 'e2e p50 ms', 'e2e p99 ms', 'p99 vs node', 'max ms', 'lost'],
    runtimes.map((runtime) => {
      const p = produce.find((r) => r.runtime === runtime)
      const l = latency.find((r) => r.runtime === runtime)
      return [
        runtime,
        p?.runtimeVersion ?? l?.runtimeVersion,
        p ? fmtInt(p.recordsPerSec) : 'failed',
        p && base ? fmtNum(round(p.recordsPerSec / base.recordsPerSec, 2), 2) : null,
        p ? fmtNum(p.serverCpuUsPerRecord, 2) : null,
        l ? fmtNum(l.p50Ms, 2) : 'failed',
        l ? fmtNum(l.p99Ms, 2) : null,
        l && baseLat?.p99Ms ? fmtNum(round(l.p99Ms / baseLat.p99Ms, 2), 2) : null,
        l ? fmtNum(l.maxMs, 1) : null,
        l ? l.lost : null,
      ]
    }),
  )
}
