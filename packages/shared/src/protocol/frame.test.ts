import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ProtocolError, SamsaError, errorKindByCode } from '../errors.js'
import { ErrorCodes } from '../error-codes.js'
import { ApiKeys } from './api-keys.js'
import { decodeResponseFrame, encodeErrorFrame, readFrameHeader } from './frame.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'))
const fixture = (path: string) => fromHex(readFileSync(new URL(path, import.meta.url), 'utf8').replace(/#.*$/gm, '').replace(/\s+/g, ''))

const detailKey = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'logStartOffset', ''), fc.string({ unit: 'binary', maxLength: 12 }))
const details = fc.array(fc.tuple(detailKey, fc.double()), { maxLength: 6 }).map((entries) => Object.fromEntries(entries) as Record<string, number>)
const errorCode = fc.oneof(
  fc.constantFrom(...Object.values(ErrorCodes).map((e) => e.code).filter((c) => c !== 0)),
  fc.integer({ min: -0x8000, max: 0x7fff }).filter((c) => c !== 0),
)

describe('frame header', () => {
  it('reads apiKey u16, apiVersion u16, correlationId u32, big-endian', () => {
    expect(readFrameHeader(fromHex('fffe0102deadbeef'))).toEqual({ apiKey: 0xfffe, apiVersion: 0x0102, correlationId: 0xdeadbeef })
  })

  it('rejects a frame shorter than its 8-byte header', () => {
    for (let n = 0; n < 8; n++) expect(() => readFrameHeader(new Uint8Array(n))).toThrow(ProtocolError)
  })
})

describe('error frames', () => {
  it('encode NOT_LEADER_OR_FOLLOWER with a detail to the hand-assembled fixture and back', () => {
    const frame = fixture('./testdata/error.response.hex')
    const error = new SamsaError('NOT_LEADER_OR_FOLLOWER', 'not the leader', { leaderEpoch: 5 })
    expect(hex(encodeErrorFrame(ApiKeys.PRODUCE, 1, 99, error))).toBe(hex(frame))
    const decoded = decodeResponseFrame(frame)
    expect(decoded.header).toEqual({ apiKey: ApiKeys.PRODUCE, apiVersion: 1, correlationId: 99 })
    expect(decoded.body).toBeNull()
    expect(decoded.error).toBeInstanceOf(SamsaError)
    expect(decoded.error).toMatchObject({ code: 6, errorName: 'NOT_LEADER_OR_FOLLOWER', retriable: true, message: 'not the leader', details: { leaderEpoch: 5 } })
  })

  it('round-trip any code, message and numeric details, including a detail named "__proto__"', () => {
    fc.assert(fc.property(errorCode, fc.string({ unit: 'binary', maxLength: 200 }), details, fc.integer({ min: 0, max: 0xffff }), (code, message, d, apiKey) => {
      const decoded = decodeResponseFrame(encodeErrorFrame(apiKey, 1, 7, SamsaError.fromCode(code, message, d)))
      expect(decoded.header.apiKey).toBe(apiKey)
      expect(decoded.error!.code).toBe(code)
      expect(decoded.error!.message).toBe(message)
      expect(Object.entries(decoded.error!.details)).toEqual(Object.entries(d))
      expect(decoded.error!.retriable).toBe(errorKindByCode(code).retriable)
    }), { numRuns: 500 })
  })

  it('keep a detail named "__proto__" as a detail', () => {
    const d = JSON.parse('{"__proto__": 1}') as Record<string, number>
    const decoded = decodeResponseFrame(encodeErrorFrame(1, 1, 1, new SamsaError('INVALID_REQUEST', 'x', d)))
    expect(Object.keys(decoded.error!.details)).toEqual(['__proto__'])
  })

  it('name an unknown code UNKNOWN_ERROR_<code>, not retriable', () => {
    const decoded = decodeResponseFrame(encodeErrorFrame(1, 1, 1, SamsaError.fromCode(4242, 'from the future')))
    expect(decoded.error).toMatchObject({ code: 4242, errorName: 'UNKNOWN_ERROR_4242', retriable: false, message: 'from the future' })
  })

  it('truncate a message past 1000 characters', () => {
    const decoded = decodeResponseFrame(encodeErrorFrame(1, 1, 1, new SamsaError('INVALID_REQUEST', 'x'.repeat(5000))))
    expect(decoded.error!.message).toBe(`${'x'.repeat(997)}...`)
  })

  it('carry at most 255 details', () => {
    const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`d${i}`, i]))
    const decoded = decodeResponseFrame(encodeErrorFrame(1, 1, 1, new SamsaError('INVALID_REQUEST', 'x', many)))
    expect(Object.keys(decoded.error!.details)).toHaveLength(255)
  })

  it('cannot carry errorCode 0, which would read as a success', () => {
    expect(() => encodeErrorFrame(1, 1, 1, new SamsaError(ErrorCodes.NONE))).toThrow(RangeError)
  })

  it('reject trailing bytes and every truncation of the fixture', () => {
    const frame = fixture('./testdata/error.response.hex')
    expect(() => decodeResponseFrame(Uint8Array.from([...frame, 0]))).toThrow(ProtocolError)
    for (let n = 0; n < frame.length; n++) expect(() => decodeResponseFrame(frame.subarray(0, n)), `${n} bytes`).toThrow(ProtocolError)
  })
})

describe('decodeResponseFrame on hostile bytes', () => {
  it('throws nothing but ProtocolError on random bytes and on mutated error frames', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      try {
        decodeResponseFrame(bytes)
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError)
      }
    }), { numRuns: 2000 })
    const frame = fixture('./testdata/error.response.hex')
    fc.assert(fc.property(fc.nat(), fc.integer({ min: 0, max: 255 }), (at, byte) => {
      const copy = frame.slice()
      copy[at % copy.length] = byte
      try {
        decodeResponseFrame(copy)
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError)
      }
    }), { numRuns: 2000 })
  })
})
