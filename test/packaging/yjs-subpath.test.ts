/**
 * `@samsa/client-browser/yjs` as an app bundles it: resolved through the package's `exports` from apps/demo (the
 * built dist, `npm run build` first) by esbuild, with yjs and y-protocols from the app's node_modules; and the core
 * SDK bundle never includes the provider or yjs.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../support/child-broker.js'

const built = join(REPO_ROOT, 'packages/client-browser/dist/yjs/index.js')

/** Bundles as an installed app would: through node_modules and package exports, ignoring the repo's tsconfig `paths`. */
async function bundle(contents: string, resolveDir: string) {
  const r = await build({ stdin: { contents, resolveDir, loader: 'ts' }, bundle: true, format: 'esm', platform: 'browser', write: false, metafile: true, logLevel: 'silent', tsconfigRaw: '{}' })
  return Object.keys(r.metafile.inputs)
}

describe('@samsa/client-browser/yjs', () => {
  it('bundles from apps/demo through the package exports, with one copy of yjs', async () => {
    if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` in the repository root first`)
    const inputs = await bundle(`import { createClient } from '@samsa/client-browser'; import { SamsaYjsProvider } from '@samsa/client-browser/yjs'; import * as Y from 'yjs'; console.log(createClient, SamsaYjsProvider, Y.Doc)`, join(REPO_ROOT, 'apps/demo'))
    expect(inputs.some((f) => f.endsWith('packages/client-browser/dist/yjs/provider.js'))).toBe(true)
    expect(inputs.filter((f) => /node_modules\/yjs\/dist\/yjs\.mjs$/.test(f))).toHaveLength(1)
    expect(inputs.some((f) => f.includes('node_modules/y-protocols/awareness'))).toBe(true)
  })

  it('is not part of the core SDK bundle (src/index.ts, as scripts/bundle.mjs builds dist/samsa.js)', async () => {
    const inputs = await bundle(`export * from './src/index.ts'`, join(REPO_ROOT, 'packages/client-browser'))
    expect(inputs.filter((f) => f.includes('/yjs/') || f.includes('node_modules/yjs') || f.includes('y-protocols') || f.includes('lib0'))).toEqual([])
    expect(inputs.length).toBeGreaterThan(20)
  })
})
