import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ProtocolError } from '../errors.js'
import {
  BATCH_HEADER_BYTES,
  batchLastOffset,
  batchTotalBytes,
  decodeRecords,
  encodeRecordBatch,
  patchBatch,
  readBatchHeader,
  recordEncodedSize,
  RecordTooLargeError,
  scanBatches,
  verifyBatch,
  type BatchInput,
  type RecordInput,
} from './record-batch.js'

const te = new TextEncoder()
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'))
/** Reads a testdata/*.hex file: '#' comments and whitespace are ignored. */
const fixture = (name: string) =>
  fromHex(readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8').replace(/#.*$/gm, '').replace(/\s+/g, ''))

/** Bit-at-a-time CRC-32C, independent of the codec's slicing-by-8 tables. */
function referenceCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const b of bytes) {
    crc ^= b
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}

/** Recomputes the CRC after a deliberate edit, so the structural checks behind it are what gets tested. */
function withFixedCrc(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 21) return bytes
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(17, referenceCrc32c(bytes.subarray(21)))
  return bytes
}

const fixtureInput: BatchInput = {
  producerId: 7,
  producerEpoch: 1,
  baseSequence: 10,
  records: [
    { key: te.encode('k1'), value: te.encode('hello'), headers: [{ key: 'h', value: te.encode('v') }], timestamp: 1_700_000_000_000 },
    { key: null, value: null, headers: [], timestamp: 1_700_000_000_005 },
  ],
}

const arbBytes = fc.uint8Array({ maxLength: 40 })
const arbRecord = (baseTimestamp: number): fc.Arbitrary<RecordInput> =>
  fc.record({
    key: fc.option(arbBytes, { nil: null }),
    value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
    headers: fc.array(fc.record({ key: fc.string({ unit: 'binary', maxLength: 12 }), value: fc.option(arbBytes, { nil: null }) }), { maxLength: 4 }),
    timestamp: fc.integer({ min: 0, max: 10_000_000 }).map((d) => baseTimestamp + d),
  })
const arbBatch: fc.Arbitrary<BatchInput> = fc.integer({ min: 0, max: 2 ** 45 }).chain((t) =>
  fc.record({
    baseOffset: fc.integer({ min: 0, max: 2 ** 50 }),
    partitionLeaderEpoch: fc.integer({ min: -1, max: 0x7fffffff }),
    producerId: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
    producerEpoch: fc.integer({ min: -1, max: 0x7fff }),
    baseSequence: fc.integer({ min: -1, max: 0x7fffffff }),
    records: fc.array(arbRecord(t), { minLength: 1, maxLength: 8 }),
  }),
)

/** verifyBatch may only ever reject with these. */
function expectOnlyCodecErrors(run: () => unknown): void {
  try {
    run()
  } catch (e) {
    if (!(e instanceof ProtocolError || e instanceof RecordTooLargeError)) throw e
  }
}

describe('record batch golden fixture', () => {
  const golden = fixture('two-records.hex')

  it('the hand-written fixture carries a correct CRC-32C of bytes [21, end)', () => {
    expect(golden.length).toBe(86)
    expect(new DataView(golden.buffer).getUint32(17)).toBe(referenceCrc32c(golden.subarray(21)))
  })

  it('encodeRecordBatch produces the fixture byte for byte', () => {
    expect(hex(encodeRecordBatch(fixtureInput))).toBe(hex(golden))
  })

  it('encodeRecordBatch with a caller-supplied CRC-32C (e.g. a native one) produces the same bytes and calls it over [21, end)', () => {
    const calls: [number, number][] = []
    const out = encodeRecordBatch(fixtureInput, (bytes, start, end) => {
      calls.push([start, end])
      return referenceCrc32c(bytes.subarray(start, end))
    })
    expect(hex(out)).toBe(hex(golden))
    expect(calls).toEqual([[21, 86]])
  })

  it('verifyBatch accepts the fixture and reads its header', () => {
    expect(verifyBatch(golden)).toEqual({
      baseOffset: 0,
      batchLength: 74,
      partitionLeaderEpoch: -1,
      magic: 2,
      crc: 0x0d9b3387,
      attributes: 0,
      lastOffsetDelta: 1,
      baseTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_005,
      producerId: 7,
      producerEpoch: 1,
      baseSequence: 10,
      recordCount: 2,
    })
  })

  it('decodeRecords reads the fixture back into its records', () => {
    const { records } = decodeRecords(golden)
    expect(records).toEqual([
      { offset: 0, timestamp: 1_700_000_000_000, key: te.encode('k1'), value: te.encode('hello'), headers: [{ key: 'h', value: te.encode('v') }] },
      { offset: 1, timestamp: 1_700_000_000_005, key: null, value: null, headers: [] },
    ])
  })

  it('encodes a record exactly as kafkajs does (its v0_record.json fixture, a record body without its length)', () => {
    // From tulios/kafkajs src/protocol/recordBatch/fixtures/v0_record.json: key "key-0", value "some-value-0",
    // one header "header-key-0" = "header-value-0", timestampDelta 0, offsetDelta 0.
    const kafkajsRecord = fromHex('0000000a6b65792d3018736f6d652d76616c75652d3002186865616465722d6b65792d301c6865616465722d76616c75652d30')
    const batch = encodeRecordBatch({
      records: [{ key: te.encode('key-0'), value: te.encode('some-value-0'), headers: [{ key: 'header-key-0', value: te.encode('header-value-0') }], timestamp: 5 }],
    })
    expect(hex(batch.subarray(BATCH_HEADER_BYTES))).toBe(`${(kafkajsRecord.length * 2).toString(16)}${hex(kafkajsRecord)}`)
  })
})

describe('record batch round trips', () => {
  it('decodeRecords(encodeRecordBatch(x)) gives back every record, with offsets baseOffset + i', () => {
    fc.assert(fc.property(arbBatch, (input) => {
      const bytes = encodeRecordBatch(input)
      const header = verifyBatch(bytes)
      const { records } = decodeRecords(bytes)
      const timestamps = input.records.map((r) => r.timestamp)
      expect(header).toMatchObject({
        baseOffset: input.baseOffset,
        partitionLeaderEpoch: input.partitionLeaderEpoch,
        producerId: input.producerId,
        producerEpoch: input.producerEpoch,
        baseSequence: input.baseSequence,
        recordCount: input.records.length,
        lastOffsetDelta: input.records.length - 1,
        baseTimestamp: Math.min(...timestamps),
        maxTimestamp: Math.max(...timestamps),
      })
      expect(batchTotalBytes(header)).toBe(bytes.length)
      expect(batchLastOffset(header)).toBe(input.baseOffset! + input.records.length - 1)
      expect(records).toEqual(input.records.map((r, i) => ({ offset: input.baseOffset! + i, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers })))
    }), { numRuns: 300 })
  })

  it('recordEncodedSize sums, with the header, to the batch size', () => {
    fc.assert(fc.property(arbBatch, (input) => {
      const base = Math.min(...input.records.map((r) => r.timestamp))
      const sum = input.records.reduce((n, r, i) => n + recordEncodedSize(r, i, base), BATCH_HEADER_BYTES)
      expect(encodeRecordBatch(input).length).toBe(sum)
    }))
  })

  it('patchBatch assigns baseOffset and leader epoch, keeps the CRC valid and changes no other byte', () => {
    fc.assert(fc.property(arbBatch, fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 1000 }), fc.integer({ min: -1, max: 0x7fffffff }), (input, baseOffset, epoch) => {
      const bytes = encodeRecordBatch(input)
      const before = bytes.slice()
      patchBatch(bytes, 0, baseOffset, epoch)
      expect(verifyBatch(bytes)).toMatchObject({ baseOffset, partitionLeaderEpoch: epoch, crc: readBatchHeader(before).crc })
      expect(hex(bytes.subarray(16))).toBe(hex(before.subarray(16)))
      expect(hex(bytes.subarray(8, 12))).toBe(hex(before.subarray(8, 12)))
      expect(decodeRecords(bytes).records.map((r) => r.offset)).toEqual(input.records.map((_, i) => baseOffset + i))
    }), { numRuns: 100 })
  })

  it('patchBatch and verifyBatch work on a batch in the middle of a larger buffer', () => {
    const a = encodeRecordBatch(fixtureInput)
    const b = encodeRecordBatch({ records: [{ key: null, value: te.encode('x'), headers: [], timestamp: 1 }] })
    const log = new Uint8Array(a.length + b.length + 3)
    log.set(a, 0)
    log.set(b, a.length)
    patchBatch(log, a.length, 100, 2)
    expect(verifyBatch(log, a.length, a.length + b.length)).toMatchObject({ baseOffset: 100, partitionLeaderEpoch: 2 })
    expect(decodeRecords(log, a.length).records[0]!.offset).toBe(100)
    expect(verifyBatch(log, 0, a.length).baseOffset).toBe(0)
  })

  it('refuses to encode an empty batch or out-of-range header fields', () => {
    const r = fixtureInput.records
    expect(() => encodeRecordBatch({ records: [] })).toThrow(RangeError)
    expect(() => encodeRecordBatch({ records: r, producerEpoch: 0x8000 })).toThrow(RangeError)
    expect(() => encodeRecordBatch({ records: r, baseSequence: 2 ** 31 })).toThrow(RangeError)
    expect(() => encodeRecordBatch({ records: r, partitionLeaderEpoch: 1.5 })).toThrow(RangeError)
    expect(() => encodeRecordBatch({ records: r, baseOffset: 2 ** 53 })).toThrow(RangeError)
    expect(() => encodeRecordBatch({ records: [{ ...r[0]!, timestamp: Number.NaN }] })).toThrow(RangeError)
    expect(() => patchBatch(encodeRecordBatch(fixtureInput), 0, 1, 2 ** 31)).toThrow(RangeError)
  })
})

describe('verifyBatch rejects damaged batches', () => {
  const golden = () => fixture('two-records.hex')

  it('rejects every single-byte flip inside the CRC-covered region [17, end)', () => {
    const bytes = golden()
    for (let i = 17; i < bytes.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const copy = bytes.slice()
        copy[i]! ^= mask
        expect(() => verifyBatch(copy), `byte ${i} ^ ${mask}`).toThrow(ProtocolError)
      }
    }
  })

  it('rejects a wrong magic byte, even with a matching CRC', () => {
    for (const magic of [0, 1, 3, 0xff]) {
      const copy = golden()
      copy[16] = magic
      expect(() => verifyBatch(withFixedCrc(copy))).toThrow(/magic/)
    }
  })

  it('rejects every truncation, and every batchLength that does not match the bytes', () => {
    const bytes = golden()
    for (let n = 0; n < bytes.length; n++) expect(() => verifyBatch(bytes.subarray(0, n)), `${n} bytes`).toThrow(ProtocolError)
    for (let n = 0; n < bytes.length; n++) expect(() => verifyBatch(bytes, 0, n), `end ${n}`).toThrow(ProtocolError)
    for (let len = -1; len < 100; len++) {
      if (len === 74) continue
      const copy = new Uint8Array(200)
      copy.set(bytes)
      new DataView(copy.buffer).setInt32(8, len)
      expect(() => verifyBatch(copy), `batchLength ${len}`).toThrow(ProtocolError)
    }
  })

  it('rejects a batchLength claiming 2 GiB at once, reading nothing past the header', () => {
    for (const len of [0x7fffffff, -0x80000000, -1]) {
      const copy = golden()
      new DataView(copy.buffer).setInt32(8, len)
      // Rejected by the length check on the header alone: the CRC (which would read the claimed length) is never computed.
      let crcCalls = 0
      const crc32c = () => (crcCalls++, 0)
      expect(() => verifyBatch(copy, 0, copy.length, { crc32c })).toThrow(ProtocolError)
      expect(() => verifyBatch(copy, 0, copy.length, { crc32c })).toThrow(len > 0 ? /runs past the \d+ bytes available/ : /is below the header size/)
      expect(crcCalls).toBe(0)
    }
  })

  it('rejects the compression bits, with or without a matching CRC', () => {
    for (const codec of [1, 2, 3, 4, 7]) {
      const copy = golden()
      copy[22] = codec
      expect(() => verifyBatch(copy)).toThrow(/CRC/)
      expect(() => verifyBatch(withFixedCrc(copy))).toThrow(/compression/)
    }
  })

  it('rejects a recordCount or lastOffsetDelta that disagrees with the records', () => {
    const cases: [lastOffsetDelta: number, recordCount: number][] = [[1, 1], [1, 3], [0, 2], [2, 2], [0, 0], [-1, 0], [0x7ffffffe, 0x7fffffff], [1, -1]]
    for (const [lastOffsetDelta, recordCount] of cases) {
      const copy = golden()
      const view = new DataView(copy.buffer)
      view.setInt32(23, lastOffsetDelta)
      view.setInt32(57, recordCount)
      expect(() => verifyBatch(withFixedCrc(copy)), `${lastOffsetDelta}/${recordCount}`).toThrow(ProtocolError)
    }
  })

  it.each([
    ['a record length of 0', 61, 0x00],
    ['a negative record length', 61, 0x01],
    ['a record length past the batch', 61, 0x7e],
    ['a record length one short', 61, 0x20],
    ['a record length one long', 61, 0x24],
    ['a key length past the record', 65, 0x7e],
    ['a key length of −2', 65, 0x03],
    ['a value length past the record', 68, 0x20],
    ['a header count past the record', 74, 0x7e],
    ['a negative header count', 74, 0x01],
    ['a null header key', 75, 0x01],
    ['a header key that is not UTF-8', 76, 0xff],
    ['a header value length past the record', 77, 0x08],
    ['an offsetDelta out of sequence', 82, 0x04],
    ['a second record length past the batch', 79, 0x0e],
    ['an unterminated varint', 85, 0x80],
  ])('rejects %s, even with a matching CRC', (_what, at, byte) => {
    const copy = golden()
    copy[at] = byte
    expect(() => verifyBatch(withFixedCrc(copy))).toThrow(ProtocolError)
  })

  it('rejects bytes after the last record, even with a matching CRC', () => {
    const bytes = golden()
    const longer = new Uint8Array(bytes.length + 1)
    longer.set(bytes)
    new DataView(longer.buffer).setInt32(8, 75)
    expect(() => verifyBatch(withFixedCrc(longer))).toThrow(/after its last record/)
  })

  it('rejects a record timestamp that would pass 2^53 − 1', () => {
    const copy = golden()
    const view = new DataView(copy.buffer)
    view.setUint32(27, 0x001fffff)
    view.setUint32(31, 0xfffffffe)
    expect(() => verifyBatch(withFixedCrc(copy))).toThrow(/timestamp/)
    expect(() => decodeRecords(copy)).toThrow(/timestamp/)
  })

  it('throws RecordTooLargeError for a record over maxRecordBytes, counting its length varint', () => {
    const bytes = golden()
    expect(verifyBatch(bytes, 0, bytes.length, { maxRecordBytes: 18 }).recordCount).toBe(2)
    expect(() => verifyBatch(bytes, 0, bytes.length, { maxRecordBytes: 17 })).toThrow(RecordTooLargeError)
  })
})

describe('verifyBatch on hostile input', () => {
  it('throws only ProtocolError on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => expectOnlyCodecErrors(() => verifyBatch(bytes))), { numRuns: 2000 })
  })

  it('throws only ProtocolError or RecordTooLargeError on random headers over real records', () => {
    fc.assert(fc.property(arbBatch, fc.uint8Array({ minLength: 61, maxLength: 61 }), fc.boolean(), (input, header, fixCrc) => {
      const bytes = encodeRecordBatch(input)
      bytes.set(header)
      if (fixCrc) withFixedCrc(bytes)
      expectOnlyCodecErrors(() => verifyBatch(bytes, 0, bytes.length, { maxRecordBytes: 100 }))
    }), { numRuns: 1000 })
  })

  it('throws only codec errors on mutated valid batches, and whatever it accepts decodes', () => {
    const mutation = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) })
    fc.assert(fc.property(arbBatch, fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.nat(), (input, mutations, cut) => {
      const encoded = encodeRecordBatch(input)
      for (const m of mutations) encoded[m.at % encoded.length] = m.byte
      const bytes = withFixedCrc(encoded.subarray(0, encoded.length - (cut % 3 === 0 ? cut % encoded.length : 0)).slice())
      let accepted = false
      expectOnlyCodecErrors(() => {
        verifyBatch(bytes)
        accepted = true
      })
      if (accepted) expect(decodeRecords(bytes).records.length).toBe(readBatchHeader(bytes).recordCount)
    }), { numRuns: 2000 })
  })

  it('decodeRecords throws only ProtocolError on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        decodeRecords(bytes)
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError)
      }
    }), { numRuns: 1000 })
  })
})

describe('scanBatches', () => {
  const a = encodeRecordBatch(fixtureInput)
  const b = encodeRecordBatch({ records: [{ key: null, value: te.encode('x'), headers: [], timestamp: 1 }] })

  it('walks consecutive batches and stops at a torn tail', () => {
    const log = new Uint8Array(a.length + b.length + 70)
    log.set(a)
    log.set(b, a.length)
    log.set(a.subarray(0, 70), a.length + b.length)
    expect([...scanBatches(log)].map((x) => [x.at, x.totalBytes])).toEqual([[0, a.length], [a.length, b.length]])
  })

  it('stops at a batchLength below the header size instead of looping', () => {
    const log = new Uint8Array(200)
    expect([...scanBatches(log)]).toEqual([])
  })
})
