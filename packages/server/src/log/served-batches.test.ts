import { crc32c, encodeRecordBatch, patchBatch } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { damageInRead, ServedReads } from './served-batches.js'

const te = new TextEncoder()

/** Three placed batches at offsets 0..1, 2..4, 5 with leader epochs 0, 0, 1; the bytes as a read returns them. */
function threeBatches(): { bytes: Uint8Array; starts: number[] } {
  const sizes = [2, 3, 1]
  const epochs = [0, 0, 1]
  let offset = 0
  const parts = sizes.map((n, i) => {
    const b = encodeRecordBatch({ records: Array.from({ length: n }, (_, j) => ({ key: null, value: te.encode(`v${i}-${j}`), headers: [], timestamp: 1_700_000_000_000 })) })
    patchBatch(b, 0, offset, epochs[i]!)
    offset += n
    return b
  })
  const starts = parts.map((_, i) => parts.slice(0, i).reduce((n, p) => n + p.length, 0))
  return { bytes: new Uint8Array(Buffer.concat(parts)), starts }
}

const check = { crc32c, epochAt: (o: number) => (o < 5 ? 0 : 1) }

describe('damageInRead: the batches a replica is about to serve', () => {
  it('passes intact batches read from any offset a batch holds', () => {
    const { bytes, starts } = threeBatches()
    expect(damageInRead(bytes, 0, check)).toBeNull()
    expect(damageInRead(bytes, 1, check)).toBeNull()
    expect(damageInRead(bytes.subarray(starts[1]), 3, check)).toBeNull()
  })

  it('names the batch that fails its CRC, a wrong offset, a wrong leader epoch, bad framing, or an empty read', () => {
    const { bytes, starts } = threeBatches()
    const flipped = bytes.slice()
    flipped[starts[2]! - 1]! ^= 0x01 // the last byte of batch #1 (offsets 2..4), inside its CRC
    expect(damageInRead(flipped, 0, check)).toEqual({ offset: 2, reason: expect.stringMatching(/offset 2 fails its CRC/) })

    const shifted = bytes.slice()
    patchBatch(shifted, starts[1]!, 3, 0) // baseOffset lies outside the CRC
    expect(damageInRead(shifted, 0, check)).toMatchObject({ offset: 2, reason: expect.stringMatching(/carries offsets 3\.\.5/) })
    expect(damageInRead(bytes.subarray(starts[1]), 6, check)).toMatchObject({ offset: 6 }) // the first batch does not hold the offset asked for

    const epoch = bytes.slice()
    patchBatch(epoch, starts[2]!, 5, 7)
    expect(damageInRead(epoch, 0, check)).toMatchObject({ offset: 5, reason: expect.stringMatching(/leader epoch 7; the leader-epoch cache says 1/) })
    expect(damageInRead(epoch, 0, { crc32c, epochAt: () => undefined })).toBeNull() // no recorded epoch: not checked

    const magic = bytes.slice()
    magic[starts[1]! + 16] = 1
    expect(damageInRead(magic, 0, check)).toMatchObject({ offset: 2, reason: expect.stringMatching(/magic is 1/) })
    expect(damageInRead(bytes.subarray(0, starts[1]! + 30), 0, check)).toMatchObject({ offset: 2, reason: expect.stringMatching(/less than a batch header/) })
    expect(damageInRead(new Uint8Array(0), 4, check)).toMatchObject({ offset: 4, reason: expect.stringMatching(/no whole batch/) })
  })
})

describe('ServedReads', () => {
  it('serves what passes; confirms a failing batch by reading it again, then refuses every read and tells its listeners once', async () => {
    const { bytes, starts } = threeBatches()
    const damaged = bytes.slice()
    damaged[starts[2]! - 1]! ^= 0x01
    const rereads: number[] = []
    const served = new ServedReads(check, async (offset) => {
      rereads.push(offset)
      return damaged.subarray(starts[1], starts[2])
    })
    const told: unknown[] = []
    served.onDamage((d) => told.push(d))
    expect(await served.checked(async () => bytes, 0)).toBe(bytes)
    await expect(served.checked(async () => damaged, 0)).rejects.toMatchObject({ errorName: 'NOT_LEADER_OR_FOLLOWER', retriable: true, details: { damagedOffset: 2 } })
    expect(rereads).toEqual([2])
    const closed = async (): Promise<Uint8Array> => Promise.reject(new Error('the log is closed for its repair'))
    await expect(served.checked(closed, 0)).rejects.toMatchObject({ errorName: 'NOT_LEADER_OR_FOLLOWER' }) // sticky: nothing is read or served any more
    expect(() => served.assertIntact()).toThrow(/damaged at offset 2/)
    expect(told).toEqual([{ offset: 2, reason: expect.stringMatching(/CRC/) }])
    const late: unknown[] = []
    served.onDamage((d) => late.push(d))
    await Promise.resolve()
    expect(late).toHaveLength(1) // a listener registered after the damage is told at once
  })

  it('does not take a read that the log, read again, contradicts (or no longer holds) for damage: CORRUPT_MESSAGE, retried', async () => {
    const { bytes, starts } = threeBatches()
    const damaged = bytes.slice()
    damaged[starts[2]! - 1]! ^= 0x01
    let again: Uint8Array | null = bytes.subarray(starts[1], starts[2])
    const served = new ServedReads(check, async () => again)
    await expect(served.checked(async () => damaged, 0)).rejects.toMatchObject({ errorName: 'CORRUPT_MESSAGE', retriable: true })
    again = null
    await expect(served.checked(async () => damaged, 0)).rejects.toMatchObject({ errorName: 'CORRUPT_MESSAGE' })
    expect(served.damage).toBeNull()
    expect(await served.checked(async () => bytes, 0)).toBe(bytes)
  })
})
