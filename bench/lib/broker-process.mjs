// Starts a Samsa broker (packages/server/bin/samsa.js) as a separate process on port 0 in a fresh temp dir.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnNode, stopChild } from './child-process.mjs'
import { runtimeCommand } from './runtimes.mjs'

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
export const samsaBin = join(repoRoot, 'packages/server/bin/samsa.js')

/**
 * Runs `fn({ wsUrl, httpUrl, dataDir, child, lines })` against a fresh broker; the broker is
 * stopped and its data dir removed afterwards, whatever happens.
 * opts: { fsync: 'always'|'interval'|'never', nodeArgs: [] (e.g. ['--cpu-prof']), extraArgs: [], pinCpu,
 *         runtime: 'node' (default: the node running the bench) | 'node22' | 'node24' | 'bun' | 'deno' (runtimes.mjs;
 *         Bun and Deno run their entry, which fsyncs always and takes no node flags),
 *         ipc: an IPC channel to the broker (for a preloaded probe) }
 */
export async function withBroker(opts, fn) {
  const dataDir = await mkdtemp(join(tmpdir(), 'samsa-bench-'))
  let broker
  try {
    const runtime = runtimeCommand(opts.runtime ?? 'node')
    if (runtime.kind === 'web-entry' && (opts.fsync ?? 'always') !== 'always') throw new Error(`${opts.runtime}: the entry always fsyncs (no --fsync ${opts.fsync})`)
    if (runtime.kind === 'web-entry' && (opts.nodeArgs?.length || opts.extraArgs?.length)) throw new Error(`${opts.runtime}: node flags and samsa start flags do not apply`)
    const args = runtime.kind === 'web-entry'
      ? [...runtime.prefix, runtime.entry, '--port', '0', '--data-dir', dataDir]
      : [
          ...(opts.nodeArgs ?? []),
          samsaBin, 'start',
          '--port', '0',
          '--data', dataDir,
          '--log-format', 'json',
          '--log-level', opts.logLevel ?? 'info',
          '--fsync', opts.fsync ?? 'always',
          ...(opts.extraArgs ?? []),
        ]
    broker = await spawnNode(args, {
      executable: runtime.command,
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
      cwd: opts.cwd ?? repoRoot,
      pinCpu: opts.pinCpu,
      ipc: opts.ipc ?? false,
      timeoutMs: 20_000,
      isReady: (line) => {
        if (!line.startsWith('{')) return undefined
        const entry = JSON.parse(line)
        return entry.msg === 'broker listening' && typeof entry.url === 'string' ? entry.url : undefined
      },
    })
    const httpUrl = broker.ready
    const wsUrl = httpUrl.replace(/^http/, 'ws')
    return await fn({ wsUrl, httpUrl, dataDir, child: broker.child, lines: broker.lines })
  } finally {
    if (broker) await stopChild(broker.child, 10_000)
    await rm(dataDir, { recursive: true, force: true })
  }
}
