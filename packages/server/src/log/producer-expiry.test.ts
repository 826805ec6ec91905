import { describe, expect, it } from 'vitest'
import { MemoryLogStorage } from './memory-log-storage.js'
import { makeLogEnv } from './partition-log.contract.js'
import { testBatch } from './testing/batches.js'

const DAY_MS = 24 * 3_600_000
const batchOf = (id: number, seq: number) => testBatch({ producerId: id, baseSequence: seq, tag: `p${id}-s${seq}` })

describe('PartitionLog: idle producer ids expire', () => {
  it('an id idle for producerIdExpirationMs is dropped at the next tick, stays dropped after a restart, and is then taken as a new producer', async () => {
    const mem = new MemoryLogStorage()
    const e = makeLogEnv(mem, { producerIdExpirationMs: 7 * DAY_MS, recoveryPointIntervalMs: 60_000 })
    const log = await e.open()
    await log.append(batchOf(7, 0))
    await log.append(batchOf(8, 0))
    e.clock.advance(6 * DAY_MS)
    await log.append(batchOf(8, 1)) // producer 8 stays active
    e.clock.advance(DAY_MS - 60_000)
    await log.checkpointRecoveryPoint()
    expect(log.producerIdCount).toBe(2)
    expect(await log.append(batchOf(7, 0))).toMatchObject({ duplicate: true, baseOffset: 0 })

    e.clock.advance(60_000) // producer 7's last append is now 7 days old
    await log.checkpointRecoveryPoint()
    expect(log.producerIdCount).toBe(1)
    await log.close()

    const reopened = await e.open()
    expect(reopened.recovered.resumedFrom).toBe(3)
    expect(reopened.producerIdCount).toBe(1)
    // A resend of producer 7's batch from before the expiry is no longer recognised: it is appended again ...
    expect(await reopened.append(batchOf(7, 0))).toMatchObject({ duplicate: false, baseOffset: 3 })
    // ... while producer 8, still known, is deduplicated as before; a producer resuming at its next sequence is accepted.
    expect(await reopened.append(batchOf(8, 1))).toMatchObject({ duplicate: true, baseOffset: 2 })
    expect(await reopened.append(batchOf(7, 1))).toMatchObject({ duplicate: false, baseOffset: 4 })
    await reopened.close()
  })

  it('the periodic tick expires ids without any append', async () => {
    const mem = new MemoryLogStorage()
    const e = makeLogEnv(mem, { producerIdExpirationMs: 5_000, recoveryPointIntervalMs: 1_000 })
    const log = await e.open()
    await log.append(batchOf(7, 0))
    e.clock.advance(4_000)
    expect(log.producerIdCount).toBe(1)
    e.clock.advance(1_000)
    for (let i = 0; i < 1_000 && log.producerIdCount > 0; i++) await new Promise((r) => setImmediate(r))
    expect(log.producerIdCount).toBe(0)
    await log.close()
  })
})
