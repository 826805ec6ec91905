import { TailCacheBudget } from './tail-cache.js'
import { scanBatches, verifyBatch } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../clock.js'
import { MemoryLogStorage } from './memory-log-storage.js'
import { defaultPartitionLogConfig, PartitionLog } from './partition-log.js'
import type { ReadDamage } from './served-batches.js'
import { ManualClock } from './testing/manual-clock.js'
import { testBatch } from './testing/batches.js'

const DIR = 't-0'
const SEGMENT = `${DIR}/00000000000000000000.log`

function open(storage: MemoryLogStorage, highWatermark: 'set-by-partition' | 'follows-local-end'): Promise<PartitionLog> {
  // No tail cache: the batches last written would be served from memory, not from the storage these tests damage.
  return PartitionLog.open({ storage, dir: DIR, config: { ...defaultPartitionLogConfig, retentionMs: null }, clock: new ManualClock(), logger: silentLogger, highWatermark, tailCache: new TailCacheBudget(0) })
}

/** Five one-record batches, all below the high watermark. */
async function fiveCommitted(storage: MemoryLogStorage, highWatermark: 'set-by-partition' | 'follows-local-end'): Promise<PartitionLog> {
  const log = await open(storage, highWatermark)
  for (let i = 0; i < 5; i++) await log.append(testBatch({ tag: `r${i}` }))
  log.advanceHighWatermark(5)
  await log.checkpointHighWatermark()
  return log
}

/** Flips a bit inside batch `index`'s CRC-covered bytes, under the open log (bit rot after the write). */
function rot(storage: MemoryLogStorage, index: number): void {
  const bytes = storage.peek(SEGMENT)!
  const b = [...scanBatches(bytes)][index]!
  bytes[b.at + b.totalBytes - 2]! ^= 0x40
  storage.poke(SEGMENT, bytes)
}

describe('PartitionLog: a replica checks what it serves', () => {
  it('a consumer read or a replica fetch over a batch rotten on storage fails NOT_LEADER_OR_FOLLOWER; every later read too; the listener hears once; reopening cuts the log there', async () => {
    const storage = new MemoryLogStorage()
    const log = await fiveCommitted(storage, 'set-by-partition')
    const told: ReadDamage[] = []
    log.onReadDamage((d) => told.push(d))
    expect((await log.read(0, 1 << 20)).records.length).toBeGreaterThan(0)

    rot(storage, 2)
    expect((await log.read(0, 60)).records.length).toBeGreaterThan(0) // a read that stops before the damage is served
    await expect(log.read(1, 1 << 20)).rejects.toMatchObject({ errorName: 'NOT_LEADER_OR_FOLLOWER', details: { damagedOffset: 2 } })
    await expect(log.readForReplica(0, 1 << 20)).rejects.toMatchObject({ errorName: 'NOT_LEADER_OR_FOLLOWER' })
    await expect(log.read(0, 60)).rejects.toMatchObject({ errorName: 'NOT_LEADER_OR_FOLLOWER' }) // sticky
    expect(told).toEqual([{ offset: 2, reason: expect.stringMatching(/CRC/) }])

    await log.close()
    const reopened = await open(storage, 'set-by-partition')
    expect(reopened.logEndOffset).toBe(2)
    expect(reopened.incompleteAtOpen).toMatch(/damaged data .*cut to offset 2/)
    await reopened.close()
  })

  it('a single node serves what it stored (its readers check the CRC), as before', async () => {
    const storage = new MemoryLogStorage()
    const log = await fiveCommitted(storage, 'follows-local-end')
    rot(storage, 2)
    const { records } = await log.read(0, 1 << 20)
    const batches = [...scanBatches(records)]
    expect(batches).toHaveLength(5)
    expect(() => verifyBatch(records, batches[2]!.at, batches[2]!.at + batches[2]!.totalBytes)).toThrow(/CRC/)
    await log.close()
  })
})
