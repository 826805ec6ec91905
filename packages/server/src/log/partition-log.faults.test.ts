import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../clock.js'
import { TooManyOpenFilesError } from './log-storage.js'
import { MemoryLogStorage } from './memory-log-storage.js'
import { FdLimitedStorage } from './testing/fd-limited-storage.js'
import { expectSamsaError, makeLogEnv, until } from './partition-log.contract.js'
import { PartitionLog } from './partition-log.js'
import { batchBasesOf, recordsOf, testBatch } from './testing/batches.js'
import { InstrumentedStorage } from './testing/instrumented-storage.js'
import { forgetRecoveryPoint } from './testing/recovery-point.js'

const segmentNames = async (s: MemoryLogStorage) => (await s.list('t-0')).filter((n) => n.endsWith('.log'))

describe('PartitionLog faults (MemoryLogStorage)', () => {
  it('keeps every acknowledged batch through a power loss', async () => {
    const mem = new MemoryLogStorage()
    const storage = new InstrumentedStorage(mem)
    const e = makeLogEnv(storage, { segmentBytes: 300 })
    const log = await e.open()
    const acked: number[] = []
    for (let i = 0; i < 12; i++) acked.push((await log.append(testBatch({ tag: `a${i}` }))).baseOffset)
    const syncsBefore = storage.syncs
    storage.holdSyncs() // the next appends are written (or wait on a roll) but are never fsynced
    const pending = [log.append(testBatch()), log.append(testBatch())]
    pending.forEach((p) => p.catch(() => {}))
    await until(() => storage.syncs > syncsBefore)
    expect(log.highWatermark).toBe(12)
    mem.simulatePowerLoss()
    const after = await makeLogEnv(mem, { segmentBytes: 300 }).open()
    expect(after.logEndOffset).toBeGreaterThanOrEqual(12)
    expect(after.highWatermark).toBe(after.logEndOffset)
    const all: string[] = []
    for (let next = 0; next < after.highWatermark; ) {
      const rs = recordsOf((await after.read(next, 1 << 20)).records)
      all.push(...rs.map((r) => r.value))
      next += rs.length
    }
    expect(all.slice(0, 12)).toEqual(acked.map((_, i) => `a${i}-0`))
  })

  it('disk full: retriable error, no partial batch, appends resume once space returns', async () => {
    const mem = new MemoryLogStorage()
    const log = await makeLogEnv(mem).open()
    await log.append(testBatch({ producerId: 5, baseSequence: 0 }))
    const size = (await mem.readFile('t-0/00000000000000000000.log'))!.length
    mem.setCapacityBytes(mem.usedBytes + 20)
    const err = await expectSamsaError(log.append(testBatch({ producerId: 5, baseSequence: 1, valueBytes: 50 })), 'KAFKA_STORAGE_ERROR')
    expect(err.retriable).toBe(true)
    expect(log.logEndOffset).toBe(1)
    expect(log.highWatermark).toBe(1)
    expect((await mem.readFile('t-0/00000000000000000000.log'))!.length).toBe(size)
    await expectSamsaError(log.append(testBatch({ producerId: 5, baseSequence: 1, valueBytes: 50 })), 'KAFKA_STORAGE_ERROR')
    mem.setCapacityBytes(null)
    const r = await log.append(testBatch({ producerId: 5, baseSequence: 1, valueBytes: 50 }))
    expect(r).toMatchObject({ baseOffset: 1, duplicate: false })
    expect(batchBasesOf((await log.read(0, 1 << 20)).records)).toEqual([0, 1])
    await log.close()
    expect((await makeLogEnv(mem).open()).recoveryReport).toBeNull()
  })

  it('a failed fsync is sticky until the log is reopened', async () => {
    const mem = new MemoryLogStorage()
    const e = makeLogEnv(mem)
    const log = await e.open()
    await log.append(testBatch())
    mem.failSyncs(new Error('EIO'))
    await expectSamsaError(log.append(testBatch()), 'KAFKA_STORAGE_ERROR')
    mem.failSyncs(null)
    await expectSamsaError(log.append(testBatch()), 'KAFKA_STORAGE_ERROR')
    expect(log.highWatermark).toBe(1)
    await log.close()
    const reopened = await e.open()
    expect((await reopened.append(testBatch())).baseOffset).toBe(reopened.logEndOffset - 1)
  })

  it('too many open files: a retriable error naming no file, never sticky, on append and on a roll', async () => {
    const mem = new MemoryLogStorage()
    const log = await makeLogEnv(mem, { segmentBytes: 200 }).open()
    await log.append(testBatch({ producerId: 9, baseSequence: 0 }))
    mem.failWrites(new TooManyOpenFilesError("EMFILE: too many open files, open '/srv/samsa/data/topics/t/0/00000000000000000000.log'"))
    const err = await expectSamsaError(log.append(testBatch({ producerId: 9, baseSequence: 1 })), 'KAFKA_STORAGE_ERROR')
    expect(err.retriable).toBe(true)
    expect(err.message).not.toMatch(/\/|\.log/)
    mem.failWrites(null)
    expect(await log.append(testBatch({ producerId: 9, baseSequence: 1 }))).toMatchObject({ baseOffset: 1, duplicate: false })
    // The next append rolls: creating the new segment file is refused, then allowed.
    const failing = new FailingOpens(mem)
    const rolling = await makeLogEnv(failing, { segmentBytes: 200 }).open()
    await rolling.append(testBatch({ producerId: 9, baseSequence: 2, valueBytes: 150 }))
    failing.refuse = true
    const rollErr = await expectSamsaError(rolling.append(testBatch({ producerId: 9, baseSequence: 3, valueBytes: 150 })), 'KAFKA_STORAGE_ERROR')
    expect(rollErr.retriable).toBe(true)
    failing.refuse = false
    expect(await rolling.append(testBatch({ producerId: 9, baseSequence: 3, valueBytes: 150 }))).toMatchObject({ baseOffset: 3, duplicate: false })
    await rolling.close()
  })

  it('an open that fails (its first fsync) closes every file it opened', async () => {
    const mem = new MemoryLogStorage()
    const first = await makeLogEnv(mem, { segmentBytes: 200 }).open()
    for (let i = 0; i < 4; i++) await first.append(testBatch({ valueBytes: 120 }))
    await first.close()
    const os = new FdLimitedStorage(mem, 100)
    mem.failSyncs(new Error('EIO'))
    await expect(makeLogEnv(os, { segmentBytes: 200 }).open()).rejects.toThrow('EIO')
    mem.failSyncs(null)
    expect(os.peak).toBeGreaterThan(1)
    expect(os.openHandles).toBe(0)
  })

  it('a failed write other than disk full is sticky', async () => {
    const mem = new MemoryLogStorage()
    const log = await makeLogEnv(mem).open()
    mem.failWrites(new Error('EIO'))
    await expectSamsaError(log.append(testBatch()), 'KAFKA_STORAGE_ERROR')
    mem.failWrites(null)
    await expectSamsaError(log.append(testBatch()), 'KAFKA_STORAGE_ERROR')
  })
})

/** Opens of new files fail with TooManyOpenFilesError while refuse is set, as the OS does at its descriptor limit. */
class FailingOpens extends InstrumentedStorage {
  refuse = false
  override async open(path: string, opts: { create: boolean }) {
    if (this.refuse) throw new TooManyOpenFilesError(`EMFILE: too many open files, open '/srv/samsa/${path}'`)
    return super.open(path, opts)
  }
}

async function filledLog(batches: number, segmentBytes = 1 << 20) {
  const mem = new MemoryLogStorage()
  const e = makeLogEnv(mem, { segmentBytes })
  const log = await e.open()
  for (let i = 0; i < batches; i++) await log.append(testBatch({ records: 1 + (i % 2), tag: `r${i}` }))
  await log.close()
  return { mem, e }
}

describe('PartitionLog recovery', () => {
  it('cuts a torn tail at any byte and keeps every batch before it (property)', async () => {
    const { mem } = await filledLog(8)
    const path = 't-0/00000000000000000000.log'
    const original = mem.peek(path)!
    const positions = [...(await import('@samsa/shared')).scanBatches(original)].map((b) => ({ at: b.at, end: b.at + b.totalBytes, base: b.header.baseOffset }))
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: original.length - 1 }), async (cut) => {
        mem.poke(path, original.subarray(0, cut))
        const log = await PartitionLog.open({ storage: mem, dir: 't-0', config: makeLogEnv(mem).config, clock: makeLogEnv(mem).clock, logger: silentLogger, leaderEpoch: 3 })
        const kept = positions.filter((p) => p.end <= cut)
        const boundary = kept.at(-1)?.end ?? 0
        expect(log.logEndOffset).toBe(kept.length === 0 ? 0 : positions[kept.length]?.base ?? 0)
        if (cut === boundary) expect(log.recoveryReport).toBeNull()
        else expect(log.recoveryReport).toMatchObject({ segment: path, position: boundary, truncatedBytes: cut - boundary })
        expect(mem.peek(path)!.length).toBe(boundary)
        if (kept.length > 0) expect(batchBasesOf((await log.read(0, 1 << 20)).records)).toEqual(kept.map((p) => p.base))
        await log.close()
      }),
      { numRuns: 50 },
    )
  })

  it('cuts a tail batch with a flipped byte and reports why', async () => {
    const { mem, e } = await filledLog(5)
    const path = 't-0/00000000000000000000.log'
    const bytes = mem.peek(path)!
    const batches = [...(await import('@samsa/shared')).scanBatches(bytes)]
    const last = batches.at(-1)!
    bytes[last.at + last.totalBytes - 2]! ^= 0x40
    mem.poke(path, bytes)
    await forgetRecoveryPoint(mem, 't-0') // a torn tail: the broker died before a recovery point covered it
    const log = await e.open()
    expect(log.recoveryReport).toMatchObject({ segment: path, position: last.at, truncatedBytes: last.totalBytes })
    expect(log.recoveryReport!.reason).toMatch(/CRC/)
    expect(log.logEndOffset).toBe(last.header.baseOffset)
    expect((await log.append(testBatch())).baseOffset).toBe(last.header.baseOffset)
  })

  it('refuses to open when a sealed segment is corrupt, naming the file and position', async () => {
    const { mem, e } = await filledLog(10, 250)
    const names = await segmentNames(mem)
    expect(names.length).toBeGreaterThan(2)
    const path = `t-0/${names[1]!}`
    const bytes = mem.peek(path)!
    bytes[bytes.length - 3]! ^= 0x01
    mem.poke(path, bytes)
    await forgetRecoveryPoint(mem, 't-0') // damage that no recovery point vouches for
    const batches = [...(await import('@samsa/shared')).scanBatches(bytes)]
    await expect(e.open()).rejects.toThrow(new RegExp(`${path}.*byte ${batches.at(-1)!.at}.*CRC`))
  })

  it('rebuilds a missing or damaged index of a sealed segment', async () => {
    const { mem, e } = await filledLog(30, 600)
    const idx = (await mem.list('t-0')).filter((n) => n.endsWith('.index'))
    expect(idx.length).toBeGreaterThan(1)
    await mem.remove(`t-0/${idx[0]!}`)
    await mem.writeFileAtomic(`t-0/${idx[1]!}`, new Uint8Array([1, 2, 3]))
    const log = await e.open()
    for (let o = 0; o < log.logEndOffset; o += 3) expect(recordsOf((await log.read(o, 1)).records).some((r) => r.offset === o)).toBe(true)
    expect((await mem.readFile(`t-0/${idx[1]!}`))!.length % 8).toBe(0)
  })
})
