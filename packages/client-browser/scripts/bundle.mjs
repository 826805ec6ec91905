/**
 * @module Builds the browser bundles of the SDK, @samsa/shared bundled in, and prints their sizes:
 * dist/samsa.js (ES module, for `import('/sdk/samsa.js')`) and dist/samsa.iife.js (a plain `<script>` that sets the
 * global `Samsa`), each with a source map, plus dist/samsa.iife.d.ts declaring that global for TypeScript users; and
 * dist/samsa-groups.js, the ES module of the `/groups` entry (the client with consumer groups).
 */
import { build } from 'esbuild'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..')

const common = {
  entryPoints: [resolve(pkg, 'src/index.ts')],
  bundle: true,
  minify: true,
  target: 'es2022',
  platform: 'browser',
  sourcemap: true,
  legalComments: 'none',
  // @samsa/shared is resolved from its TypeScript sources so the bundle never depends on a prior tsc build.
  alias: { '@samsa/shared': resolve(pkg, '../shared/src/index.ts') },
  logLevel: 'warning',
}

const bundles = [
  { outfile: resolve(pkg, 'dist/samsa.js'), format: 'esm' },
  { outfile: resolve(pkg, 'dist/samsa.iife.js'), format: 'iife', globalName: 'Samsa' },
  { outfile: resolve(pkg, 'dist/samsa-groups.js'), format: 'esm', entryPoints: [resolve(pkg, 'src/entries/groups.ts')] },
]
for (const b of bundles) await build({ ...common, ...b })

// The IIFE's global has exactly the ES module's exports (the bundle entry is the same src/index.ts).
writeFileSync(
  resolve(pkg, 'dist/samsa.iife.d.ts'),
  [
    '/** The global set by `<script src="/sdk/samsa.iife.js">`: the same exports as `@samsa/client-browser`. */',
    "import type * as SamsaSdk from './index.js'",
    'declare global {',
    '  var Samsa: typeof SamsaSdk',
    '}',
    'export {}',
    '',
  ].join('\n'),
)

for (const { outfile } of bundles) {
  const bytes = statSync(outfile).size
  const gzipped = gzipSync(readFileSync(outfile)).length
  process.stdout.write(`${outfile}: ${(bytes / 1024).toFixed(1)} KiB (${(gzipped / 1024).toFixed(1)} KiB gzip)\n`)
}
