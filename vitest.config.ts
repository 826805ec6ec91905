import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (p: string) => fileURLToPath(new URL(`./packages/${p}/src/index.ts`, import.meta.url))

export default defineConfig({
  resolve: {
    alias: {
      // Before '@samsa/client-browser', which would otherwise take this subpath as a prefix.
      '@samsa/client-browser/yjs': fileURLToPath(new URL('./packages/client-browser/src/yjs/index.ts', import.meta.url)),
      '@samsa/shared': src('shared'),
      '@samsa/client-browser': src('client-browser'),
      '@samsa/server': src('server'),
    },
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // `vitest run` runs both; `--project unit` only the packages' own tests (`npm run test:unit`).
    projects: [
      { extends: true, test: { name: 'unit', include: ['packages/*/src/**/*.test.ts'] } },
      // test/fault/ runs real multi-process clusters under faults: its own config (vitest.fault.config.ts, `npm run test:fault`).
      { extends: true, test: { name: 'integration', include: ['test/**/*.test.ts'], exclude: ['test/fault/**', 'test/runtimes/**', '**/node_modules/**'] } },
      // The same broker under Node, Bun and Deno (binaries from the pinned npm packages), against the built server: `npm run test:runtimes`.
      { extends: true, test: { name: 'runtimes', include: ['test/runtimes/**/*.test.ts'] } },
    ],
  },
})
