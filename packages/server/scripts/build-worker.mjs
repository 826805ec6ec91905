/**
 * @module Bundles the Cloudflare Worker (packages/server/dist/adapters/cloudflare/worker.js, built by tsc) into one
 * ES module as workerd loads it: esbuild, the `workerd`/`worker`/`browser` export conditions, no Node built-in
 * provided (the Worker runs without nodejs_compat), so any `node:` import stays an import and the bundle check
 * (adapters/cloudflare/worker-bundle.test.ts) names it. Used by the conformance launcher and the bench.
 */
import { build } from 'esbuild'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const WORKER_ENTRY = fileURLToPath(new URL('../dist/adapters/cloudflare/worker.js', import.meta.url))
/** The compatibility date the Worker is tested with (the local workerd accepts dates up to 2026-05-03). */
export const COMPATIBILITY_DATE = '2026-04-07'

/**
 * Returns the bundle's path, the imports esbuild left external (the runtime must provide them) and the files it
 * bundled. `entry` (default the built worker.js) and `alias` let a test bundle the TypeScript sources instead.
 */
export async function buildWorker({ outDir, entry = WORKER_ENTRY, alias = {} } = {}) {
  const outfile = join(outDir ?? (await mkdtemp(join(tmpdir(), 'samsa-worker-'))), 'worker.mjs')
  const result = await build({
    entryPoints: [entry],
    alias,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser', 'import'],
    mainFields: ['module', 'main'],
    external: ['node:*', 'cloudflare:*'],
    outfile,
    metafile: true,
    logLevel: 'silent',
  })
  const external = new Set()
  for (const input of Object.values(result.metafile.inputs)) for (const i of input.imports) if (i.external) external.add(i.path)
  return { outfile, external: [...external].sort(), inputs: Object.keys(result.metafile.inputs) }
}
