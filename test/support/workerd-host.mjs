/**
 * @module Runs the Cloudflare Worker (a catalog SamsaBrokerObject per namespace, one per topic) in workerd through Miniflare, its Durable
 * Object storage persisted under a directory, as the conformance suite and the bench start a broker process:
 * `node test/support/workerd-host.mjs --data-dir DIR [--port 0] [--host 127.0.0.1] [--worker-bundle FILE] [--min-alarm-interval-ms MS] [--<setting> VALUE]…`
 * (settings in kebab case, as `samsa start`'s, passed to the object in SAMSA_SETTINGS; without --worker-bundle the
 * Worker is bundled first, scripts/build-worker.mjs). Once the object has started (a first
 * /healthz) it prints one JSON line with `"msg":"broker listening"` and its `url`; a failure to start prints one line
 * (`samsa-workerd: …`) and exits 1. SIGTERM or SIGINT disposes of workerd and exits 0. No telemetry is sent.
 */
import { readFile } from 'node:fs/promises'
import { COMPATIBILITY_DATE, buildWorker } from '../../packages/server/scripts/build-worker.mjs'

process.env.WRANGLER_SEND_METRICS = 'false'
process.env.WRANGLER_SEND_ERROR_REPORTS = 'false'

function fail(message) {
  console.error(`samsa-workerd: ${message}`)
  process.exit(1)
}

function parse(argv) {
  const opts = { dataDir: null, host: '127.0.0.1', port: 0, bundle: null, settings: {} }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = argv[i + 1]
    if (!flag.startsWith('--')) fail(`unexpected argument ${flag}`)
    const name = flag.slice(2)
    if (name === 'allow-anonymous') {
      opts.settings.allowAnonymous = true
      continue
    }
    if (value === undefined) fail(`${flag} needs a value`)
    i++
    if (name === 'data-dir') opts.dataDir = value
    else if (name === 'host') opts.host = value
    else if (name === 'port') opts.port = Number(value)
    else if (name === 'worker-bundle') opts.bundle = value
    else if (name === 'min-alarm-interval-ms') opts.minAlarmIntervalMs = value
    else opts.settings[name.replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value
  }
  if (opts.dataDir === null) fail('--data-dir DIR is required (the Durable Object storage is persisted there)')
  return opts
}

const opts = parse(process.argv.slice(2))
const { Miniflare } = await import('miniflare').catch((e) => fail(`miniflare is not installed (run npm ci): ${e instanceof Error ? e.message.split('\n')[0] : e}`))
let mf = null
let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  await mf?.dispose().catch(() => {})
  process.exit(0)
}
/** Miniflare's own exit hook exits with 128+signal before dispose() finishes: this handler replaces it. */
function onSignals() {
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.removeAllListeners(signal)
    process.on(signal, stop)
  }
}
onSignals()

try {
  const outfile = opts.bundle ?? (await buildWorker()).outfile
  mf = new Miniflare({
    modules: true,
    script: await readFile(outfile, 'utf8'),
    compatibilityDate: COMPATIBILITY_DATE,
    durableObjects: { SAMSA_BROKER: { className: 'SamsaBrokerObject', useSQLite: true } },
    durableObjectsPersist: opts.dataDir,
    bindings: { SAMSA_SETTINGS: JSON.stringify(opts.settings), SAMSA_LOG_LEVEL: process.env.SAMSA_LOG_LEVEL ?? 'warn', ...(opts.minAlarmIntervalMs ? { SAMSA_MIN_ALARM_INTERVAL_MS: opts.minAlarmIntervalMs } : {}) },
    host: opts.host,
    port: opts.port,
  })
  const base = await mf.ready
  const workerdReadyMs = performance.now()
  onSignals()
  const url = `http://${opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${base.port}`
  // The object starts on its first request and takes the address it advertises from it: the host it serves.
  const started = await mf.dispatchFetch(`http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${base.port}/healthz`)
  if (started.status !== 200) throw new Error(`the broker object could not start: ${(await started.text()).trim().split('\n')[0]}`)
  // Timings from this process's start: workerd serving, and the object's first request answered (its broker started).
  const servingMs = performance.now()
  console.log(JSON.stringify({ level: 'info', runtime: 'workerd', msg: 'broker listening', url, workerdReadyMs: Math.round(workerdReadyMs), objectStartMs: Math.round(servingMs - workerdReadyMs) }))
} catch (e) {
  await mf?.dispose().catch(() => {})
  fail(e instanceof Error ? e.message.split('\n')[0] : String(e))
}
