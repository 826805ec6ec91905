// Machine and build facts recorded with every result.
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import os from 'node:os'

export function machineInfo() {
  const require = createRequire(import.meta.url)
  const cpus = os.cpus()
  let bufferutil = false
  try { require.resolve('bufferutil'); bufferutil = true } catch { /* absent */ }
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? null,
    availableParallelism: os.availableParallelism?.() ?? cpus.length,
    totalMemMb: Math.round(os.totalmem() / 1024 / 1024),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    ws: safe(() => require('ws/package.json').version),
    bufferutil,
    loadAvgAtEnd: os.loadavg().map((v) => Math.round(v * 100) / 100),
    git: {
      commit: safe(() => execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim()),
      dirty: safe(() => execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim().length > 0),
    },
  }
}

function safe(fn) {
  try { return fn() } catch { return null }
}
