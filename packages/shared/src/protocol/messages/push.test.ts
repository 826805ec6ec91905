import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ProtocolError, SamsaError } from '../../errors.js'
import { decodePush, encodePushEnded, encodePushRecords, PUSH_RECORDS_OVERHEAD } from './push.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'))
const fixture = (path: string) => fromHex(readFileSync(new URL(path, import.meta.url), 'utf8').replace(/#.*$/gm, '').replace(/\s+/g, ''))
const batch = fixture('../../records/testdata/two-records.hex')

const u32 = fc.integer({ min: 0, max: 0xffff_ffff })
const i64 = fc.maxSafeInteger()

describe('push frames', () => {
  it('a records push encodes to the hand-assembled fixture and decodes back', () => {
    const frame = fixture('../testdata/push-records.hex')
    expect(hex(encodePushRecords(1, 1, 44, 0, batch))).toBe(hex(frame))
    expect(decodePush(frame)).toEqual({ kind: 'records', subscriptionId: 1, highWatermark: 44, logStartOffset: 0, records: batch })
    expect(frame.length).toBe(PUSH_RECORDS_OVERHEAD + batch.length)
  })

  it('an ended push encodes to the hand-assembled fixture and decodes back', () => {
    const frame = fixture('../testdata/push-ended.hex')
    expect(hex(encodePushEnded(1, 1, new SamsaError('TOPIC_DELETED', 'topic deleted')))).toBe(hex(frame))
    const push = decodePush(frame)
    expect(push).toMatchObject({ kind: 'ended', subscriptionId: 1 })
    expect(push.kind === 'ended' && push.error).toMatchObject({ code: 1005, errorName: 'TOPIC_DELETED', message: 'topic deleted', details: {} })
  })

  it('records pushes round-trip', () => {
    fc.assert(fc.property(u32, i64, i64, fc.uint8Array({ maxLength: 200 }), (subscriptionId, highWatermark, logStartOffset, records) => {
      expect(decodePush(encodePushRecords(1, subscriptionId, highWatermark, logStartOffset, records))).toEqual({ kind: 'records', subscriptionId, highWatermark, logStartOffset, records })
    }))
  })

  it('ended pushes round-trip with their error code, message and details', () => {
    const details = fc.array(fc.tuple(fc.string({ maxLength: 8 }), fc.double()), { maxLength: 4 }).map((e) => Object.fromEntries(e) as Record<string, number>)
    fc.assert(fc.property(u32, fc.integer({ min: -0x8000, max: 0x7fff }), fc.string({ unit: 'binary', maxLength: 100 }), details, (subscriptionId, code, message, d) => {
      const push = decodePush(encodePushEnded(1, subscriptionId, SamsaError.fromCode(code, message, d)))
      expect(push.kind).toBe('ended')
      if (push.kind !== 'ended') return
      expect(push.subscriptionId).toBe(subscriptionId)
      expect([push.error.code, push.error.message, push.error.details]).toEqual([code, message, d])
    }))
  })

  it('rejects a frame that is not a push, an unknown kind, trailing bytes after an ended push, and truncations', () => {
    const records = fixture('../testdata/push-records.hex')
    const ended = fixture('../testdata/push-ended.hex')
    const notPush = records.slice()
    notPush[1] = 5
    expect(() => decodePush(notPush)).toThrow(/not a push/)
    const badKind = records.slice()
    badKind[12] = 2
    expect(() => decodePush(badKind)).toThrow(/unknown push kind/)
    expect(() => decodePush(Uint8Array.from([...ended, 0]))).toThrow(ProtocolError)
    for (let n = 0; n < ended.length; n++) expect(() => decodePush(ended.subarray(0, n)), `${n} bytes`).toThrow(ProtocolError)
    for (let n = 0; n < 29; n++) expect(() => decodePush(records.subarray(0, n)), `${n} bytes`).toThrow(ProtocolError)
  })

  it('decodePush throws nothing but ProtocolError on random bytes and mutated pushes', () => {
    const frames = [fixture('../testdata/push-records.hex'), fixture('../testdata/push-ended.hex')]
    fc.assert(fc.property(fc.uint8Array({ maxLength: 60 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (random, which, at, byte) => {
      const mutated = frames[which % 2]!.slice()
      mutated[at % mutated.length] = byte
      // Keep the header a push header often enough to reach the body decoders.
      const pushLike = Uint8Array.from([0, 11, 0, 1, 0, 0, 0, 0, ...random])
      for (const bytes of [random, mutated, pushLike]) {
        try {
          decodePush(bytes)
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError)
        }
      }
    }), { numRuns: 3000 })
  })
})
