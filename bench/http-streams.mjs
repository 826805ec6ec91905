#!/usr/bin/env node
// HTTP streams bench on its own (also `node bench/run.mjs --only streams`): scenarios/http-streams.mjs, printed as
// JSON and a table. See bench/README.md.
//   node bench/http-streams.mjs [--quick] [--pin]      (after npm run build)
import { parseArgs } from 'node:util'
import { killAllChildren } from './lib/child-process.mjs'
import { round } from './lib/stats.mjs'
import { fmtInt, fmtNum, formatTable } from './lib/table.mjs'
import { httpStreams } from './scenarios/http-streams.mjs'

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false }, pin: { type: 'boolean', default: false } } })
let results
try {
  results = await httpStreams({ durationMs: flags.quick ? 2_000 : 6_000, serverCpu: flags.pin ? 1 : undefined })
} finally {
  killAllChildren()
}
process.stdout.write(`${JSON.stringify({ machine: { node: process.version }, ...results }, null, 2)}\n\n`)
process.stdout.write(
  `${formatTable(
    ['target', 'scenario', 'records/s', 'p50 ms', 'p99 ms'],
    results.rows.map((r) => [r.target, r.scenario, r.recordsPerSec !== undefined ? fmtInt(r.recordsPerSec) : `${r.received}/${r.sent}`, fmtNum(round(r.latency.p50Ms, 2)), fmtNum(round(r.latency.p99Ms, 2))]),
  )}\n`,
)
