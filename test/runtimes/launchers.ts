/**
 * @module How the conformance suite starts a single broker on a data directory under each runtime: Node 20 (this
 * machine's), 22 and 24 (the `samsa start` command), Bun and Deno (their entries under packages/server/dist/adapters/;
 * binaries in runtime-binaries.ts), workerd (the Cloudflare Worker and its Durable Object in Miniflare's workerd,
 * storage persisted in the data directory: test/support/workerd-host.mjs; telemetry off). A runtime whose binary is
 * missing or cannot start fails with one line naming it; it is never skipped. Runs the built server: `npm run build`
 * first (npm test does).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { REPO_ROOT, SAMSA_BIN } from '../support/child-broker.js'
import { until } from '../support/until.js'
import { isNodeRuntime, missingBinary, runtimeBinary, runtimeEnv, RUNTIMES, type RuntimeName } from './runtime-binaries.js'

export { RUNTIMES } from './runtime-binaries.js'

/** Every runtime a broker is launched on: the binaries' runtimes and workerd (run by a Node host, Miniflare). */
export const BROKER_RUNTIMES = [...RUNTIMES, 'workerd'] as const
export type BrokerRuntimeName = RuntimeName | 'workerd'

const WORKERD_HOST = fileURLToPath(new URL('../support/workerd-host.mjs', import.meta.url))
const WORKER = fileURLToPath(new URL('../../packages/server/dist/adapters/cloudflare/worker.js', import.meta.url))

export const entry = (runtime: 'bun' | 'deno') => fileURLToPath(new URL(`../../packages/server/dist/adapters/${runtime}/main.js`, import.meta.url))

/** Connections one client address may hold on every launched broker (the suite checks the quota applies). */
export const MAX_CONNECTIONS_PER_IP = 12
const LIMITS = ['--max-connections-per-ip', String(MAX_CONNECTIONS_PER_IP)]

/** The script each runtime runs: `samsa start` on every Node, the runtime's entry on Bun and Deno, the Worker on workerd. */
function script(runtime: BrokerRuntimeName): string {
  if (runtime === 'workerd') return WORKER
  return isNodeRuntime(runtime) ? SAMSA_BIN : entry(runtime)
}

function command(runtime: BrokerRuntimeName, dataDir: string, extra: readonly string[]): { file: string; args: string[] } {
  if (runtime === 'workerd') return { file: process.execPath, args: [WORKERD_HOST, '--port', '0', '--data-dir', dataDir, ...LIMITS, ...extra] }
  const { file, prefix } = runtimeBinary(runtime)
  const args = isNodeRuntime(runtime)
    ? [SAMSA_BIN, 'start', '--port', '0', '--data', dataDir, '--log-format', 'json', ...LIMITS, ...extra]
    : [entry(runtime), '--port', '0', '--data-dir', dataDir, ...LIMITS, ...extra]
  return { file, args: [...prefix, ...args] }
}

export interface LaunchedBroker {
  readonly runtime: BrokerRuntimeName
  /** ws://127.0.0.1:PORT (wss:// when started with --tls-cert) */
  readonly url: string
  /** http://127.0.0.1:PORT (https://) */
  readonly httpUrl: string
  /** SIGTERM, then waits for exit 0 (every log flushed and fsynced). */
  stop(): Promise<void>
  /** SIGKILL (no flush). */
  kill(): void
  /** Everything the process printed so far (workerd: the object's log lines at info). */
  output(): string
}

/** `extra`: more command-line flags, the same on every runtime (`--host`, limits). */
export async function launchBroker(runtime: BrokerRuntimeName, dataDir: string, extra: readonly string[] = []): Promise<LaunchedBroker> {
  const { file, args } = command(runtime, dataDir, extra)
  const missing = runtime === 'workerd' ? null : missingBinary(runtime)
  if (missing) throw new Error(missing)
  if (!existsSync(script(runtime))) throw new Error(`${runtime}: the server is not built (${script(runtime)} is missing: run npm run build)`)
  // workerd runs as a child of the Miniflare host: the host leads its own process group so a kill reaches both.
  const workerd = runtime === 'workerd'
  const env = { ...runtimeEnv(), WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false', ...(workerd ? { SAMSA_LOG_LEVEL: 'info' } : {}) }
  const proc: ChildProcess = spawn(file, args, { cwd: REPO_ROOT, detached: workerd, stdio: ['ignore', 'pipe', 'pipe'], env })
  const killAll = () => {
    if (workerd && proc.pid !== undefined) {
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
  const listening = await until(() => (/\burl"?[=:]"?(https?:\/\/[^\s",]+)/.exec(output)?.[1] ?? (exit || spawnError ? 'failed' : null)), {
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
  const http = new URL(listening)
  const url = `${http.protocol === 'https:' ? 'wss' : 'ws'}://127.0.0.1:${http.port}`
  return {
    runtime,
    url,
    httpUrl: `${http.protocol}//127.0.0.1:${http.port}`,
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
