import { scanBatches } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { MemoryLogStorage } from './memory-log-storage.js'
import { makeLogEnv } from './partition-log.contract.js'
import { testBatch } from './testing/batches.js'
import { forgetRecoveryPoint } from './testing/recovery-point.js'

describe('PartitionLog recovery: damage in the middle of the active segment', () => {
  it('a flipped byte in an early, acknowledged batch of the active segment refuses to open instead of cutting the intact batches after it', async () => {
    const mem = new MemoryLogStorage()
    const e = makeLogEnv(mem, {})
    const log = await e.open()
    for (let i = 0; i < 5; i++) await log.append(testBatch({ tag: `r${i}` })) // fsync 'always': all acknowledged
    await log.close()
    const path = 't-0/00000000000000000000.log'
    const bytes = mem.peek(path)!
    const first = [...scanBatches(bytes)][0]!
    bytes[first.at + first.totalBytes - 2]! ^= 0x40 // bit rot inside batch 0; batches 1..4 are intact
    mem.poke(path, bytes)
    await forgetRecoveryPoint(mem, 't-0') // bytes no recovery point vouches for (a crash before the first one)
    await expect(e.open()).rejects.toThrow(/corrupt log .*00000000000000000000\.log at byte 0: .*an intact batch follows/)
    expect(mem.peek(path)!.length).toBe(bytes.length) // nothing was cut
  })
})
