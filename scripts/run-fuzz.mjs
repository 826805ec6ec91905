#!/usr/bin/env node
/**
 * The long frame fuzz run against a broker with authentication (and so authorization) on (test/integration/authz-frame-fuzz.test.ts, which
 * `npm test` runs with 5,000 frames).
 *
 *   npm run fuzz                               # 100,000 frames, the fixed seed
 *   npm run fuzz -- --frames 1000000 --seed 7  # more frames, another seed (printed; replay it with --seed)
 */
import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { frames: { type: 'string', default: '100000' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } } })
if (values.help) {
  console.log('usage: npm run fuzz -- [--frames N] [--seed S]')
  process.exit(0)
}
const frames = Number(values.frames)
if (!Number.isInteger(frames) || frames < 1) {
  console.error(`fuzz: --frames must be a positive integer, got ${values.frames}`)
  process.exit(2)
}
const env = { ...process.env, SAMSA_FUZZ_FRAMES: String(frames), ...(values.seed !== undefined ? { SAMSA_FUZZ_SEED: values.seed } : {}) }
const r = spawnSync('npx', ['vitest', 'run', 'test/integration/authz-frame-fuzz.test.ts'], { stdio: 'inherit', env })
process.exit(r.status ?? 1)
