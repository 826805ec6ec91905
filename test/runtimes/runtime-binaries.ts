/**
 * @module The runtimes of the conformance matrix and how each one's binary is invoked: `node` (this machine's, the
 * one running the tests), `node22` and `node24` (pinned npm package `node`, devDependencies `node22`/`node24`, reached
 * by path only: the root postinstall removes their `node_modules/.bin/node` link), `bun` and `deno` (pinned npm
 * packages `bun`, `deno`). Invariant: a runtime's binary that is missing is reported in one line naming it (run npm
 * ci); the caller fails on it, never skips.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const RUNTIMES = ['node', 'node22', 'node24', 'bun', 'deno'] as const
export type RuntimeName = (typeof RUNTIMES)[number]

export type NodeRuntimeName = 'node' | 'node22' | 'node24'
export const isNodeRuntime = (runtime: RuntimeName): runtime is NodeRuntimeName => runtime === 'node' || runtime === 'node22' || runtime === 'node24'

const nodeModules = (p: string) => fileURLToPath(new URL(`../../node_modules/${p}`, import.meta.url))

export interface RuntimeBinary {
  readonly file: string
  /** Arguments before the script (`run --allow-all` for deno). */
  readonly prefix: readonly string[]
}

export function runtimeBinary(runtime: RuntimeName): RuntimeBinary {
  switch (runtime) {
    case 'node':
      return { file: process.execPath, prefix: [] }
    case 'node22':
    case 'node24':
      return { file: nodeModules(`${runtime}/bin/node`), prefix: [] }
    case 'bun':
      return { file: nodeModules('.bin/bun'), prefix: [] }
    case 'deno':
      return { file: nodeModules('.bin/deno'), prefix: ['run', '--allow-all'] }
  }
}

/** One line when the binary is not there; null when it is. */
export function missingBinary(runtime: RuntimeName): string | null {
  const { file } = runtimeBinary(runtime)
  return existsSync(file) ? null : `${runtime}: no binary at ${file} (run npm ci: it comes from a pinned devDependency)`
}

/** The environment every runtime binary is started with (no update checks, no colours). */
export const runtimeEnv = (): NodeJS.ProcessEnv => ({ ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' })
