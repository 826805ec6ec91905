#!/usr/bin/env node
/**
 * Runs the fault scenarios (test/fault/*.fault.test.ts, vitest.fault.config.ts), one file at a time.
 *
 *   npm run test:fault                       # quick tier: each scenario ≥ 20 s of load, fixed seed (as in npm test)
 *   npm run test:fault -- --long             # longer schedules (90 s of load each) with a random seed, printed
 *   npm run test:fault -- --seed 1234 [files] # replay one seed; files filter like vitest's (e.g. leader-kill)
 *   npm run test:fault -- --long --runs 5    # repeat the whole suite 5 times (a new seed each time unless --seed)
 *
 * The environment knobs the scenarios read: FAULT_LONG=1, FAULT_SEED, FAULT_DURATION_MS, FAULT_DEBUG=1.
 */
import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    long: { type: 'boolean', default: false },
    seed: { type: 'string' },
    runs: { type: 'string', default: '1' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
if (values.help) {
  console.log('usage: npm run test:fault -- [--long] [--seed N] [--runs K] [file filters…]')
  process.exit(0)
}
const runs = Number(values.runs)
if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
  console.error(`test:fault: --runs must be an integer from 1 to 100, got ${values.runs}`)
  process.exit(2)
}
if (values.seed !== undefined && !/^\d+$/.test(values.seed)) {
  console.error(`test:fault: --seed must be a non-negative integer, got ${values.seed}`)
  process.exit(2)
}
for (let run = 1; run <= runs; run++) {
  const seed = values.seed ?? (values.long ? String(Math.floor(Math.random() * 2 ** 31)) : '1')
  console.log(`test:fault: run ${run}/${runs}, ${values.long ? 'long' : 'quick'} tier, seed ${seed} (replay: npm run test:fault -- ${values.long ? '--long ' : ''}--seed ${seed})`)
  const env = { ...process.env, FAULT_SEED: seed, ...(values.long && { FAULT_LONG: '1' }) }
  const r = spawnSync('npx', ['vitest', 'run', '--config', 'vitest.fault.config.ts', ...positionals], { stdio: 'inherit', env })
  if (r.status !== 0) {
    console.error(`test:fault: failed on run ${run} with seed ${seed}; replay: npm run test:fault -- ${values.long ? '--long ' : ''}--seed ${seed} ${positionals.join(' ')}`.trimEnd())
    process.exit(r.status ?? 1)
  }
}
