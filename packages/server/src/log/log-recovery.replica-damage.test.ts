import { scanBatches } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../clock.js'
import { MemoryLogStorage } from './memory-log-storage.js'
import { defaultPartitionLogConfig, PartitionLog, type PartitionLogConfig } from './partition-log.js'
import { ManualClock } from './testing/manual-clock.js'
import { testBatch } from './testing/batches.js'
import { forgetRecoveryPoint } from './testing/recovery-point.js'

const DIR = 't-0'

/** A replica's log (its high watermark set by replication, as on a clustered broker). */
function openReplica(storage: MemoryLogStorage, config: Partial<PartitionLogConfig> = {}): Promise<PartitionLog> {
  return PartitionLog.open({
    storage, dir: DIR, config: { ...defaultPartitionLogConfig, retentionMs: null, ...config }, clock: new ManualClock(), logger: silentLogger, highWatermark: 'set-by-partition',
  })
}

/** Five one-record batches, all committed: the high watermark and its checkpoint at 5. Returns every batch's bytes. */
async function fiveCommitted(mem: MemoryLogStorage, config: Partial<PartitionLogConfig> = {}): Promise<Uint8Array> {
  const log = await openReplica(mem, config)
  for (let i = 0; i < 5; i++) await log.append(testBatch({ tag: `r${i}` }))
  log.advanceHighWatermark(5)
  await log.checkpointHighWatermark()
  const all = await readAll(log)
  await log.close()
  return all
}

async function readAll(log: PartitionLog): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for (let at = log.logStartOffset; at < log.logEndOffset; ) {
    const bytes = await log.readForReplica(at, 1 << 20)
    const batches = [...scanBatches(bytes)]
    parts.push(bytes)
    at = batches.at(-1)!.header.baseOffset + batches.at(-1)!.header.lastOffsetDelta + 1
  }
  return Buffer.concat(parts)
}

/** Flips a bit in a batch that no recovery point vouches for (as after a crash before the first one), so the next open verifies it. */
async function flipInBatch(mem: MemoryLogStorage, path: string, index: number): Promise<number> {
  const bytes = mem.peek(path)!
  const b = [...scanBatches(bytes)][index]!
  bytes[b.at + b.totalBytes - 2]! ^= 0x40
  mem.poke(path, bytes)
  await forgetRecoveryPoint(mem, DIR)
  return b.at
}

describe('replica recovery: committed data damaged in place is cut, set aside and fetched again', () => {
  it('damage mid-way through the active segment: cut there, the rest kept in a .damaged file, the replica reported incomplete until it has its records again', async () => {
    const mem = new MemoryLogStorage()
    await fiveCommitted(mem)
    const path = `${DIR}/00000000000000000000.log`
    const original = mem.peek(path)!.slice()
    const position = await flipInBatch(mem, path, 1)

    const log = await openReplica(mem)
    expect(log.logEndOffset).toBe(1)
    expect(log.highWatermark).toBe(1)
    expect(log.recoveryReport).toMatchObject({ kind: 'damage', position, reason: expect.stringMatching(/CRC.*an intact batch follows it/) })
    expect(log.incompleteAtOpen).toMatch(/damaged data at byte \d+ .*cut to offset 1/)
    expect(log.epochs.at(-1)!.startOffset).toBeLessThanOrEqual(1)
    const setAside = mem.peek(`${path}.damaged`)!
    expect(setAside.length).toBe(original.length - position)
    await log.close()

    // Reopened before catching up: nothing more is cut, and it is still short of its high-watermark checkpoint.
    const again = await openReplica(mem)
    expect(again.logEndOffset).toBe(1)
    expect(again.recoveryReport).toBeNull()
    expect(again.incompleteAtOpen).toMatch(/recovered to offset 1, below its high-watermark checkpoint 5/)
    await again.close()
  })

  it('damage in a sealed segment: later segments are set aside whole; the log catches up with appendAsFollower to the same bytes', async () => {
    const mem = new MemoryLogStorage()
    const all = await fiveCommitted(mem, { segmentBytes: 150 })
    const segments = (await mem.list(DIR)).filter((n) => n.endsWith('.log')).sort()
    expect(segments.length).toBeGreaterThan(2)
    await flipInBatch(mem, `${DIR}/${segments[0]}`, 0)

    const log = await openReplica(mem, { segmentBytes: 150 })
    expect(log.logEndOffset).toBe(0)
    expect(log.incompleteAtOpen).not.toBeNull()
    const names = await mem.list(DIR)
    expect(names.filter((n) => n.endsWith('.log'))).toEqual([segments[0]])
    expect(names.filter((n) => n.endsWith('.damaged')).sort()).toEqual(segments.map((s) => `${s}.damaged`))

    await log.appendAsFollower(all) // the leader's bytes, unchanged
    expect(log.logEndOffset).toBe(5)
    expect(Buffer.from(await readAll(log)).equals(Buffer.from(all))).toBe(true)
    await log.close()
    const reopened = await openReplica(mem, { segmentBytes: 150 })
    expect({ end: reopened.logEndOffset, incomplete: reopened.incompleteAtOpen, report: reopened.recoveryReport }).toEqual({ end: 5, incomplete: null, report: null })
    await reopened.close()
  })

  it('a segment missing between two others (a gap in the offsets): cut at the gap, the segments after it set aside, the replica starts incomplete', async () => {
    const mem = new MemoryLogStorage()
    const all = await fiveCommitted(mem, { segmentBytes: 150 })
    const segments = (await mem.list(DIR)).filter((n) => n.endsWith('.log')).sort()
    expect(segments.length).toBeGreaterThan(2)
    await mem.remove(`${DIR}/${segments[1]}`)
    await mem.remove(`${DIR}/${segments[1]!.replace(/\.log$/, '.index')}`)

    const log = await openReplica(mem, { segmentBytes: 150 })
    const firstEnd = Number(segments[1]!.slice(0, 20))
    expect(log.logEndOffset).toBe(firstEnd)
    expect(log.recoveryReport).toMatchObject({ kind: 'damage', reason: expect.stringMatching(/next segment starts at/) })
    expect(log.incompleteAtOpen).toMatch(/damaged data/)
    const names = await mem.list(DIR)
    expect(names.filter((n) => n.endsWith('.log'))).toEqual([segments[0]])
    expect(names.filter((n) => n.endsWith('.damaged')).sort()).toEqual(segments.slice(2).map((s) => `${s}.damaged`))

    // It catches up from the leader's bytes past its end, and reopens clean.
    const firstBytes = await log.readForReplica(0, 1 << 20)
    await log.appendAsFollower(all.subarray(firstBytes.length))
    expect(Buffer.from(await readAll(log)).equals(Buffer.from(all))).toBe(true)
    await log.close()
    const reopened = await openReplica(mem, { segmentBytes: 150 })
    expect({ end: reopened.logEndOffset, incomplete: reopened.incompleteAtOpen, report: reopened.recoveryReport }).toEqual({ end: 5, incomplete: null, report: null })
    await reopened.close()
  })

  it('a torn tail is incomplete only when recovery ends below the high-watermark checkpoint', async () => {
    const mem = new MemoryLogStorage()
    const log = await openReplica(mem)
    for (let i = 0; i < 5; i++) await log.append(testBatch({ tag: `r${i}` }))
    log.advanceHighWatermark(4)
    await log.checkpointHighWatermark()
    await log.close()
    const path = `${DIR}/00000000000000000000.log`
    await flipInBatch(mem, path, 4) // the last batch, above the checkpoint: as a torn write, never committed here
    const above = await openReplica(mem)
    expect({ end: above.logEndOffset, kind: above.recoveryReport?.kind, incomplete: above.incompleteAtOpen }).toEqual({ end: 4, kind: 'torn-tail', incomplete: null })
    await above.close()
    await flipInBatch(mem, path, 3) // now the last batch is below the checkpoint: a committed record is gone
    const below = await openReplica(mem)
    expect(below.logEndOffset).toBe(3)
    expect(below.incompleteAtOpen).toMatch(/recovered to offset 3, below its high-watermark checkpoint 4 \(batch CRC/)
    await below.close()
  })

  it("under fsync 'never' a tail lost below the checkpoint is the mode's documented loss, not reported; damage in place still is", async () => {
    const mem = new MemoryLogStorage()
    await fiveCommitted(mem, { fsync: 'never' })
    const path = `${DIR}/00000000000000000000.log`
    const bytes = mem.peek(path)!
    const last = [...scanBatches(bytes)].at(-1)!
    mem.poke(path, bytes.subarray(0, last.at + 3)) // a power cut took the last batch but 3 bytes
    const short = await openReplica(mem, { fsync: 'never' })
    expect({ end: short.logEndOffset, kind: short.recoveryReport?.kind, incomplete: short.incompleteAtOpen }).toEqual({ end: 4, kind: 'torn-tail', incomplete: null })
    await short.close()
    await flipInBatch(mem, path, 1)
    const damaged = await openReplica(mem, { fsync: 'never' })
    expect(damaged.incompleteAtOpen).toMatch(/damaged data/)
    await damaged.close()
  })

  it('a single node (no other copy) still refuses to open on damage in place', async () => {
    const mem = new MemoryLogStorage()
    await fiveCommitted(mem)
    await flipInBatch(mem, `${DIR}/00000000000000000000.log`, 1)
    const single = PartitionLog.open({ storage: mem, dir: DIR, config: { ...defaultPartitionLogConfig, retentionMs: null }, clock: new ManualClock(), logger: silentLogger })
    await expect(single).rejects.toThrow(/corrupt log/)
  })
})
