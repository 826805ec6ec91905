import { describe, expect, it } from 'vitest'
import { decodeRecords, encodeRecordBatch, patchBatch, readBatchHeader, verifyBatch } from './record-batch.js'

const te = new TextEncoder()

describe('record batch', () => {
  it('round-trips records with keys, null values and headers', () => {
    const bytes = encodeRecordBatch({
      producerId: 7, producerEpoch: 1, baseSequence: 10,
      records: [
        { key: te.encode('k1'), value: te.encode('hello'), headers: [{ key: 'h', value: te.encode('v') }], timestamp: 1_700_000_000_000 },
        { key: null, value: null, headers: [], timestamp: 1_700_000_000_005 },
      ],
    })
    const h = verifyBatch(bytes)
    expect(h).toMatchObject({ recordCount: 2, lastOffsetDelta: 1, producerId: 7, producerEpoch: 1, baseSequence: 10, baseTimestamp: 1_700_000_000_000, maxTimestamp: 1_700_000_000_005 })
    patchBatch(bytes, 0, 42, 3)
    verifyBatch(bytes) // patching is outside the CRC
    const { header, records } = decodeRecords(bytes)
    expect(header.baseOffset).toBe(42)
    expect(header.partitionLeaderEpoch).toBe(3)
    expect(records.map((r) => r.offset)).toEqual([42, 43])
    expect(new TextDecoder().decode(records[0]!.value!)).toBe('hello')
    expect(records[0]!.headers[0]!.key).toBe('h')
    expect(records[1]!.key).toBeNull()
    expect(readBatchHeader(bytes).baseOffset).toBe(42)
  })
})
