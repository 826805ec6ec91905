/**
 * @module Measures the BUNDLE_APPS from the SDK's TypeScript sources (no prior tsc build needed): each app is bundled
 * with esbuild (minified ESM for the browser, tree-shaken), `@samsa/client-browser[/subpath]` resolved through the
 * package's `exports` map to the matching src file and `@samsa/shared` to its sources, both side-effect free as
 * their package.json files declare. Returns raw and gzip (level 9) bytes per app.
 * As a command, `node packages/client-browser/scripts/bundle-measure.mjs [app name]` prints the sizes, and for a named
 * app which source files its bundle holds, largest first (esbuild's metafile).
 */
import { build } from 'esbuild'
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { BUNDLE_APPS } from './bundle-apps.mjs'

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const { exports } = JSON.parse(readFileSync(resolve(pkg, 'package.json'), 'utf8'))

/** `./dist/entries/core.js` → `<pkg>/src/entries/core.ts`: where tsc compiled that export from. */
const sourceOf = (subpath) => {
  const target = exports[subpath]?.default
  if (target === undefined) throw new Error(`@samsa/client-browser has no export '${subpath}' (package.json exports)`)
  return resolve(pkg, target.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'))
}

const fromSources = {
  name: 'samsa-sources',
  setup(b) {
    b.onResolve({ filter: /^@samsa\/client-browser(\/.*)?$/ }, (args) => ({ path: sourceOf(args.path.replace('@samsa/client-browser', '.')), sideEffects: false }))
    b.onResolve({ filter: /^@samsa\/shared$/ }, () => ({ path: resolve(pkg, '../shared/src/index.ts'), sideEffects: false }))
  },
}

const bundleApp = (app) =>
  build({
    stdin: { contents: app.source, resolveDir: pkg, loader: 'js' },
    bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent',
    legalComments: 'none', plugins: [fromSources], metafile: true,
  })

export async function measureBundleApps(apps = BUNDLE_APPS) {
  const results = []
  for (const app of apps) {
    const r = await bundleApp(app)
    const bytes = r.outputFiles[0].contents
    results.push({ name: app.name, imports: app.imports, bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length })
  }
  return results
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const a of await measureBundleApps()) process.stdout.write(`${a.name.padEnd(22)} ${String(a.bytes).padStart(7)} B  ${String(a.gzipBytes).padStart(6)} B gzip\n`)
  const name = process.argv[2]
  if (name !== undefined) {
    const app = BUNDLE_APPS.find((a) => a.name === name)
    if (app === undefined) throw new Error(`no app '${name}'; the apps: ${BUNDLE_APPS.map((a) => a.name).join(', ')}`)
    const { metafile } = await bundleApp(app)
    const inputs = Object.entries(Object.values(metafile.outputs)[0].inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput)
    process.stdout.write(`\n${name}: minified bytes per source file\n`)
    for (const [file, { bytesInOutput }] of inputs) if (bytesInOutput > 0) process.stdout.write(`${String(bytesInOutput).padStart(7)}  ${file}\n`)
  }
}
