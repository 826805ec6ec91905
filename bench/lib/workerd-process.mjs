// Starts the Cloudflare Worker and its Durable Object in workerd through Miniflare (test/support/workerd-host.mjs), as a
// separate process whose Durable Object storage is persisted in `dataDir`; ready once the object serves (the host's
// "broker listening" line comes after its first request). Telemetry is off.
import { fileURLToPath } from 'node:url'
import { spawnNode } from './child-process.mjs'

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
const host = fileURLToPath(new URL('../../test/support/workerd-host.mjs', import.meta.url))

/**
 * Returns { child, httpUrl, wsUrl, lines, startedAtMs (performance.now() at spawn), workerdReadyMs (the host's ms to workerd
 * serving), objectStartMs (workerd serving → the object's first answer) }. `flags`: broker settings as `--kebab-name value`;
 * `bundle`: a Worker bundle built beforehand (scripts/build-worker.mjs), so no start includes esbuild.
 */
export async function startWorkerd({ dataDir, flags = [], logLevel = 'info', pinCpu, bundle }) {
  const startedAtMs = performance.now()
  const env = { ...process.env, SAMSA_LOG_LEVEL: logLevel, WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false' }
  const r = await spawnNode([host, '--data-dir', dataDir, '--port', '0', ...(bundle ? ['--worker-bundle', bundle] : []), ...flags], {
    cwd: repoRoot,
    env,
    pinCpu,
    timeoutMs: 60_000,
    isReady: (line) => {
      if (!line.startsWith('{')) return undefined
      const entry = JSON.parse(line)
      return entry.msg === 'broker listening' && typeof entry.url === 'string' ? entry : undefined
    },
  })
  const { url, workerdReadyMs, objectStartMs } = r.ready
  return { child: r.child, lines: r.lines, httpUrl: url, wsUrl: url.replace(/^http/, 'ws'), startedAtMs, workerdReadyMs, objectStartMs }
}
