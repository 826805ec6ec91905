/**
 * The Worker bundles for workerd: esbuild builds the Cloudflare entry (worker.ts, from source) as workerd loads it,
 * without nodejs_compat, and the bundle may import nothing the runtime does not provide (no `node:` module) and
 * carry none of the Node server stack.
 */
import { rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { buildWorker } from '../../../scripts/build-worker.mjs'

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))
const NODE_STACK = /node_modules\/(ws|pino|prom-client|@hono\/node-server|@hono\/node-ws|@node-rs\/crc32|commander)\//

describe('the Cloudflare Worker bundle', () => {
  it('imports no node: module and bundles none of the Node server stack', async () => {
    const { outfile, external, inputs } = await buildWorker({ entry: here('./worker.ts'), alias: { '@samsa/shared': here('../../../../shared/src/index.ts') } })
    try {
      expect(external.filter((i) => i.startsWith('node:') || !i.startsWith('cloudflare:'))).toEqual([])
      expect(inputs.filter((i) => NODE_STACK.test(i) || i.includes('adapters/node/') || i.includes('adapters/bun/') || i.includes('adapters/deno/'))).toEqual([])
      expect(inputs.some((i) => i.endsWith('adapters/cloudflare/broker-object.ts'))).toBe(true)
    } finally {
      await rm(dirname(outfile), { recursive: true, force: true })
    }
  })
})
