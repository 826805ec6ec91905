/**
 * Fault tests (test/fault/): real `samsa start` child processes in a 3-node cluster behind TCP proxies, killed,
 * paused and cut while clients run; each scenario checks its recorded history. Not part of `vitest run` (the
 * `integration` project of vitest.config.ts excludes test/fault/): `npm run test:fault` builds and runs them, one
 * file at a time.
 */
import { defineConfig } from 'vitest/config'
import base from './vitest.config.js'

export default defineConfig({
  resolve: base.resolve,
  test: {
    name: 'fault',
    include: ['test/fault/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
})
