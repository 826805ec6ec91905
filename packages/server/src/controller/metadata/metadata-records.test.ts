import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ByteWriter, ProtocolError } from '@samsa/shared'
import { decodeMetadataBatch, encodeMetadataBatch, type MetadataRecord, type TopicConfig } from './metadata-records.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const fixture = (path: string) =>
  Uint8Array.from(Buffer.from(readFileSync(new URL(path, import.meta.url), 'utf8').replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex'))

const GOLDEN: MetadataRecord[] = [
  { type: 'registerBroker', brokerId: 1, brokerEpoch: 5, advertisedUrl: 'ws://a:1', rack: 'r1' },
  { type: 'fenceBroker', brokerId: 1, brokerEpoch: 5 },
  { type: 'unfenceBroker', brokerId: 1, brokerEpoch: 5 },
  { type: 'unregisterBroker', brokerId: 2, brokerEpoch: 3 },
  { type: 'createTopic', name: 't', topicId: null, partitions: 2, replicationFactor: 3, config: { minInsyncReplicas: 2, retentionMs: 3_600_000, retentionBytes: null, segmentBytes: 1_048_576 } },
  { type: 'deleteTopic', name: 'x' },
  { type: 'partitionChange', topic: 't', partition: 1, leader: 2, leaderEpoch: 4, replicas: [2, 3, 1], isr: [2, 3], partitionEpoch: 7 },
  { type: 'producerIdsBlock', brokerId: 1, brokerEpoch: 5, firstProducerId: 1000, size: 1000 },
]

const i32 = fc.integer({ min: -0x80000000, max: 0x7fffffff })
const i64 = fc.maxSafeInteger().filter((n) => n >= -Number.MAX_SAFE_INTEGER)
const str = fc.string({ unit: 'binary', maxLength: 40 })
const nullableStr = fc.option(str, { nil: null })
const optI64 = fc.option(i64, { nil: null })
const config: fc.Arbitrary<TopicConfig> = fc.record({ minInsyncReplicas: fc.integer({ min: -0x8000, max: 0x7fff }), retentionMs: optI64, retentionBytes: optI64, segmentBytes: optI64 })
const ids = fc.array(i32, { maxLength: 8 })

const metadataRecord: fc.Arbitrary<MetadataRecord> = fc.oneof(
  fc.record({ type: fc.constant('registerBroker' as const), brokerId: i32, brokerEpoch: i64, advertisedUrl: str, rack: nullableStr }),
  fc.record({ type: fc.constantFrom('fenceBroker' as const, 'unfenceBroker' as const, 'unregisterBroker' as const), brokerId: i32, brokerEpoch: i64 }),
  fc.record({ type: fc.constant('createTopic' as const), name: str, topicId: nullableStr, partitions: i32, replicationFactor: fc.integer({ min: -0x8000, max: 0x7fff }), config }),
  fc.record({ type: fc.constant('deleteTopic' as const), name: str }),
  fc.record({ type: fc.constant('partitionChange' as const), topic: str, partition: i32, leader: i32, leaderEpoch: i32, replicas: ids, isr: ids, partitionEpoch: i32 }),
  fc.record({ type: fc.constant('producerIdsBlock' as const), brokerId: i32, brokerEpoch: i64, firstProducerId: i64, size: i32 }),
  fc.record({ type: fc.constant('topicCleanup' as const), name: str, cleanupPolicy: fc.constantFrom('delete' as const, 'compact' as const, 'compact,delete' as const), deleteRetentionMs: i64 }),
)

/** Decoding must either succeed or throw ProtocolError; anything else (RangeError, TypeError, out of memory) fails. */
function decodeOrProtocolError(bytes: Uint8Array): void {
  try {
    decodeMetadataBatch(bytes)
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e
  }
}

describe('metadata records', () => {
  it('encode one record of each type to the hand-assembled fixture, and decode it back', () => {
    const golden = fixture('./testdata/metadata-batch.hex')
    expect(hex(encodeMetadataBatch(GOLDEN))).toBe(hex(golden))
    expect(decodeMetadataBatch(golden)).toEqual(GOLDEN)
  })

  it('round-trip any batch of records: decode(encode(x)) = x', () => {
    fc.assert(
      fc.property(fc.array(metadataRecord, { maxLength: 12 }), (records) => {
        expect(decodeMetadataBatch(encodeMetadataBatch(records))).toEqual(records)
      }),
      { numRuns: 500 },
    )
  })

  it('reject every truncation of the fixture, trailing bytes, an unknown version and an unknown record type with ProtocolError', () => {
    const golden = fixture('./testdata/metadata-batch.hex')
    for (let n = 0; n < golden.length; n++) expect(() => decodeMetadataBatch(golden.subarray(0, n)), `prefix of ${n} bytes`).toThrow(ProtocolError)
    expect(() => decodeMetadataBatch(Uint8Array.from([...golden, 0]))).toThrow(/trailing/)
    expect(() => decodeMetadataBatch(Uint8Array.from([1, ...golden.subarray(1)]))).toThrow(/version 1/)
    expect(() => decodeMetadataBatch(Uint8Array.from([0, 0, 0, 0, 1, 10, 0, 0]))).toThrow(/unknown metadata record type 10/)
    expect(() => decodeMetadataBatch(Uint8Array.from([0, 0, 0, 0, 1, 0, 0, 0]))).toThrow(/unknown metadata record type 0/)
  })

  it('a topicCleanup record: its layout (name, policy code, delete.retention.ms), and an unknown policy code refused', () => {
    const rec: MetadataRecord = { type: 'topicCleanup', name: 't', cleanupPolicy: 'compact,delete', deleteRetentionMs: 86_400_000 }
    expect(hex(encodeMetadataBatch([rec]))).toBe('00' + '00000001' + '09' + '000174' + '02' + '0000000005265c00')
    expect(decodeMetadataBatch(encodeMetadataBatch([rec]))).toEqual([rec])
    const bad = encodeMetadataBatch([rec])
    bad[9] = 3
    expect(() => decodeMetadataBatch(bad)).toThrow(/unknown cleanup policy code 3/)
  })

  it('refuse a record count or a replica count larger than the bytes can hold before allocating anything', () => {
    expect(() => decodeMetadataBatch(Uint8Array.from([0, 0xff, 0xff, 0xff, 0xff, 6, 0, 0]))).toThrow(/cannot fit/)
    const w = new ByteWriter()
    w.u8(0).u32(1).u8(7).string('t').i32(0).i32(1).i32(0).u32(0xffffffff)
    expect(() => decodeMetadataBatch(w.finish())).toThrow(ProtocolError)
    expect(() => decodeMetadataBatch(w.finish())).toThrow(/cannot fit/)
  })

  it('reject a presence byte other than 0 or 1', () => {
    const golden = fixture('./testdata/metadata-batch.hex')
    const at = hex(golden).indexOf('01000000000036ee80') / 2
    const bad = golden.slice()
    bad[at] = 2
    expect(() => decodeMetadataBatch(bad)).toThrow(/presence byte is 2/)
  })

  it('decode random bytes and mutated batches to records or ProtocolError, never another error', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => decodeOrProtocolError(bytes)), { numRuns: 2000 })
    fc.assert(
      fc.property(fc.array(metadataRecord, { minLength: 1, maxLength: 4 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (records, flips) => {
        const bytes = encodeMetadataBatch(records)
        for (const [at, value] of flips) bytes[at % bytes.length] = value
        decodeOrProtocolError(bytes)
      }),
      { numRuns: 1000 },
    )
  })

  it('cannot encode a value its field cannot hold (a caller bug, never a different number on disk)', () => {
    expect(() => encodeMetadataBatch([{ type: 'fenceBroker', brokerId: 2 ** 31, brokerEpoch: 1 }])).toThrow(RangeError)
    expect(() => encodeMetadataBatch([{ type: 'deleteTopic', name: 'x'.repeat(70_000) }])).toThrow(RangeError)
  })
})
