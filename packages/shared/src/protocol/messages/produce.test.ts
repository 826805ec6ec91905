import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ByteReader } from '../../bytes/byte-reader.js'
import { decodeRecords, encodeRecordBatch, type BatchInput } from '../../records/record-batch.js'
import { encodeRequestFrame, FRAME_HEADER_BYTES, readFrameHeader } from '../frame.js'
import { encodeBatchInFrame, produce, produceFrameHeadBytes, type ProduceRequest } from './produce.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const input = (n: number): BatchInput => ({
  producerId: 7,
  producerEpoch: 1,
  baseSequence: 40,
  records: Array.from({ length: n }, (_, i) => ({ key: null, value: new Uint8Array(100 + i).fill(i), headers: [{ key: 'h', value: null }], timestamp: 1_700_000_000_000 + i })),
})
const request = (topic: string, batch: Uint8Array, frame?: Uint8Array): ProduceRequest => ({ topic, partition: 3, acks: -1, timeoutMs: 30_000, batch, ...(frame && { frame }) })

describe('produce frames with the batch encoded in place', () => {
  it('encodes the same batch bytes as encodeRecordBatch, after exactly a head’s room', () => {
    const { frame, batch } = encodeBatchInFrame('tópico', input(3))
    expect(hex(batch)).toBe(hex(encodeRecordBatch(input(3))))
    expect(batch.buffer).toBe(frame.buffer)
    expect(frame.length - batch.length).toBe(produceFrameHeadBytes('tópico'))
  })

  it('sends the frame itself, byte-identical to a frame encoded by copying the batch', () => {
    fc.assert(fc.property(fc.string({ maxLength: 40 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 0xffff_ffff }), (topic, n, correlationId) => {
      const { frame, batch } = encodeBatchInFrame(topic, input(n))
      const copied = encodeRequestFrame(produce, 1, correlationId, request(topic, batch))
      const inPlace = encodeRequestFrame(produce, 1, correlationId, request(topic, batch, frame))
      expect(inPlace).toBe(frame) // no new buffer: the batch is not copied
      expect(hex(inPlace)).toBe(hex(copied))
    }))
  })

  it('a resend writes only the head (the new correlation id); the batch bytes, and views of them, stay as they were', () => {
    const { frame, batch } = encodeBatchInFrame('t', input(2))
    const before = hex(batch)
    encodeRequestFrame(produce, 1, 5, request('t', batch, frame))
    const resent = encodeRequestFrame(produce, 1, 6, request('t', batch, frame))
    expect(readFrameHeader(resent).correlationId).toBe(6)
    expect(hex(batch)).toBe(before)
    const decoded = produce.decodeRequest(new ByteReader(resent, FRAME_HEADER_BYTES))
    expect(decoded).toMatchObject({ topic: 't', partition: 3, acks: -1, timeoutMs: 30_000 })
    expect(decodeRecords(decoded.batch).records.map((r) => r.value?.length)).toEqual([100, 101])
  })

  it('falls back to copying when the frame does not hold the batch after a head’s room for this topic', () => {
    const { frame, batch } = encodeBatchInFrame('short', input(1))
    const other = encodeRecordBatch(input(1))
    for (const q of [request('a-longer-topic', batch, frame), request('short', other, frame), request('short', batch.slice(), frame)]) {
      const out = encodeRequestFrame(produce, 1, 9, q)
      expect(out).not.toBe(frame)
      expect(hex(out)).toBe(hex(encodeRequestFrame(produce, 1, 9, request(q.topic, q.batch))))
    }
    expect(hex(frame.subarray(0, produceFrameHeadBytes('short')))).toBe('00'.repeat(produceFrameHeadBytes('short'))) // untouched
  })

  it('rejects a field out of range as the copying encoder does, before writing into the frame', () => {
    const { frame, batch } = encodeBatchInFrame('t', input(1))
    expect(() => encodeRequestFrame(produce, 1, 1, { ...request('t', batch, frame), partition: 2 ** 31 })).toThrow(RangeError)
    expect(hex(frame.subarray(0, produceFrameHeadBytes('t')))).toBe('00'.repeat(produceFrameHeadBytes('t')))
  })
})
