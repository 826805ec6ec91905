/**
 * @module Builds the demo app into dist/: index.html (from the template, pointing at the hashed files) and
 * app/main-<hash>.js + .css with source maps. The SDK is bundled from its TypeScript sources (no prior tsc build
 * needed), the same way the SDK's own bundle is. Prints the sizes (raw and gzip).
 */
import { build } from 'esbuild'
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const app = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const repo = resolve(app, '../..')
const dist = resolve(app, 'dist')
rmSync(dist, { recursive: true, force: true })
mkdirSync(resolve(dist, 'app'), { recursive: true })

/** The workspace packages from their TypeScript sources, by exact specifier (an alias would also rewrite subpaths). */
const SOURCES = {
  '@samsa/shared': 'packages/shared/src/index.ts',
  '@samsa/client-browser': 'packages/client-browser/src/index.ts',
  '@samsa/client-browser/yjs': 'packages/client-browser/src/yjs/index.ts',
}
const fromSources = {
  name: 'samsa-sources',
  setup(b) {
    b.onResolve({ filter: /^@samsa\// }, (args) => (SOURCES[args.path] ? { path: resolve(repo, SOURCES[args.path]) } : undefined))
  },
}

const result = await build({
  entryPoints: [resolve(app, 'src/main.tsx')],
  outdir: resolve(dist, 'app'),
  entryNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  sourcemap: true,
  legalComments: 'none',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  plugins: [fromSources],
  metafile: true,
  absWorkingDir: app,
  logLevel: 'warning',
})

const outputs = Object.keys(result.metafile.outputs).map((p) => resolve(app, p)).filter((p) => !p.endsWith('.map'))
const js = outputs.find((p) => p.endsWith('.js'))
const css = outputs.find((p) => p.endsWith('.css'))
if (!js) throw new Error('esbuild produced no JavaScript output')
const url = (p) => `/app/${basename(p)}`
const html = readFileSync(resolve(app, 'index.html'), 'utf8')
  .replace('<!-- app:css -->', css ? `<link rel="stylesheet" href="${url(css)}">` : '')
  .replace('<!-- app:js -->', `<script type="module" src="${url(js)}"></script>`)
writeFileSync(resolve(dist, 'index.html'), html)

let total = 0
let totalGzip = 0
for (const file of [resolve(dist, 'index.html'), ...outputs]) {
  const bytes = statSync(file).size
  const gz = gzipSync(readFileSync(file)).length
  total += bytes
  totalGzip += gz
  process.stdout.write(`${relative(repo, file)}: ${(bytes / 1024).toFixed(1)} KiB (${(gz / 1024).toFixed(1)} KiB gzip)\n`)
}
process.stdout.write(`demo app total: ${(total / 1024).toFixed(1)} KiB (${(totalGzip / 1024).toFixed(1)} KiB gzip)\n`)
