import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import { silentLogger } from '../../clock.js'
import { LazyLogStorage } from '../../log/lazy-log-storage.js'
import { partitionLogSuite } from '../../log/partition-log.contract.js'
import { partitionLogReplicationSuite } from '../../log/partition-log.replication.contract.js'
import { ManualClock } from '../../log/testing/manual-clock.js'
import { FileLogStorage } from './file-log-storage.js'

const roots: string[] = []
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true })
})

const fileStorage = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'samsa-plog-'))
  roots.push(dir)
  return new FileLogStorage(dir)
}
partitionLogSuite('FileLogStorage', fileStorage)
partitionLogReplicationSuite('FileLogStorage', fileStorage)

// One cached handle: the active segment's real file is closed (after an fsync) and reopened around every roll, read and index write.
const lazyStorage = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'samsa-plog-lazy-'))
  roots.push(dir)
  return new LazyLogStorage(new FileLogStorage(dir), { maxOpenFiles: 1, logger: silentLogger, clock: new ManualClock() })
}
partitionLogSuite('LazyLogStorage over FileLogStorage, 1 open file', lazyStorage)
partitionLogReplicationSuite('LazyLogStorage over FileLogStorage, 1 open file', lazyStorage)
