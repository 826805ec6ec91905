/**
 * The broker as a process (the BUILT CLI: `npm run build` first): one broker per data directory (a second one
 * refuses with one line naming the directory and the holder's pid; a lock left by a kill -9'd broker does not
 * block the restart), and a SIGTERM with its log pipes closed under it still shuts down cleanly with the data intact.
 */
import { spawn } from 'node:child_process'
import { pathToFileURL } from 'node:url'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT, SAMSA_BIN, assertBuilt, killAll, runCli, startChildBroker, type CliResult } from '../support/child-broker.js'
import { until } from '../support/until.js'

const dirs: string[] = []
async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(d)
  return d
}
afterAll(async () => {
  await killAll()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

const ok = (r: CliResult) => {
  expect(r.timedOut, `timed out; stderr: ${r.stderr}`).toBe(false)
  expect(r.code, `exit ${r.code}; stderr: ${r.stderr}`).toBe(0)
  return r
}
const produce = async (url: string, topic: string, values: string[]) => ok(await runCli(['produce', topic, '--broker', url], { input: values.map((v) => `${v}\n`).join('') }))
async function consumeAll(url: string, topic: string, count: number): Promise<string[]> {
  const r = ok(await runCli(['consume', topic, '--broker', url, '--from', 'earliest', '--max', String(count), '--timeout-ms', '5000']))
  return r.stdout.split('\n').filter(Boolean)
}

describe('one broker per data directory', () => {
  it('a second broker on the same directory exits non-zero with one line naming it and the holder pid; the first keeps serving and loses nothing', async () => {
    const dir = await tempDir('samsa-lock-it-')
    const first = await startChildBroker(dir)
    ok(await runCli(['topics', 'create', 'orders', '--broker', first.url]))
    await produce(first.url, 'orders', ['a1', 'a2', 'a3'])

    const second = await runCli(['start', '--port', '0', '--data', dir, '--log-format', 'json'], { timeoutMs: 20_000 })
    expect(second.timedOut, `the second broker did not exit; stderr: ${second.stderr}`).toBe(false)
    expect(second.code).not.toBe(0)
    expect(second.code).not.toBeNull()
    expect(second.stderr.trimEnd().split('\n')).toEqual([
      `samsa: data directory ${dir} is locked by another broker (pid ${first.proc.pid}); stop that broker or use another --data directory`,
    ])

    await produce(first.url, 'orders', ['a4', 'a5'])
    expect(await consumeAll(first.url, 'orders', 5)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5'])

    // kill -9 leaves the lock file behind; the restart must take it over.
    first.kill('SIGKILL')
    expect((await first.exited).signal).toBe('SIGKILL')
    const restarted = await startChildBroker(dir)
    expect(await consumeAll(restarted.url, 'orders', 5)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5'])
    expect((await restarted.stop()).code).toBe(0)

    // A clean stop releases the lock: the next start takes it without a takeover.
    const again = await startChildBroker(dir)
    expect((await again.stop()).code).toBe(0)
  })
})

describe('SIGTERM with the log pipes closed', () => {
  it.each(['json', 'pretty'])('exits 0 promptly and keeps every acknowledged record (--log-format %s)', async (format) => {
    assertBuilt()
    const dir = await tempDir('samsa-pipe-it-')
    const proc = spawn(process.execPath, [SAMSA_BIN, 'start', '--port', '0', '--data', dir, '--log-format', format, '--log-level', 'debug'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null
    proc.once('exit', (code, signal) => (exit = { code, signal }))
    try {
      let stderr = ''
      proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
      const listening = await until(() => (stderr.includes('broker listening') ? /\burl"?[=:]"?(http:\/\/[^\s",]+)/.exec(stderr)?.[1] : null) ?? (exit ? 'exited' : null), {
        timeoutMs: 20_000,
        what: 'the broker to log "broker listening"',
      })
      if (listening === 'exited') throw new Error(`the broker exited before listening: ${stderr}`)
      const url = `ws://127.0.0.1:${new URL(listening).port}`
      ok(await runCli(['topics', 'create', 'logs', '--broker', url]))
      const values = Array.from({ length: 50 }, (_, i) => `v${i}`)
      await produce(url, 'logs', values)

      // Close this end of both pipes and wait until they are closed, so every later write of the broker fails (EPIPE).
      const pipesClosed = Promise.all([proc.stdout!, proc.stderr!].map((s) => new Promise((r) => s.once('close', r))))
      proc.stdout!.destroy()
      proc.stderr!.destroy()
      await pipesClosed
      proc.kill('SIGTERM')
      const exited = await until(() => exit, { timeoutMs: 15_000, what: 'the broker to exit after SIGTERM with its log pipes closed' })
      expect(exited).toEqual({ code: 0, signal: null })

      const restarted = await startChildBroker(dir)
      expect(await consumeAll(restarted.url, 'logs', 50)).toEqual(values)
      expect((await restarted.stop()).code).toBe(0)
    } finally {
      if (exit === null) proc.kill('SIGKILL')
    }
  })
})

describe('the broker logger with its stderr closed', () => {
  it('lets the process exit at once with log lines still queued', async () => {
    assertBuilt()
    const logger = pathToFileURL(join(REPO_ROOT, 'packages/server/dist/adapters/node/pino-logger.js')).href
    // On "go" the child logs and exits in the same tick: its lines are still queued when the process exits.
    const script = `import { createPinoLogger } from ${JSON.stringify(logger)}
const log = createPinoLogger({ format: process.argv[1] })
process.stdin.once('data', () => { for (let i = 0; i < 100; i++) log.info({ i }, 'queued at exit'); process.exit(0) })`
    for (const format of ['json', 'pretty']) {
      const proc = spawn(process.execPath, ['--input-type=module', '-e', script, format], { stdio: ['pipe', 'ignore', 'pipe'] })
      let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null
      proc.once('exit', (code, signal) => (exit = { code, signal }))
      try {
        const closed = new Promise((r) => proc.stderr!.once('close', r))
        proc.stderr!.destroy()
        await closed
        proc.stdin!.end('go\n')
        expect(await until(() => exit, { timeoutMs: 15_000, what: `the ${format} logger's process to exit with its stderr closed` })).toEqual({ code: 0, signal: null })
      } finally {
        if (exit === null) proc.kill('SIGKILL')
      }
    }
  })
})
