/**
 * @module Builds the LogStorage contract against FileLogStorage into one ES module (esbuild; `vitest` mapped to
 * mini-vitest.ts, `@samsa/shared` to its sources, node: built-ins left to the runtime) and runs it under a runtime's
 * binary; on workerd, against SqlLogStorage in a Durable Object (Miniflare; nodejs_compat for mini-vitest's
 * node:assert only). A binary that is missing or cannot start is a failure with one line, never a skip.
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'
import { missingBinary, runtimeBinary, runtimeEnv, type RuntimeName } from '../runtime-binaries.js'

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))

export async function buildContractBundle(): Promise<string> {
  const outfile = join(await mkdtemp(join(tmpdir(), 'samsa-contract-bundle-')), 'file-storage-contract.mjs')
  await build({
    entryPoints: [here('./file-storage-contract.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'es2022',
    outfile,
    logLevel: 'silent',
    alias: { vitest: here('./mini-vitest.ts'), '@samsa/shared': here('../../../packages/shared/src/index.ts') },
  })
  return outfile
}

export interface ContractRun {
  readonly ok: boolean
  readonly output: string
}

export function runContract(runtime: RuntimeName, bundle: string): ContractRun {
  const missing = missingBinary(runtime)
  if (missing) return { ok: false, output: missing }
  const { file, prefix } = runtimeBinary(runtime)
  const r = spawnSync(file, [...prefix, bundle, runtime], { encoding: 'utf8', timeout: 60_000, env: runtimeEnv() })
  if (r.error) return { ok: false, output: `${runtime}: the binary ${file} could not start: ${r.error.message}` }
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() }
}

/** The contract against SqlLogStorage inside a Durable Object on workerd (Miniflare, in-memory storage). */
export async function runWorkerdContract(): Promise<ContractRun> {
  const outfile = join(await mkdtemp(join(tmpdir(), 'samsa-contract-bundle-')), 'sql-storage-contract.mjs')
  await build({
    entryPoints: [here('./sql-storage-contract.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    outfile,
    logLevel: 'silent',
    external: ['node:*'],
    alias: { vitest: here('./mini-vitest.ts'), '@samsa/shared': here('../../../packages/shared/src/index.ts') },
  })
  let mf: Miniflare | null = null
  try {
    mf = new Miniflare({
      modules: true,
      script: await readFile(outfile, 'utf8'),
      compatibilityDate: '2026-04-07',
      compatibilityFlags: ['nodejs_compat'],
      durableObjects: { CONTRACT: { className: 'ContractObject', useSQLite: true } },
    })
    const res = await mf.dispatchFetch('http://contract/')
    return { ok: res.status === 200, output: (await res.text()).trim() }
  } catch (e) {
    return { ok: false, output: `workerd: could not start through Miniflare: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` }
  } finally {
    await mf?.dispose()
  }
}
