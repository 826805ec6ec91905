// The runtimes the `runtimes` scenario runs a broker on, and how: Node 20 (the machine's, the node running the
// bench), Node 22 and 24 (pinned npm package `node`, devDependencies node22/node24) with `samsa start`; Bun and Deno
// (pinned npm packages) with their entries under packages/server/dist/adapters/. The same map as
// test/runtimes/runtime-binaries.ts (which the conformance suite uses). A missing binary throws one line naming it.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
export const BENCH_RUNTIMES = ['node', 'node22', 'node24', 'bun', 'deno']

/** { command, prefix: args before the script, kind: 'samsa-start' | 'web-entry', entry? } for `runtime`. */
export function runtimeCommand(runtime) {
  const nm = (p) => join(repoRoot, 'node_modules', p)
  const entry = (name) => join(repoRoot, `packages/server/dist/adapters/${name}/main.js`)
  const r = {
    node: { command: process.execPath, prefix: [], kind: 'samsa-start' },
    node22: { command: nm('node22/bin/node'), prefix: [], kind: 'samsa-start' },
    node24: { command: nm('node24/bin/node'), prefix: [], kind: 'samsa-start' },
    bun: { command: nm('.bin/bun'), prefix: [], kind: 'web-entry', entry: entry('bun') },
    deno: { command: nm('.bin/deno'), prefix: ['run', '--allow-all'], kind: 'web-entry', entry: entry('deno') },
  }[runtime]
  if (!r) throw new Error(`unknown runtime "${runtime}"; known: ${BENCH_RUNTIMES.join(', ')}`)
  if (!existsSync(r.command)) throw new Error(`${runtime}: no binary at ${r.command} (run npm ci: it comes from a pinned devDependency)`)
  if (r.entry && !existsSync(r.entry)) throw new Error(`${runtime}: the server is not built (${r.entry} is missing: run npm run build)`)
  return r
}

/** The runtime's version line (`v22.23.3`, `bun 1.4.5`, `deno 2.9.6`). */
export function runtimeVersion(runtime) {
  if (runtime === 'node') return process.version
  const { command } = runtimeCommand(runtime)
  const out = execFileSync(command, ['--version'], { encoding: 'utf8', env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' } }).trim().split('\n')[0]
  return runtime === 'bun' ? `bun ${out}` : out.replace(/ \(.*$/, '')
}
