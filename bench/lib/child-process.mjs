// Child processes for the bench: spawn, wait for a "ready" line, always kill (SIGTERM, then SIGKILL).
import { spawn } from 'node:child_process'
import { once } from 'node:events'

const live = new Set()

/** Kill every child still running (used on SIGINT/SIGTERM/exit of the bench itself). */
export function killAllChildren() {
  for (const child of live) {
    try { child.kill('SIGKILL') } catch { /* already gone */ }
  }
  live.clear()
}

let hooked = false
function hookExit() {
  if (hooked) return
  hooked = true
  process.on('exit', killAllChildren)
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      killAllChildren()
      process.exit(130)
    })
  }
}

/**
 * Spawns `node args…` (or `executable args…`) and resolves once `isReady(line)` returns a value for a line on stdout
 * or stderr. Returns { child, ready, lines } where `lines` keeps the last 200 output lines for error messages.
 */
export async function spawnNode(args, { isReady, timeoutMs = 20_000, env = process.env, ipc = false, cwd, pinCpu, executable = process.execPath } = {}) {
  hookExit()
  let command = executable
  let argv = args
  if (pinCpu !== undefined) {
    command = 'taskset'
    argv = ['-c', String(pinCpu), executable, ...args]
  }
  const child = spawn(command, argv, {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])],
  })
  live.add(child)
  child.once('exit', () => live.delete(child))
  const lines = []
  let resolveReady
  let rejectReady
  const readyPromise = new Promise((res, rej) => { resolveReady = res; rejectReady = rej })
  const onLine = (line) => {
    lines.push(line)
    if (lines.length > 200) lines.shift()
    let ready
    try { ready = isReady(line) } catch { ready = undefined }
    if (ready !== undefined && ready !== null && ready !== false) resolveReady(ready)
  }
  for (const stream of [child.stdout, child.stderr]) {
    let buf = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk) => {
      buf += chunk
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i))
        buf = buf.slice(i + 1)
      }
    })
  }
  child.once('exit', (code, signal) => rejectReady(new Error(`child exited before it was ready (code ${code}, signal ${signal}):\n${lines.slice(-20).join('\n')}`)))
  child.once('error', (err) => rejectReady(err))
  const timer = setTimeout(() => rejectReady(new Error(`child not ready after ${timeoutMs} ms:\n${lines.slice(-20).join('\n')}`)), timeoutMs)
  try {
    const ready = await readyPromise
    return { child, ready, lines }
  } catch (err) {
    await stopChild(child)
    throw err
  } finally {
    clearTimeout(timer)
  }
}

/** SIGTERM, wait up to graceMs, then SIGKILL; resolves when the process has exited. */
export async function stopChild(child, graceMs = 5_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  try { child.kill('SIGTERM') } catch { /* gone */ }
  const timer = setTimeout(() => { try { child.kill('SIGKILL') } catch { /* gone */ } }, graceMs)
  try {
    await exited
  } finally {
    clearTimeout(timer)
    live.delete(child)
  }
}
