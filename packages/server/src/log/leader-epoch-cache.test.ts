import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../clock.js'
import { LEADER_EPOCH_CHECKPOINT, LeaderEpochCache } from './leader-epoch-cache.js'
import { MemoryLogStorage } from './memory-log-storage.js'
import { defaultPartitionLogConfig, PartitionLog, type PartitionLogConfig } from './partition-log.js'
import { testBatch } from './testing/batches.js'
import { ManualClock } from './testing/manual-clock.js'

describe('LeaderEpochCache', () => {
  it('assigns as Kafka does: a newer epoch drops entries starting at or after it; an older one only supersedes epochs without batches', () => {
    const c = new LeaderEpochCache()
    expect(c.latestEpoch).toBe(-1)
    expect(c.assign(0, 0)).toBe(true)
    expect(c.assign(0, 5)).toBe(false) // the latest epoch continues
    expect(c.assign(2, 10)).toBe(true)
    expect(c.assign(4, 10)).toBe(true) // epoch 2 never got a batch: 4 starts where it did
    expect(c.entries).toEqual([{ epoch: 0, startOffset: 0 }, { epoch: 4, startOffset: 10 }])
    expect(() => c.assign(1, 12)).toThrow(/leader epoch 4 has batches from offset 10/)
    expect(c.assign(8, 14)).toBe(true) // a leader epoch recorded at the log end, before any batch of it
    expect(c.assign(7, 14)).toBe(true) // a follower takes its leader's older epoch there: 8 had no batch
    expect(c.entries).toEqual([{ epoch: 0, startOffset: 0 }, { epoch: 4, startOffset: 10 }, { epoch: 7, startOffset: 14 }])
    expect(c.assign(4, 14)).toBe(true) // epoch 4 continues at 14: 7 had no batch
    expect(c.entries.at(-1)).toEqual({ epoch: 4, startOffset: 10 })
    expect(() => c.assign(-1, 0)).toThrow(RangeError)
  })

  it('answers OffsetsForLeaderEpoch and which epoch holds an offset', () => {
    const c = new LeaderEpochCache([{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 7 }, { epoch: 6, startOffset: 20 }])
    expect(c.endOffsetFor(0, 30)).toEqual({ epoch: -1, endOffset: -1 })
    expect(c.endOffsetFor(1, 30)).toEqual({ epoch: 1, endOffset: 7 })
    expect(c.endOffsetFor(2, 30)).toEqual({ epoch: 1, endOffset: 7 })
    expect(c.endOffsetFor(5, 30)).toEqual({ epoch: 3, endOffset: 20 })
    expect(c.endOffsetFor(9, 30)).toEqual({ epoch: 6, endOffset: 30 })
    expect(c.epochAt(6)).toEqual({ epoch: 1, startOffset: 0, endOffset: 7 })
    expect(c.epochAt(7)?.epoch).toBe(3)
    expect(new LeaderEpochCache([{ epoch: 2, startOffset: 5 }]).epochAt(4)).toBeNull()
  })

  it('truncates from the end (after a log cut) and from the start (after retention)', () => {
    const c = new LeaderEpochCache([{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 7 }, { epoch: 6, startOffset: 20 }])
    expect(c.truncateFromEnd(20)).toBe(false) // epoch 6 starts at the end: kept, it may have no batch yet
    expect(c.truncateFromEnd(19)).toBe(true)
    expect(c.truncateFromStart(9)).toBe(true)
    expect(c.entries).toEqual([{ epoch: 3, startOffset: 9 }])
    expect(c.truncateFromStart(4)).toBe(false)
  })

  it('round-trips through its checkpoint bytes, and decode refuses anything else without throwing', () => {
    const c = new LeaderEpochCache([{ epoch: 0, startOffset: 0 }, { epoch: 5, startOffset: 2 ** 40 }])
    expect(new TextDecoder().decode(c.encode())).toMatch(/^0\n2\n0 0\n5 1099511627776\n[0-9a-f]{8}\n$/)
    expect(LeaderEpochCache.decode(c.encode())?.entries).toEqual(c.entries)
    expect(LeaderEpochCache.decode(new LeaderEpochCache().encode())?.entries).toEqual([])
    const flipped = c.encode()
    flipped[6]! ^= 1
    expect(LeaderEpochCache.decode(flipped)).toBeNull()
    const te = new TextEncoder()
    expect(LeaderEpochCache.decode(te.encode('0\n2\n5 0\n1 3\nffffffff\n'))).toBeNull()
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => void LeaderEpochCache.decode(bytes)))
  })
})

describe('the leader-epoch and high-watermark checkpoints under power loss (MemoryLogStorage model)', () => {
  const config: PartitionLogConfig = { ...defaultPartitionLogConfig, retentionMs: null, fsync: 'never' }
  const open = (storage: MemoryLogStorage, leaderEpoch = 0) =>
    PartitionLog.open({ storage, dir: 'p', config, clock: new ManualClock(), logger: silentLogger, leaderEpoch })

  it('an epoch is durable once becomeLeader resolves, even when every batch after it was lost', async () => {
    const mem = new MemoryLogStorage()
    const log = await open(mem)
    await log.append(testBatch({ records: 2 }))
    await log.close() // fsyncs: 2 durable records at epoch 0
    const again = await open(mem)
    await again.becomeLeader(4)
    await again.append(testBatch()) // fsync 'never': lost below
    mem.simulatePowerLoss()
    const reopened = await open(mem)
    expect(reopened.recoveryReport).toBeNull()
    expect(reopened.logEndOffset).toBe(2)
    expect(reopened.leaderEpoch).toBe(4)
    expect(reopened.epochs).toEqual([{ epoch: 0, startOffset: 0 }, { epoch: 4, startOffset: 2 }])
  })

  it('a checkpoint ahead of a log that lost its unsynced tail is cut back to the log end on open, and rewritten', async () => {
    const mem = new MemoryLogStorage()
    const openAt = (dir: string, fsync: PartitionLogConfig['fsync']) => PartitionLog.open({ storage: mem, dir, config: { ...config, fsync }, clock: new ManualClock(), logger: silentLogger })
    const leader = await openAt('p', 'always')
    await leader.append(testBatch({ records: 3 })) // 0..2, epoch 0
    await leader.append(testBatch()) // 3, epoch 0
    await leader.becomeLeader(2)
    await leader.append(testBatch()) // 4, epoch 2
    const bytes = (await leader.read(0, 1 << 20)).records
    const first = testBatch({ records: 3 }).length
    await leader.close()
    const follower = await openAt('f', 'always')
    await follower.appendAsFollower(bytes.subarray(0, first))
    await follower.close()
    const lossy = await openAt('f', 'never')
    await lossy.appendAsFollower(bytes.subarray(first)) // offsets 3 and 4 unsynced; (epoch 2, offset 4) in the checkpoint first
    expect(lossy.epochs).toEqual([{ epoch: 0, startOffset: 0 }, { epoch: 2, startOffset: 4 }])
    mem.simulatePowerLoss()
    const reopened = await openAt('f', 'never')
    expect(reopened.recoveryReport).toBeNull()
    expect(reopened.logEndOffset).toBe(3)
    expect(reopened.epochs).toEqual([{ epoch: 0, startOffset: 0 }])
    expect(LeaderEpochCache.decode((await mem.readFile(`f/${LEADER_EPOCH_CHECKPOINT}`))!)?.entries).toEqual([{ epoch: 0, startOffset: 0 }])
  })

  it('a truncation is durable when truncateTo resolves: log first, then the checkpoint', async () => {
    const mem = new MemoryLogStorage()
    const log = await open(mem)
    await log.append(testBatch({ records: 3 }))
    await log.becomeLeader(2)
    await log.append(testBatch())
    await log.close()
    const again = await open(mem)
    await again.truncateTo(2)
    mem.simulatePowerLoss()
    const cut = await open(mem)
    expect(cut.recoveryReport).toBeNull()
    expect(cut.logEndOffset).toBe(0) // the batch 0..2 holds offset 2: it went whole
    expect(cut.epochs).toEqual([{ epoch: 0, startOffset: 0 }])
    expect(LeaderEpochCache.decode((await mem.readFile(`p/${LEADER_EPOCH_CHECKPOINT}`))!)?.entries).toEqual([{ epoch: 0, startOffset: 0 }])
  })

  it('a checkpointed high watermark past what a power loss left is clamped to the log end', async () => {
    const mem = new MemoryLogStorage()
    const openSet = () => PartitionLog.open({ storage: mem, dir: 'h', config, clock: new ManualClock(), logger: silentLogger, highWatermark: 'set-by-partition' })
    const log = await openSet()
    await log.append(testBatch({ records: 2 }))
    await log.close() // durable: offsets 0..1
    const again = await openSet()
    await again.append(testBatch({ records: 3 })) // fsync 'never': lost below
    again.advanceHighWatermark(5)
    await again.checkpointHighWatermark()
    mem.simulatePowerLoss()
    const reopened = await openSet()
    expect(reopened.logEndOffset).toBe(2)
    expect(reopened.highWatermark).toBe(2)
  })
})
