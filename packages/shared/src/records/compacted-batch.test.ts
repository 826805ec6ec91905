import { describe, expect, it } from 'vitest'
import { encodeCompactedBatch } from './compacted-batch.js'
import { decodeRecords, encodeRecordBatch, patchBatch, verifyBatch } from './record-batch.js'

const enc = new TextEncoder()
const batch = () => {
  const b = encodeRecordBatch({
    producerId: 7,
    producerEpoch: 1,
    baseSequence: 40,
    records: [0, 1, 2, 3].map((i) => ({ key: enc.encode(`k${i}`), value: i === 2 ? null : enc.encode(`v${i}`), headers: [{ key: 'h', value: enc.encode(String(i)) }], timestamp: 1000 + i })),
  })
  patchBatch(b, 0, 100, 3)
  return b
}

describe('encodeCompactedBatch', () => {
  it('keeps the offset range, producer sequence and every surviving record, and recomputes the CRC', () => {
    const { header, records } = decodeRecords(batch())
    const out = encodeCompactedBatch(header, [records[1]!, records[3]!])
    const h = verifyBatch(out, 0, out.length, { compacted: true })
    expect({ ...h, crc: 0, batchLength: 0, recordCount: 0 }).toEqual({ ...header, crc: 0, batchLength: 0, recordCount: 0 })
    expect(h.recordCount).toBe(2)
    expect(decodeRecords(out).records).toEqual([records[1], records[3]])
  })

  it('may keep no record at all (the offset range and producer sequence stay)', () => {
    const { header } = decodeRecords(batch())
    const out = encodeCompactedBatch(header, [])
    expect(verifyBatch(out, 0, out.length, { compacted: true })).toMatchObject({ baseOffset: 100, lastOffsetDelta: 3, recordCount: 0, baseSequence: 40 })
  })

  it('is refused by a dense check (a produce) and accepted only under compacted', () => {
    const { header, records } = decodeRecords(batch())
    const out = encodeCompactedBatch(header, [records[0]!, records[2]!])
    expect(() => verifyBatch(out)).toThrow(/recordCount 2 and lastOffsetDelta 3 disagree/)
    expect(() => verifyBatch(out, 0, out.length, { compacted: true })).not.toThrow()
  })

  it('refuses records out of order or outside the batch', () => {
    const { header, records } = decodeRecords(batch())
    expect(() => encodeCompactedBatch(header, [records[2]!, records[1]!])).toThrow(RangeError)
    expect(() => encodeCompactedBatch(header, [{ ...records[0]!, offset: 104 }])).toThrow(RangeError)
  })
})
