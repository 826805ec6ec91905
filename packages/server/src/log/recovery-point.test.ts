import { describe, expect, it } from 'vitest'
import { scanBatches } from '@samsa/shared'
import { MemoryLogStorage } from './memory-log-storage.js'
import { makeLogEnv } from './partition-log.contract.js'
import type { PartitionLog } from './partition-log.js'
import { decodeRecoveryPoint, encodeRecoveryPoint, RECOVERY_POINT_FILE, type RecoveryPoint } from './recovery-point.js'
import { recordsOf, testBatch } from './testing/batches.js'

const DIR = 't-0'
const SEGMENT = `${DIR}/00000000000000000000.log`

/** Batch `seq` of producer `id` (one record, sequence = seq), its value naming both. */
const batchOf = (id: number, seq: number) => testBatch({ producerId: id, baseSequence: seq, tag: `p${id}-s${seq}` })

/** Every record value from the log start to the high watermark (reads stop at segment ends). */
async function valuesOf(log: PartitionLog): Promise<string[]> {
  const out: string[] = []
  for (let at = log.logStartOffset; at < log.highWatermark; ) {
    const records = recordsOf((await log.read(at, 1 << 20)).records)
    out.push(...records.map((r) => r.value))
    at = records.at(-1)!.offset + 1
  }
  return out
}

async function storedPoint(mem: MemoryLogStorage): Promise<RecoveryPoint | null> {
  const bytes = await mem.readFile(`${DIR}/${RECOVERY_POINT_FILE}`)
  return bytes === null ? null : decodeRecoveryPoint(bytes)
}

describe('the recovery-point file', () => {
  it('reads back what was written, and a flipped byte or a short file reads as none', () => {
    const point: RecoveryPoint = {
      offset: 12,
      segments: [
        { baseOffset: 0, bytes: 700, nextOffset: 10, maxTimestamp: 1_700_000_000_000, indexCrc: 123 },
        { baseOffset: 10, bytes: 140, nextOffset: 12, maxTimestamp: null, indexCrc: null },
      ],
      producers: [[7, { epoch: 2, lastAppendMs: 99, batches: [{ firstSeq: 0, lastSeq: 3, baseOffset: 4, lastOffset: 7, crc: 0xdeadbeef }] }]],
    }
    const bytes = encodeRecoveryPoint(point)
    expect(decodeRecoveryPoint(bytes)).toEqual(point)
    const flipped = bytes.slice()
    flipped[10]! ^= 1
    expect(decodeRecoveryPoint(flipped)).toBeNull()
    expect(decodeRecoveryPoint(bytes.subarray(0, bytes.length - 1))).toBeNull()
  })
})

describe('PartitionLog restart from its recovery point', () => {
  it('after a clean close nothing is verified again, and a resend is answered DUPLICATE with its original offset', async () => {
    const mem = new MemoryLogStorage()
    const e = makeLogEnv(mem, { segmentBytes: 300 })
    const log = await e.open()
    for (let s = 0; s < 6; s++) await log.append(batchOf(7, s))
    await log.close()
    expect((await storedPoint(mem))?.offset).toBe(6)

    const reopened = await e.open()
    expect({ resumedFrom: reopened.recovered.resumedFrom, verified: reopened.recovered.verifiedBytes, end: reopened.logEndOffset }).toEqual({ resumedFrom: 6, verified: 0, end: 6 })
    expect(await valuesOf(reopened)).toEqual([0, 1, 2, 3, 4, 5].map((s) => `p7-s${s}-0`))
    expect(await reopened.append(batchOf(7, 4))).toMatchObject({ duplicate: true, baseOffset: 4 })
    expect(await reopened.append(batchOf(7, 6))).toMatchObject({ duplicate: false, baseOffset: 6 })
    await reopened.close()
  })

  it('after a crash it loads the producer state of the recovery point, verifies only the tail and replays it: resends from before and after the point are duplicates', async () => {
    const mem = new MemoryLogStorage()
    const e = makeLogEnv(mem, { segmentBytes: 300 })
    const log = await e.open()
    for (let s = 0; s < 4; s++) await log.append(batchOf(7, s))
    await log.checkpointRecoveryPoint()
    const tail = [batchOf(7, 4), batchOf(8, 0), batchOf(8, 1)]
    for (const b of tail) await log.append(b)
    const tailBytes = tail.reduce((n, b) => n + b.length, 0)
    mem.simulatePowerLoss() // kill -9: no close, no recovery point after the tail (fsync 'always': the tail is durable)

    const reopened = await e.open()
    expect({ resumedFrom: reopened.recovered.resumedFrom, verified: reopened.recovered.verifiedBytes, end: reopened.logEndOffset }).toEqual({ resumedFrom: 4, verified: tailBytes, end: 7 })
    expect(await reopened.append(batchOf(7, 1))).toMatchObject({ duplicate: true, baseOffset: 1 }) // from the snapshot
    expect(await reopened.append(batchOf(7, 4))).toMatchObject({ duplicate: true, baseOffset: 4 }) // replayed from the tail
    expect(await reopened.append(batchOf(8, 1))).toMatchObject({ duplicate: true, baseOffset: 6 })
    await expect(reopened.append(batchOf(7, 9))).rejects.toMatchObject({ errorName: 'OUT_OF_ORDER_SEQUENCE_NUMBER', details: { expectedSequence: 5 } })
    expect(reopened.producerIdCount).toBe(2)
    await reopened.close()
  })

  it('a torn tail after the recovery point is cut as without one', async () => {
    const mem = new MemoryLogStorage()
    const e = makeLogEnv(mem)
    const log = await e.open()
    for (let s = 0; s < 3; s++) await log.append(batchOf(7, s))
    await log.checkpointRecoveryPoint()
    await log.append(batchOf(7, 3))
    await log.append(batchOf(7, 4))
    mem.simulatePowerLoss()
    const bytes = mem.peek(SEGMENT)!
    const last = [...scanBatches(bytes)].at(-1)!
    mem.poke(SEGMENT, bytes.subarray(0, last.at + 20)) // the last batch torn

    const reopened = await e.open()
    expect(reopened.recovered.resumedFrom).toBe(3)
    expect(reopened.recoveryReport).toMatchObject({ kind: 'torn-tail', position: last.at })
    expect(reopened.logEndOffset).toBe(4)
    expect(await reopened.append(batchOf(7, 4))).toMatchObject({ duplicate: false, baseOffset: 4 })
    await reopened.close()
  })

  it('a recovery point that does not match the segments, or does not decode, is ignored: everything is verified', async () => {
    const mem = new MemoryLogStorage()
    const e = makeLogEnv(mem)
    const log = await e.open()
    for (let s = 0; s < 3; s++) await log.append(batchOf(7, s))
    await log.close()
    const bytes = mem.peek(SEGMENT)!
    const first = [...scanBatches(bytes)][1]!
    mem.poke(SEGMENT, bytes.subarray(0, first.at)) // shorter than the recovery point says

    const short = await e.open()
    expect({ resumedFrom: short.recovered.resumedFrom, end: short.logEndOffset, verified: short.recovered.verifiedBytes }).toEqual({ resumedFrom: null, end: 1, verified: first.at })
    expect(await short.append(batchOf(7, 0))).toMatchObject({ duplicate: true, baseOffset: 0 }) // state rebuilt from the log
    await short.close()

    await mem.writeFileAtomic(`${DIR}/${RECOVERY_POINT_FILE}`, new Uint8Array([1, 2, 3, 4, 5]))
    const invalid = await e.open()
    expect(invalid.recovered.resumedFrom).toBeNull()
    expect(invalid.logEndOffset).toBe(1)
    await invalid.close()
  })

  it('a truncation removes the recovery point before it cuts, so bytes written again at the same offsets are verified after a crash', async () => {
    const mem = new MemoryLogStorage()
    const e = makeLogEnv(mem)
    const log = await e.open()
    for (let s = 0; s < 5; s++) await log.append(batchOf(7, s))
    await log.checkpointRecoveryPoint()
    await log.truncateTo(2)
    expect((await storedPoint(mem))?.offset).toBe(2) // written again at the new end
    await log.append(testBatch({ tag: 'new' }))
    mem.simulatePowerLoss()

    const reopened = await e.open()
    expect(reopened.recovered.resumedFrom).toBe(2)
    expect(await valuesOf(reopened)).toEqual(['p7-s0-0', 'p7-s1-0', 'new-0'])
    expect(await reopened.append(batchOf(7, 2))).toMatchObject({ duplicate: false, baseOffset: 3 }) // sequence 2 was cut
    await reopened.close()
  })

  it('segments retention deleted are left out; the rest resumes', async () => {
    const mem = new MemoryLogStorage()
    const e = makeLogEnv(mem, { segmentBytes: 200, retentionBytes: 300 })
    const log = await e.open()
    for (let s = 0; s < 10; s++) await log.append(batchOf(7, s))
    await log.checkpointRecoveryPoint()
    expect(await log.applyRetention()).toBeGreaterThan(0)
    const start = log.logStartOffset
    await log.close()

    const reopened = await e.open()
    expect({ resumedFrom: reopened.recovered.resumedFrom, start: reopened.logStartOffset, end: reopened.logEndOffset }).toEqual({ resumedFrom: 10, start, end: 10 })
    expect(await reopened.append(batchOf(7, 9))).toMatchObject({ duplicate: true, baseOffset: 9 })
    await reopened.close()
  })

  it('the recovery point is written every recoveryPointIntervalMs while the log grows', async () => {
    const mem = new MemoryLogStorage()
    const e = makeLogEnv(mem, { recoveryPointIntervalMs: 1_000 })
    const log = await e.open()
    await log.append(batchOf(7, 0))
    expect(await storedPoint(mem)).toBeNull()
    e.clock.advance(1_000)
    await until(async () => (await storedPoint(mem))?.offset === 1)
    await log.append(batchOf(7, 1))
    e.clock.advance(1_000)
    await until(async () => (await storedPoint(mem))?.offset === 2)
    await log.close()
  })
})

/** Polls `ok` until it holds (bounded): the timer's write runs on the log's queue after the clock fired it. */
async function until(ok: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (await ok()) return
    await new Promise((r) => setImmediate(r))
  }
  throw new Error('condition not reached')
}
