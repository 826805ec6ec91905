/**
 * @module How the conformance suite starts a single broker on a data directory under each runtime: Node (the
 * `samsa start` command), Bun and Deno (their entries under packages/server/dist/adapters/, binaries from the
 * pinned npm packages in node_modules/.bin), workerd (the Cloudflare Worker and its Durable Object in Miniflare's
 * workerd, storage persisted in the data directory: test/support/workerd-host.mjs; telemetry off). A runtime whose binary is missing or cannot start fails with one line
 * naming it; it is never skipped. Runs the built server: `npm run build` first (npm test does).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { REPO_ROOT, SAMSA_BIN } from '../support/child-broker.js'
import { until } from '../support/until.js'

export const RUNTIMES = ['node', 'bun', 'deno', 'workerd'] as const
export type RuntimeName = (typeof RUNTIMES)[number]

const bin = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url))
const WORKERD_HOST = fileURLToPath(new URL('../support/workerd-host.mjs', import.meta.url))
const entry = (runtime: string) => fileURLToPath(new URL(`../../packages/server/dist/adapters/${runtime}/main.js`, import.meta.url))

/** Connections one client address may hold on every launched broker (the suite checks the quota applies). */
export const MAX_CONNECTIONS_PER_IP = 12
const LIMITS = ['--max-connections-per-ip', String(MAX_CONNECTIONS_PER_IP)]

function command(runtime: RuntimeName, dataDir: string, extra: readonly string[]): { file: string; args: string[] } {
  switch (runtime) {
    case 'node':
      return { file: process.execPath, args: [SAMSA_BIN, 'start', '--port', '0', '--data', dataDir, '--log-format', 'json', ...LIMITS, ...extra] }
    case 'bun':
      return { file: bin('bun'), args: [entry('bun'), '--port', '0', '--data-dir', dataDir, ...LIMITS, ...extra] }
    case 'deno':
      return { file: bin('deno'), args: ['run', '--allow-all', entry('deno'), '--port', '0', '--data-dir', dataDir, ...LIMITS, ...extra] }
    case 'workerd':
      return { file: process.execPath, args: [WORKERD_HOST, '--port', '0', '--data-dir', dataDir, ...LIMITS, ...extra] }
  }
}

export interface LaunchedBroker {
  readonly runtime: RuntimeName
  /** ws://127.0.0.1:PORT */
  readonly url: string
  /** SIGTERM, then waits for exit 0 (every log flushed and fsynced). */
  stop(): Promise<void>
  /** SIGKILL (no flush). */
  kill(): void
  /** Everything the process printed so far (workerd: the object's log lines at info). */
  output(): string
}

/** `extra`: more command-line flags, the same on every runtime (`--host`, limits). */
export async function launchBroker(runtime: RuntimeName, dataDir: string, extra: readonly string[] = []): Promise<LaunchedBroker> {
  const { file, args } = command(runtime, dataDir, extra)
  if (!existsSync(file)) throw new Error(`${runtime}: no binary at ${file} (run npm ci)`)
  if (runtime === 'workerd' && !existsSync(entry('cloudflare').replace(/main\.js$/, 'worker.js'))) throw new Error('workerd: the Worker is not built (run npm run build)')
  if (runtime !== 'node' && runtime !== 'workerd' && !existsSync(args[runtime === 'deno' ? 2 : 0]!)) throw new Error(`${runtime}: the server is not built (run npm run build)`)
  // workerd runs as a child of the Miniflare host: the host leads its own process group so a kill reaches both.
  const proc: ChildProcess = spawn(file, args, { cwd: REPO_ROOT, detached: runtime === 'workerd', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1', WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false', ...(runtime === 'workerd' ? { SAMSA_LOG_LEVEL: 'info' } : {}) } })
  const killAll = () => {
    if (runtime === 'workerd' && proc.pid !== undefined) {
      try {
        process.kill(-proc.pid, 'SIGKILL')
      } catch {
        // the group is gone already
      }
    } else proc.kill('SIGKILL')
  }
  let output = ''
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null
  let spawnError: Error | null = null
  proc.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')))
  proc.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')))
  proc.once('exit', (code, signal) => (exit = { code, signal }))
  proc.once('error', (e) => (spawnError = e))
  const listening = await until(() => (/\burl"?[=:]"?(http:\/\/[^\s",]+)/.exec(output)?.[1] ?? (exit || spawnError ? 'failed' : null)), {
    timeoutMs: 20_000,
    what: `the ${runtime} broker to log "broker listening"`,
  }).catch((e: Error) => {
    killAll()
    throw new Error(`${runtime}: ${e.message}; output: ${output.trim().slice(-500)}`)
  })
  if (listening === 'failed') {
    const why = spawnError ? (spawnError as Error).message : `exited with ${JSON.stringify(exit)}`
    throw new Error(`${runtime}: the broker could not start (${why}): ${output.trim().split('\n').slice(-3).join(' | ')}`)
  }
  const url = `ws://127.0.0.1:${new URL(listening).port}`
  return {
    runtime,
    url,
    stop: async () => {
      if (exit) return
      proc.kill('SIGTERM')
      const exited = await until(() => exit, { timeoutMs: 15_000, what: `the ${runtime} broker to exit after SIGTERM` })
      if (exited.code !== 0) throw new Error(`${runtime}: the broker exited with ${JSON.stringify(exited)} after SIGTERM: ${output.trim().slice(-500)}`)
    },
    kill: killAll,
    output: () => output,
  }
}
