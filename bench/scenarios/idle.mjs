// Scenario "idle": what an idle, subscribed connection costs the server. N connections held by client processes apart
// from the server (lib/idle-clients.mjs, N split over several); the server's memory is measured before they connect
// and once they are all subscribed and settled, each time after full garbage collections (the server runs with
// --expose-gc and a preloaded bench-only probe, lib/memory-probe.mjs, answering over IPC). Per connection = the
// difference ÷ N. target 'samsa': a broker process, SDK clients each with one subscription (`from: 'latest'`),
// authenticated when `auth` carries a token (scenarios/auth-cost.mjs). target 'raw': the baseline, a plain `ws`
// server (lib/raw-ws-server.mjs 'broadcast') holding N sockets that each said 'S' (a subscriber in its set).
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { withBroker } from '../lib/broker-process.mjs'
import { withRawServer } from '../lib/raw-server-process.mjs'
import { spawnNode, stopChild } from '../lib/child-process.mjs'
import { processCpuMs } from '../lib/cpu.mjs'
import { closeClient, loadSdk, makeClient } from '../lib/sdk.mjs'
import { round, sleep, withTimeout } from '../lib/stats.mjs'

const clientsScript = fileURLToPath(new URL('../lib/idle-clients.mjs', import.meta.url))
const probe = fileURLToPath(new URL('../lib/memory-probe.mjs', import.meta.url))
const PROBE_NODE_ARGS = ['--expose-gc', '--import', probe]
const TOPIC = 'bench-idle'
/** Source addresses per client process: 127.<20 + case>.<process>.<1..50>, a fresh range per case (no TIME_WAIT reuse). */
const ADDRESSES_PER_PROCESS = 50
let caseNumber = 0

/** The soft limit on open files of this process (children inherit it), or null where /proc is unavailable. */
export function openFilesLimit() {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))
    const soft = line?.trim().split(/\s{2,}/)[1]
    return soft === 'unlimited' ? Infinity : Number(soft)
  } catch {
    return null
  }
}

/** Asks a process running the memory probe for its memory after full GCs. */
function memoryOf(child) {
  return withTimeout(new Promise((resolve) => {
    const on = (m) => {
      if (m?.msg !== 'memory') return
      child.off('message', on)
      resolve(m)
    }
    child.on('message', on)
    child.send({ cmd: 'memory' })
  }), 30_000, 'memory probe answer')
}

function ask(child, msg, want, timeoutMs) {
  return withTimeout(new Promise((resolve, reject) => {
    const on = (m) => {
      if (m?.msg === 'error') { child.off('message', on); reject(new Error(`idle clients: ${m.error}`)) }
      if (m?.msg === want) { child.off('message', on); resolve(m) }
    }
    child.on('message', on)
    child.send(msg)
  }), timeoutMs, `idle clients: ${msg.cmd}`)
}

/**
 * opts: { target: 'samsa'|'raw', connections, processes, settleMs, auth?: { label, brokerArgs, token } (samsa),
 *         brokerNodeArgs, brokerCpu }
 */
export async function idle(opts) {
  const n = opts.connections
  const limit = openFilesLimit()
  const perProcess = Math.ceil(n / opts.processes)
  if (limit !== null && limit < n + 256) {
    throw new Error(`the open-files limit is ${limit}; the server needs ${n} sockets and more: raise it (ulimit -n ${n + 1024}) or use --quick`)
  }
  const thisCase = caseNumber++
  const hold = async (server, url, token) => {
    const children = []
    try {
      for (let p = 0; p < opts.processes; p++) children.push((await spawnNode([clientsScript], { ipc: true, timeoutMs: 10_000, isReady: (l) => l.includes('idle clients up') || undefined })).child)
      const before = await memoryOf(server)
      const serverCpu0 = processCpuMs(server.pid)
      const t0 = performance.now()
      const opened = await Promise.all(children.map((child, p) => {
        const count = Math.min(perProcess, n - p * perProcess)
        const localAddresses = Array.from({ length: ADDRESSES_PER_PROCESS }, (_, i) => `127.${20 + (thisCase % 200)}.${p}.${i + 1}`)
        return ask(child, { cmd: 'open', url, mode: opts.target, topic: TOPIC, count, firstIndex: p * perProcess, token, localAddresses, concurrency: 50 }, 'opened', 10 * 60_000)
      }))
      const connectMs = performance.now() - t0
      const serverConnectCpuMs = processCpuMs(server.pid) - serverCpu0
      await sleep(opts.settleMs)
      const after = await memoryOf(server)
      const checks = await Promise.all(children.map((child) => ask(child, { cmd: 'check' }, 'checked', 10_000)))
      const open = checks.reduce((a, c) => a + c.open, 0)
      const held = opened.reduce((a, o) => a + o.count, 0)
      const per = (key) => round((after[key] - before[key]) / held, 0)
      return {
        scenario: 'idle',
        target: opts.target,
        auth: opts.target === 'samsa' ? (opts.auth?.label ?? 'off') : null,
        connections: held,
        openAtMeasurement: open,
        closedEarly: checks.reduce((a, c) => a + c.closedEarly, 0),
        clientErrors: checks.reduce((a, c) => a + c.errors, 0),
        lastClientError: checks.find((c) => c.lastError)?.lastError ?? null,
        clientProcesses: opts.processes,
        gc: before.gc && after.gc,
        connectMs: round(connectMs, 0),
        serverCpuUsPerConnect: round((serverConnectCpuMs * 1000) / held, 1),
        before: pick(before),
        after: pick(after),
        /** Bytes per held connection: (after − before) ÷ connections. */
        perConnection: { rssBytes: per('rss'), heapUsedBytes: per('heapUsed'), externalBytes: per('external'), arrayBuffersBytes: per('arrayBuffers') },
        clientRssMbPerProcess: round(Math.max(...opened.map((o) => o.rss)) / 2 ** 20, 0),
      }
    } finally {
      await Promise.all(children.map((c) => stopChild(c)))
    }
  }

  if (opts.target === 'raw') {
    return withRawServer({ mode: 'broadcast', pinCpu: opts.brokerCpu, nodeArgs: PROBE_NODE_ARGS }, ({ url, child }) => hold(child, url, undefined))
  }

  const sdk = await loadSdk()
  const room = String(n + 100)
  const token = opts.auth?.token
  return withBroker({
    fsync: 'never',
    ipc: true,
    pinCpu: opts.brokerCpu,
    nodeArgs: [...PROBE_NODE_ARGS, ...(opts.brokerNodeArgs ?? [])],
    extraArgs: ['--max-connections', room, '--max-connections-per-ip', room, '--max-connections-per-principal', room, ...(opts.auth?.brokerArgs ?? [])],
  }, async ({ wsUrl, child, lines }) => {
    const admin = makeClient(sdk, { url: wsUrl, clientId: 'bench-idle-admin', token })
    try {
      await withTimeout(admin.admin.createTopic(TOPIC, { partitions: 1 }), 10_000, 'createTopic')
    } finally {
      await closeClient(admin)
    }
    try {
      return await hold(child, wsUrl, token)
    } catch (err) {
      err.message += `\nbroker output (last lines):\n${lines.slice(-10).join('\n')}`
      throw err
    }
  })
}

function pick(m) {
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers }
}
