import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import { partitionLogSuite } from '../../log/partition-log.contract.js'
import { FileLogStorage } from './file-log-storage.js'

const roots: string[] = []
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true })
})

partitionLogSuite('FileLogStorage', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'samsa-plog-'))
  roots.push(dir)
  return new FileLogStorage(dir)
})
