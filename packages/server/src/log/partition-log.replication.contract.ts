/**
 * @module PartitionLog behaviour replication builds on, run on every LogStorage implementation: leader epochs that
 * advance (and their checkpoint), follower appends that keep the leader's offsets and epochs, truncation, and a high
 * watermark set by the partition.
 */
import { scanBatches, type SamsaError } from '@samsa/shared'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../clock.js'
import { awaitAcks } from '../broker/produce-acks.js'
import { LEADER_EPOCH_CHECKPOINT } from './leader-epoch-cache.js'
import type { LogStorage } from './log-storage.js'
import { expectSamsaError } from './partition-log.contract.js'
import { defaultPartitionLogConfig, PartitionLog, type PartitionLogArgs } from './partition-log.js'
import { recordsOf, testBatch } from './testing/batches.js'
import { ManualClock } from './testing/manual-clock.js'
import { forgetRecoveryPoint } from './testing/recovery-point.js'

/** [baseOffset, leaderEpoch] of every batch in bytes. */
const placements = (bytes: Uint8Array) => [...scanBatches(bytes)].map((b) => [b.header.baseOffset, b.header.partitionLeaderEpoch])

export function partitionLogReplicationSuite(name: string, makeStorage: () => Promise<LogStorage>): void {
  describe(`PartitionLog replication groundwork on ${name}`, () => {
    const opened: PartitionLog[] = []
    afterEach(async () => {
      for (const l of opened.splice(0)) await l.close().catch(() => {})
    })
    async function env() {
      const storage = await makeStorage()
      const clock = new ManualClock()
      const open = async (dir: string, args: Partial<PartitionLogArgs> = {}) => {
        const config = { ...defaultPartitionLogConfig, retentionMs: null, segmentBytes: 400, indexIntervalBytes: 100, ...args.config }
        const log = await PartitionLog.open({ storage, dir, clock, logger: silentLogger, leaderEpoch: 3, ...args, config })
        opened.push(log)
        return log
      }
      /** Every batch of the log, as stored. */
      const readAll = async (log: PartitionLog) => {
        const parts: Uint8Array[] = []
        for (let next = log.logStartOffset; next < log.highWatermark; ) {
          const { records } = await log.read(next, 1 << 20)
          parts.push(records)
          next = [...scanBatches(records)].at(-1)!.header.baseOffset + [...scanBatches(records)].at(-1)!.header.lastOffsetDelta + 1
        }
        const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
        parts.reduce((at, p) => (out.set(p, at), at + p.length), 0)
        return out
      }
      return { storage, clock, open, readAll }
    }

    it('becomeLeader: later batches carry the new epoch, the cache maps each epoch to its start, and both survive a reopen', async () => {
      const e = await env()
      let log = await e.open('p')
      await log.append(testBatch({ records: 2 }))
      await log.becomeLeader(5)
      await log.append(testBatch())
      await log.becomeLeader(5) // the same epoch again: nothing changes
      await log.becomeLeader(8) // an epoch without batches
      expect(log.leaderEpoch).toBe(8)
      expect(log.epochs).toEqual([{ epoch: 3, startOffset: 0 }, { epoch: 5, startOffset: 2 }, { epoch: 8, startOffset: 3 }])
      expect(placements((await log.read(0, 1 << 20)).records)).toEqual([[0, 3], [2, 5]])
      await expectSamsaError(log.becomeLeader(7), 'FENCED_LEADER_EPOCH', { leaderEpoch: 8 })
      expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 3, endOffset: 2 })
      expect(log.endOffsetForEpoch(6)).toEqual({ epoch: 5, endOffset: 3 })
      expect(log.endOffsetForEpoch(2)).toEqual({ epoch: -1, endOffset: -1 })
      await log.close()
      log = await e.open('p') // opened with leaderEpoch 3: the checkpoint's newer epoch wins
      expect(log.recoveryReport).toBeNull()
      expect(log.leaderEpoch).toBe(8)
      expect(log.epochs.map((x) => x.epoch)).toEqual([3, 5, 8])
      expect((await log.append(testBatch())).baseOffset).toBe(3)
      expect(placements((await log.read(3, 1 << 20)).records)).toEqual([[3, 8]])
    })

    it('appendAsFollower keeps the leader bytes, offsets and epochs, across segments and a reopen', async () => {
      const e = await env()
      const leader = await e.open('leader')
      for (let i = 0; i < 6; i++) await leader.append(testBatch({ records: 1 + (i % 3), tag: `a${i}`, valueBytes: 40 }))
      await leader.becomeLeader(4)
      for (let i = 0; i < 6; i++) await leader.append(testBatch({ records: 2, tag: `b${i}`, valueBytes: 40 }))
      const bytes = await e.readAll(leader)
      let follower = await e.open('follower', { leaderEpoch: 0, highWatermark: 'set-by-partition' })
      const half = [...scanBatches(bytes)][4]!.at
      expect(await follower.appendAsFollower(bytes.slice(0, half))).toEqual({ firstOffset: 0, logEndOffset: 7 }) // 1 + 2 + 3 + 1 records
      await follower.appendAsFollower(bytes.slice(half))
      expect(follower.logEndOffset).toBe(leader.logEndOffset)
      expect(follower.highWatermark).toBe(0) // the partition sets it
      follower.advanceHighWatermark(leader.logEndOffset)
      expect(await e.readAll(follower)).toEqual(bytes)
      expect(follower.epochs).toEqual(leader.epochs)
      await follower.close()
      follower = await e.open('follower', { leaderEpoch: 0 })
      expect(follower.recoveryReport).toBeNull()
      expect(await e.readAll(follower)).toEqual(bytes)
      expect(follower.epochs).toEqual(leader.epochs)
      expect(follower.leaderEpoch).toBe(4)
    })

    it('appendAsFollower refuses a failed CRC, an offset gap and an older epoch, writing nothing of the refused batch', async () => {
      const e = await env()
      const leader = await e.open('leader')
      await leader.append(testBatch({ records: 2 }))
      await leader.becomeLeader(6)
      await leader.append(testBatch())
      const all = await e.readAll(leader)
      const [first, second] = [...scanBatches(all)].map((b) => all.slice(b.at, b.at + b.totalBytes))
      const follower = await e.open('follower', { leaderEpoch: 0 })
      const flipped = second!.slice()
      flipped[flipped.length - 1]! ^= 1
      await expectSamsaError(follower.appendAsFollower(second!), 'CORRUPT_MESSAGE') // starts at 2; the log ends at 0
      await follower.appendAsFollower(first!)
      await expectSamsaError(follower.appendAsFollower(flipped), 'CORRUPT_MESSAGE')
      expect(follower.logEndOffset).toBe(2)
      await follower.appendAsFollower(second!)
      const stale = first!.slice()
      new DataView(stale.buffer).setUint32(4, 3) // baseOffset 3, epoch 3 < 6 (both outside the CRC)
      const err: SamsaError = await expectSamsaError(follower.appendAsFollower(stale), 'CORRUPT_MESSAGE')
      expect(err.message).toMatch(/leader epoch 3, older than the epoch 6 of this log's last batch/)
      expect(follower.logEndOffset).toBe(3)
    })

    it('appendAsFollower takes an older epoch from its leader where this log recorded a newer one without batches', async () => {
      const e = await env()
      const leader = await e.open('leader')
      await leader.append(testBatch({ records: 2 }))
      await leader.append(testBatch()) // offset 2, epoch 3: more than the other replica got
      const all = await e.readAll(leader)
      const [first, second] = [...scanBatches(all)].map((b) => all.slice(b.at, b.at + b.totalBytes))
      const replica = await e.open('replica', { leaderEpoch: 0 })
      await replica.appendAsFollower(first!)
      await replica.becomeLeader(8) // led briefly at 8 and wrote nothing, then followed the other again
      await replica.appendAsFollower(second!)
      expect(replica.epochs).toEqual([{ epoch: 3, startOffset: 0 }])
      expect(replica.logEndOffset).toBe(3)
    })

    it('truncateTo cuts at the batch holding the offset, across segments; appends continue there; a reopen agrees', async () => {
      const e = await env()
      let log = await e.open('p')
      for (let i = 0; i < 6; i++) await log.append(testBatch({ records: 2, tag: `a${i}`, valueBytes: 60 }))
      await log.becomeLeader(5)
      for (let i = 0; i < 6; i++) await log.append(testBatch({ records: 2, tag: `b${i}`, valueBytes: 60 }))
      expect(log.logEndOffset).toBe(24)
      const segmentsBefore = (await e.storage.list('p')).filter((n) => n.endsWith('.log')).length
      expect(segmentsBefore).toBeGreaterThan(3)
      expect(await log.truncateTo(9)).toBe(8) // offset 9 is inside the batch 8..9, which goes whole
      expect(log.logEndOffset).toBe(8)
      expect(log.highWatermark).toBe(8)
      expect(log.epochs).toEqual([{ epoch: 3, startOffset: 0 }]) // epoch 5 started at 12, past the new end
      expect((await e.storage.list('p')).filter((n) => n.endsWith('.log')).length).toBeLessThan(segmentsBefore)
      expect(await log.truncateTo(20)).toBe(8) // at or past the end: nothing to cut
      await expectSamsaError(log.truncateTo(-1), 'OFFSET_OUT_OF_RANGE')
      expect((await log.append(testBatch({ tag: 'c' }))).baseOffset).toBe(8)
      expect(recordsOf(await e.readAll(log)).map((r) => r.value.slice(0, 4))).toEqual(['a0-0', 'a0-1', 'a1-0', 'a1-1', 'a2-0', 'a2-1', 'a3-0', 'a3-1', 'c-0'])
      await log.close()
      log = await e.open('p')
      expect(log.recoveryReport).toBeNull()
      expect(log.logEndOffset).toBe(9)
      expect(log.epochs).toEqual([{ epoch: 3, startOffset: 0 }, { epoch: 5, startOffset: 8 }])
      expect(placements((await log.read(8, 1 << 20)).records)).toEqual([[8, 5]])
    })

    it('truncateTo rebuilds producer state: a resend of a cut batch is appended again, a kept one is still a duplicate', async () => {
      const e = await env()
      const log = await e.open('p')
      const batch = (seq: number) => testBatch({ producerId: 7, producerEpoch: 0, baseSequence: seq, tag: `s${seq}` })
      for (let seq = 0; seq < 4; seq++) await log.append(batch(seq))
      await log.truncateTo(2)
      expect(await log.append(batch(1))).toMatchObject({ baseOffset: 1, duplicate: true })
      await expectSamsaError(log.append(batch(3)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', { expectedSequence: 2 })
      expect(await log.append(batch(2))).toMatchObject({ baseOffset: 2, duplicate: false })
    })

    it("a partition-set high watermark: reads between it and the log end answer no records yet, above the log end OFFSET_OUT_OF_RANGE naming the log end; acks=all waits for it, acks=leader does not", async () => {
      const e = await env()
      const log = await e.open('p', { highWatermark: 'set-by-partition' })
      const r = await log.append(testBatch({ records: 3 }))
      expect(log.logEndOffset).toBe(3)
      expect(log.localDurableEnd).toBe(3)
      expect(log.highWatermark).toBe(0)
      // A new leader's high watermark can lag what its consumers already read from the former leader: a position in
      // its log is valid and waits for the high watermark, it is not out of range (nothing was truncated).
      for (const offset of [0, 1, 3]) expect(await log.read(offset, 100)).toMatchObject({ records: new Uint8Array(0), highWatermark: 0, logStartOffset: 0 })
      await expectSamsaError(log.read(4, 100), 'OFFSET_OUT_OF_RANGE', { logStartOffset: 0, logEndOffset: 3, highWatermark: 0 })
      let all = false
      const leader = awaitAcks(1, log, r.lastOffset + 1)
      void awaitAcks(-1, log, r.lastOffset + 1).done.then(() => (all = true))
      await leader.done
      await new Promise((resolve) => setImmediate(resolve))
      expect(all).toBe(false)
      log.advanceHighWatermark(10) // never past the local durable end
      expect(log.highWatermark).toBe(3)
      await new Promise((resolve) => setImmediate(resolve))
      expect(all).toBe(true)
      expect(recordsOf((await log.read(1, 100)).records)).toHaveLength(3)
    })

    it('a partition-set high watermark starts at its checkpoint after a reopen, within the log; without one at the log start', async () => {
      const e = await env()
      let log = await e.open('p', { highWatermark: 'set-by-partition' })
      for (let i = 0; i < 4; i++) await log.append(testBatch({ records: 2 }))
      log.advanceHighWatermark(6)
      await log.checkpointHighWatermark()
      log.advanceHighWatermark(8) // not checkpointed
      await log.close()
      log = await e.open('p', { highWatermark: 'set-by-partition' })
      expect(log.highWatermark).toBe(6)
      expect(recordsOf(await e.readAll(log))).toHaveLength(6)
      await log.truncateTo(4)
      await log.close()
      log = await e.open('p', { highWatermark: 'set-by-partition' }) // the checkpoint (6) is past the log end (4)
      expect(log.highWatermark).toBe(4)
      await log.close()
      log = await e.open('q', { highWatermark: 'set-by-partition' })
      await log.append(testBatch())
      await log.close()
      expect((await e.open('q', { highWatermark: 'set-by-partition' })).highWatermark).toBe(0)
      expect((await e.open('p')).highWatermark).toBe(4) // a single node's high watermark is its durable end
    })

    it('recovery refuses a batch whose epoch the checkpoint does not give its offset: a tail is cut, a batch followed by intact ones is not', async () => {
      const e = await env()
      let log = await e.open('p', { config: { ...defaultPartitionLogConfig, segmentBytes: 1 << 20 } })
      for (let i = 0; i < 3; i++) await log.append(testBatch({ tag: `a${i}` }))
      await log.becomeLeader(5)
      await log.append(testBatch({ tag: 'b' }))
      await log.close()
      const path = 'p/00000000000000000000.log'
      const original = (await e.storage.readFile(path))!
      const batches = [...scanBatches(original)]
      const withEpoch = (index: number, epoch: number) => {
        const copy = original.slice()
        new DataView(copy.buffer).setInt32(batches[index]!.at + 12, epoch)
        return copy
      }
      // The tail batch (offset 3, epoch 5) claims epoch 4: not the checkpoint's epoch for offset 3.
      await rewrite(e.storage, path, withEpoch(3, 4))
      await forgetRecoveryPoint(e.storage, 'p') // verified from the start, as after a crash before any recovery point
      log = await e.open('p')
      expect(log.recoveryReport?.reason).toMatch(/does not match the leader-epoch checkpoint/)
      expect(log.logEndOffset).toBe(3)
      await log.close()
      // Batch 1 (epoch 3) claims epoch 5, which starts at offset 3; intact batches follow: refuse to open.
      await rewrite(e.storage, path, withEpoch(1, 5))
      await forgetRecoveryPoint(e.storage, 'p')
      await expect(e.open('p')).rejects.toThrow(/leader epoch 5 at offset 1 does not match .*intact batch follows/)
    })

    it('without a leader-epoch checkpoint (a log from before there was one) the cache is rebuilt from the batches and written', async () => {
      const e = await env()
      let log = await e.open('p')
      await log.append(testBatch())
      await log.becomeLeader(5)
      await log.append(testBatch())
      await log.close()
      await e.storage.remove(`p/${LEADER_EPOCH_CHECKPOINT}`)
      log = await e.open('p', { leaderEpoch: 5 })
      expect(log.recoveryReport).toBeNull()
      expect(log.epochs).toEqual([{ epoch: 3, startOffset: 0 }, { epoch: 5, startOffset: 1 }])
      expect(await e.storage.readFile(`p/${LEADER_EPOCH_CHECKPOINT}`)).not.toBeNull()
    })

    it('a damaged leader-epoch checkpoint cuts nothing: the cache is rebuilt from the batches, whose order alone is checked', async () => {
      const e = await env()
      let log = await e.open('p')
      await log.append(testBatch())
      await log.becomeLeader(9)
      await log.append(testBatch())
      await log.close()
      await e.storage.writeFileAtomic(`p/${LEADER_EPOCH_CHECKPOINT}`, new TextEncoder().encode('0\n1\n9 1\n00000000\n'))
      log = await e.open('p', { leaderEpoch: 0 })
      expect(log.recoveryReport).toBeNull()
      expect(log.logEndOffset).toBe(2)
      expect(log.epochs).toEqual([{ epoch: 3, startOffset: 0 }, { epoch: 9, startOffset: 1 }])
    })
  })
}

/** Replaces a closed log's file (through the storage port, so it works on every implementation). */
async function rewrite(storage: LogStorage, path: string, bytes: Uint8Array): Promise<void> {
  const f = await storage.open(path, { create: false })
  await f.truncate(0)
  await f.append(bytes)
  await f.sync()
  await f.close()
}
