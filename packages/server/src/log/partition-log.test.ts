import { MemoryLogStorage } from './memory-log-storage.js'
import { partitionLogSuite } from './partition-log.contract.js'

partitionLogSuite('MemoryLogStorage', async () => new MemoryLogStorage())
