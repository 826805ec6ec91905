/** @module Builds the ESM browser bundle of the SDK (dist/samsa.js, @samsa/shared bundled in) and prints its size. */
import { build } from 'esbuild'
import { statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { readFileSync } from 'node:fs'

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const outfile = resolve(pkg, 'dist/samsa.js')

await build({
  entryPoints: [resolve(pkg, 'src/index.ts')],
  outfile,
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  sourcemap: true,
  legalComments: 'none',
  // @samsa/shared is resolved from its TypeScript sources so the bundle never depends on a prior tsc build.
  alias: { '@samsa/shared': resolve(pkg, '../shared/src/index.ts') },
  logLevel: 'warning',
})

const bytes = statSync(outfile).size
const gzipped = gzipSync(readFileSync(outfile)).length
process.stdout.write(`${outfile}: ${(bytes / 1024).toFixed(1)} KiB (${(gzipped / 1024).toFixed(1)} KiB gzip)\n`)
