import { MemoryLogStorage } from './memory-log-storage.js'
import { partitionLogSuite } from './partition-log.contract.js'
import { partitionLogReplicationSuite } from './partition-log.replication.contract.js'

partitionLogSuite('MemoryLogStorage', async () => new MemoryLogStorage())
partitionLogReplicationSuite('MemoryLogStorage', async () => new MemoryLogStorage())
