/**
 * @module How the conformance suite starts a single broker on a data directory under each runtime: Node 20 (this
 * machine's), 22 and 24 (the `samsa start` command), Bun and Deno (their entries under packages/server/dist/adapters/);
 * binaries in runtime-binaries.ts. A runtime whose binary is missing or cannot start fails with one line naming it;
 * it is never skipped. Runs the built server: `npm run build` first (npm test does).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { REPO_ROOT, SAMSA_BIN } from '../support/child-broker.js'
import { until } from '../support/until.js'
import { isNodeRuntime, missingBinary, runtimeBinary, runtimeEnv, type RuntimeName } from './runtime-binaries.js'

export { RUNTIMES, type RuntimeName } from './runtime-binaries.js'

export const entry = (runtime: 'bun' | 'deno') => fileURLToPath(new URL(`../../packages/server/dist/adapters/${runtime}/main.js`, import.meta.url))

/** Connections one client address may hold on every launched broker (the suite checks the quota applies). */
export const MAX_CONNECTIONS_PER_IP = 12
const LIMITS = ['--max-connections-per-ip', String(MAX_CONNECTIONS_PER_IP)]

/** The script each runtime runs: `samsa start` on every Node, the runtime's entry on Bun and Deno. */
function script(runtime: RuntimeName): string {
  return isNodeRuntime(runtime) ? SAMSA_BIN : entry(runtime)
}

function command(runtime: RuntimeName, dataDir: string, extra: readonly string[]): { file: string; args: string[] } {
  const { file, prefix } = runtimeBinary(runtime)
  const args = isNodeRuntime(runtime)
    ? [SAMSA_BIN, 'start', '--port', '0', '--data', dataDir, '--log-format', 'json', ...LIMITS, ...extra]
    : [entry(runtime), '--port', '0', '--data-dir', dataDir, ...LIMITS, ...extra]
  return { file, args: [...prefix, ...args] }
}

export interface LaunchedBroker {
  readonly runtime: RuntimeName
  /** ws://127.0.0.1:PORT (wss:// when started with --tls-cert) */
  readonly url: string
  /** http://127.0.0.1:PORT (https://) */
  readonly httpUrl: string
  /** SIGTERM, then waits for exit 0 (every log flushed and fsynced). */
  stop(): Promise<void>
  /** SIGKILL (no flush). */
  kill(): void
}

/** `extra`: more command-line flags, the same on every runtime (`--host`, limits). */
export async function launchBroker(runtime: RuntimeName, dataDir: string, extra: readonly string[] = []): Promise<LaunchedBroker> {
  const { file, args } = command(runtime, dataDir, extra)
  const missing = missingBinary(runtime)
  if (missing) throw new Error(missing)
  if (!existsSync(script(runtime))) throw new Error(`${runtime}: the server is not built (${script(runtime)} is missing: run npm run build)`)
  const proc: ChildProcess = spawn(file, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: runtimeEnv() })
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
    proc.kill('SIGKILL')
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
    kill: () => void proc.kill('SIGKILL'),
  }
}
