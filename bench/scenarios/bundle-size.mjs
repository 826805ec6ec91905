// Bundle size of the browser SDK: the served bundle (/sdk/samsa.js, everything) and a tree-shaken app that
// imports only createClient, both minified ESM, raw and gzipped.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('../../', import.meta.url))

async function sizes(bytes) {
  return { bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length }
}

async function bundle(contents) {
  const r = await build({
    stdin: { contents, resolveDir: root, loader: 'js' },
    bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent',
  })
  return r.outputFiles[0].contents
}

export async function bundleSize() {
  const served = await sizes(await readFile(`${root}packages/client-browser/dist/samsa.js`))
  const clientOnly = await sizes(await bundle(`import { createClient } from './packages/client-browser/dist/index.js'; globalThis.c = createClient`))
  const withStorage = await sizes(await bundle(`import { createClient, indexedDbStorage } from './packages/client-browser/dist/index.js'; globalThis.c = [createClient, indexedDbStorage]`))
  return {
    scenario: 'bundle',
    served: { file: 'packages/client-browser/dist/samsa.js', ...served },
    createClientOnly: clientOnly,
    createClientWithIndexedDb: withStorage,
    aimGzipBytes: 20 * 1024,
  }
}
