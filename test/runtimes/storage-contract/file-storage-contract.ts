/**
 * @module Entry of the bundle run-contract.ts builds: the LogStorage contract (log-storage.contract.ts, unchanged,
 * with `vitest` mapped to mini-vitest.ts) against FileLogStorage through `node:fs`, in fresh temporary directories.
 * Exits 1 when a case fails; the runtime's name comes from argv[2].
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import process from 'node:process'
import { FileLogStorage } from '../../../packages/server/src/adapters/node/file-log-storage.js'
import { logStorageContract } from '../../../packages/server/src/log/log-storage.contract.js'
import { run } from './mini-vitest.js'

const roots: string[] = []
logStorageContract('FileLogStorage through node:fs', async () => {
  const root = await mkdtemp(join(tmpdir(), 'samsa-contract-'))
  roots.push(root)
  return new FileLogStorage(join(root, 'data'))
})
const failed = await run(process.argv[2] ?? 'runtime')
for (const r of roots) await rm(r, { recursive: true, force: true })
process.exitCode = failed === 0 ? 0 : 1
