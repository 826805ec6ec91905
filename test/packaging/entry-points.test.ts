/**
 * The SDK's smaller entry points as an installed app bundles them: resolved through the package's `exports` from
 * apps/demo (the built dist, `npm run build` first) by esbuild with tree-shaking, each bundle holds only its part:
 * no producer code in a consumer-only app, no consumer code in a producer-only one, no IndexedDB code unless
 * `/indexeddb` is imported.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { ErrorCodes } from '../../packages/shared/src/index.js'
import { REPO_ROOT } from '../support/child-broker.js'

const dist = join(REPO_ROOT, 'packages/client-browser/dist')

/** The minified bundle of `contents`, bundled from apps/demo: its text and the SDK source files (dist-relative) it holds. */
async function bundleOf(contents: string): Promise<{ text: string; files: string[] }> {
  if (!existsSync(join(dist, 'entries/consumer.js'))) throw new Error(`${dist}/entries is missing: run \`npm run build\` in the repository root first`)
  const r = await build({
    stdin: { contents, resolveDir: join(REPO_ROOT, 'apps/demo'), loader: 'js' },
    bundle: true, minify: true, format: 'esm', platform: 'browser', write: false, metafile: true, logLevel: 'silent', tsconfigRaw: '{}',
  })
  const inputs = Object.values(r.metafile.outputs)[0]!.inputs
  return { text: r.outputFiles[0]!.text, files: Object.entries(inputs).filter(([, v]) => v.bytesInOutput > 0).map(([f]) => f) }
}

const sdkFiles = async (contents: string): Promise<string[]> => (await bundleOf(contents)).files

const has = (files: string[], part: string) => files.some((f) => f.includes(part))

describe('@samsa/client-browser entry points', () => {
  it('/consumer bundles no producer and no IndexedDB code', async () => {
    const files = await sdkFiles(`import { createConsumerClient } from '@samsa/client-browser/consumer'; globalThis.a = createConsumerClient`)
    expect(has(files, 'client-browser/dist/consumer/subscription.js')).toBe(true)
    expect(files.filter((f) => f.includes('/dist/producer/') || f.includes('indexeddb') || f.includes('node_modules/idb'))).toEqual([])
  })

  it('/producer bundles no consumer and no IndexedDB code', async () => {
    const files = await sdkFiles(`import { createProducerClient } from '@samsa/client-browser/producer'; globalThis.a = createProducerClient`)
    expect(has(files, 'client-browser/dist/producer/producer.js')).toBe(true)
    // Every pooled connection routes pushes (push-router.js), whatever parts the client has.
    expect(files.filter((f) => (f.includes('/dist/consumer/') && !f.endsWith('/consumer/push-router.js')) || f.includes('indexeddb') || f.includes('node_modules/idb'))).toEqual([])
  })

  it('/core bundles both parts and no IndexedDB code; /indexeddb adds it', async () => {
    const core = await sdkFiles(`import { createClient } from '@samsa/client-browser/core'; globalThis.a = createClient`)
    expect(has(core, '/dist/producer/producer.js') && has(core, '/dist/consumer/subscription.js')).toBe(true)
    expect(core.filter((f) => f.includes('indexeddb') || f.includes('node_modules/idb'))).toEqual([])
    const withIdb = await sdkFiles(`import { createClient } from '@samsa/client-browser/core'; import { indexedDbStorage } from '@samsa/client-browser/indexeddb'; globalThis.a = [createClient, indexedDbStorage]`)
    expect(has(withIdb, '/dist/storage/indexeddb-storage.js') && has(withIdb, 'node_modules/idb')).toBe(true)
  })

  it('the whole SDK, and so no entry point, bundles the broker\'s halves of the exchanges, broker-only exchanges or the error wordings', async () => {
    const { text, files } = await bundleOf(`import { createClient } from '@samsa/client-browser'; globalThis.a = createClient`)
    expect(has(files, '/dist/producer/producer.js') && has(files, '/dist/consumer/subscription.js')).toBe(true)
    expect(['decodeRequest', 'encodeResponse'].filter((codec) => text.includes(codec))).toEqual([])
    const brokerOnly = ['raft-message', 'broker-registration', 'broker-heartbeat', 'alter-partition', 'fetch-metadata', 'allocate-producer-ids', 'error-codes']
    expect(files.filter((f) => brokerOnly.some((name) => f.endsWith(`/shared/dist/${name}.js`) || f.endsWith(`/messages/${name}.js`)))).toEqual([])
    expect(text).not.toContain(ErrorCodes.NOT_LEADER_OR_FOLLOWER.message)
  })
})
