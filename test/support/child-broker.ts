/**
 * @module The `samsa` CLI as child processes, from the BUILT dist (`npm run build` first): a broker started
 * with `samsa start --port 0 --log-format json` whose JSON log lines are parsed from stderr, and one-shot client
 * commands with a hard time bound. Every process started here is tracked so `killAll()` can end leftovers.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { until } from './until.js'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const SAMSA_BIN = fileURLToPath(new URL('../../packages/server/bin/samsa.js', import.meta.url))
const BUILT_CLI = fileURLToPath(new URL('../../packages/server/dist/adapters/node/cli/main.js', import.meta.url))

const live = new Set<ChildProcess>()

/** Throws a clear message when the CLI has not been built (these tests run the dist, not the sources). */
export function assertBuilt(): void {
  if (!existsSync(BUILT_CLI)) throw new Error(`the CLI is not built (${BUILT_CLI} is missing): run \`npm run build\` in the repository root first`)
}

export interface JsonLogLine {
  level: number
  msg?: string
  [field: string]: unknown
}

export interface ChildBroker {
  readonly proc: ChildProcess
  /** ws://127.0.0.1:PORT, for --broker and the SDK. */
  readonly url: string
  /** http://127.0.0.1:PORT */
  readonly httpUrl: string
  readonly port: number
  /** Every JSON log line so far (non-JSON stderr lines are kept as { level: -1, msg: line }). */
  readonly logs: JsonLogLine[]
  /** Settles when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Sends a signal if the process is still running. */
  kill(signal: NodeJS.Signals): void
  /** SIGTERM, then SIGKILL if it has not exited within timeoutMs; resolves with how it exited. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function track(proc: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  live.add(proc)
  return new Promise((resolve) => {
    proc.once('exit', (code, signal) => {
      live.delete(proc)
      resolve({ code, signal })
    })
    proc.once('error', () => {
      live.delete(proc)
      resolve({ code: null, signal: null })
    })
  })
}

function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  let rest = ''
  return (chunk) => {
    const parts = (rest + chunk.toString('utf8')).split('\n')
    rest = parts.pop()!
    for (const p of parts) onLine(p)
  }
}

/** Spawns `samsa start --port <port, default 0> --data <dataDir> --log-format json …` and waits for "broker listening". */
export async function startChildBroker(dataDir: string, extraArgs: readonly string[] = [], opts: { timeoutMs?: number; port?: number } = {}): Promise<ChildBroker> {
  assertBuilt()
  const proc = spawn(process.execPath, [SAMSA_BIN, 'start', '--port', String(opts.port ?? 0), '--data', dataDir, '--log-format', 'json', ...extraArgs], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const exited = track(proc)
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null
  void exited.then((e) => (exit = e))
  const logs: JsonLogLine[] = []
  proc.stderr!.on(
    'data',
    lineSplitter((line) => {
      if (!line.trim()) return
      try {
        logs.push(JSON.parse(line) as JsonLogLine)
      } catch {
        logs.push({ level: -1, msg: line })
      }
    }),
  )
  const kill = (signal: NodeJS.Signals) => {
    if (exit === null && proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
  }
  try {
    const listening = await until(() => logs.find((l) => l.msg === 'broker listening') ?? (exit ? ({ exited: exit } as const) : null), {
      timeoutMs: opts.timeoutMs ?? 20_000,
      what: `the broker on ${dataDir} to log "broker listening"`,
    })
    if ('exited' in listening) {
      throw new Error(`the broker exited (${JSON.stringify(listening.exited)}) before listening; stderr: ${logs.map((l) => JSON.stringify(l)).join('\n')}`)
    }
    const httpUrl = String(listening.url)
    const port = Number(new URL(httpUrl).port)
    return {
      proc,
      url: `ws://127.0.0.1:${port}`,
      httpUrl,
      port,
      logs,
      exited,
      kill,
      async stop(timeoutMs = 10_000) {
        kill('SIGTERM')
        const timer = setTimeout(() => kill('SIGKILL'), timeoutMs)
        try {
          return await exited
        } finally {
          clearTimeout(timer)
        }
      },
    }
  } catch (e) {
    kill('SIGKILL')
    await exited
    throw e
  }
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** True when the command was killed for exceeding timeoutMs. */
  timedOut: boolean
  ms: number
}

/** Runs `samsa <args>` to completion (SIGKILL after timeoutMs), feeding `input` on stdin. */
export async function runCli(args: readonly string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  assertBuilt()
  const started = Date.now()
  const proc = spawn(process.execPath, [SAMSA_BIN, ...args], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  })
  const exited = track(proc)
  let stdout = ''
  let stderr = ''
  proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')))
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
  proc.stdin!.on('error', () => {}) // the command may exit before reading all of its input
  proc.stdin!.end(opts.input ?? '')
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    proc.kill('SIGKILL')
  }, opts.timeoutMs ?? 20_000)
  try {
    const { code, signal } = await exited
    return { code, signal, stdout, stderr, timedOut, ms: Date.now() - started }
  } finally {
    clearTimeout(timer)
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  }
}

/** Spawns `samsa <args>` with piped stdio and returns the process; the caller must kill it (killAll does as a last resort). */
export function spawnCli(args: readonly string[]): { proc: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  assertBuilt()
  const proc = spawn(process.execPath, [SAMSA_BIN, ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
  return { proc, exited: track(proc) }
}

/** SIGKILLs every child this module started that is still running, and waits for them to exit. */
export async function killAll(): Promise<void> {
  const waits: Promise<unknown>[] = []
  for (const p of [...live]) {
    if (p.exitCode === null && p.signalCode === null) {
      waits.push(new Promise((r) => p.once('exit', r)))
      p.kill('SIGKILL')
    }
  }
  await Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, 5_000).unref())])
}
