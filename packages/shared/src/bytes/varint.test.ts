import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ProtocolError } from '../errors.js'
import { readVarint, varintSize, writeVarint } from './varint.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'))

function encode(value: number): Uint8Array {
  const bytes = new Uint8Array(varintSize(value))
  expect(writeVarint(bytes, 0, value)).toBe(bytes.length)
  return bytes
}

describe('zig-zag varint', () => {
  // Kafka's ByteUtilsTest and the protobuf zig-zag table.
  it.each([
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-2, '03'],
    [2, '04'],
    [63, '7e'],
    [-64, '7f'],
    [64, '8001'],
    [-65, '8101'],
    [300, 'd804'],
    [8191, 'fe7f'],
    [-8192, 'ff7f'],
    [8192, '808001'],
    [2 ** 31 - 1, 'feffffff0f'],
    [-(2 ** 31), 'ffffffff0f'],
    [Number.MAX_SAFE_INTEGER, 'feffffffffffff1f'],
    [Number.MIN_SAFE_INTEGER, 'fdffffffffffff1f'],
  ])('encodes %d as %s and decodes it back', (value, bytes) => {
    expect(hex(encode(value))).toBe(bytes)
    expect(readVarint(fromHex(bytes), 0, bytes.length / 2)).toEqual([value, bytes.length / 2])
  })

  it('round-trips every safe integer, and varintSize is the number of bytes written', () => {
    fc.assert(fc.property(fc.maxSafeInteger(), (n) => {
      const bytes = encode(n)
      expect(readVarint(bytes, 0, bytes.length)).toEqual([n, bytes.length])
    }), { numRuns: 2000 })
  })

  it('writes the same bytes as a BigInt reference zig-zag encoder', () => {
    const reference = (n: number): string => {
      const v = BigInt(n)
      let z = v >= 0n ? v << 1n : ((-v) << 1n) - 1n
      const out: number[] = []
      while (z >= 0x80n) {
        out.push(Number(z & 0x7fn) | 0x80)
        z >>= 7n
      }
      out.push(Number(z))
      return hex(Uint8Array.from(out))
    }
    fc.assert(fc.property(fc.maxSafeInteger(), (n) => {
      expect(hex(encode(n))).toBe(reference(n))
    }), { numRuns: 2000 })
  })

  it('round-trips small integers near the one-byte and two-byte boundaries', () => {
    fc.assert(fc.property(fc.integer({ min: -20_000, max: 20_000 }), (n) => {
      const bytes = encode(n)
      expect(readVarint(bytes, 0, bytes.length)).toEqual([n, bytes.length])
    }))
  })

  it('reads from the middle of a buffer and returns the position after the varint', () => {
    const bytes = fromHex('aabbd804cc')
    expect(readVarint(bytes, 2, bytes.length)).toEqual([300, 4])
  })

  it('accepts a non-minimal encoding, as Kafka does', () => {
    expect(readVarint(fromHex('8000'), 0, 2)).toEqual([0, 2])
  })

  it.each(['', '80', 'ff', '8080', 'ffffffffffffff'])('rejects the truncated input "%s" with a ProtocolError', (bytes) => {
    expect(() => readVarint(fromHex(bytes), 0, bytes.length / 2)).toThrow(ProtocolError)
  })

  it('does not read past the end it is given, even when the buffer continues', () => {
    expect(() => readVarint(fromHex('8001'), 0, 1)).toThrow(ProtocolError)
  })

  it('rejects a varint longer than 8 bytes with a ProtocolError', () => {
    expect(() => readVarint(fromHex('808080808080808000'), 0, 9)).toThrow(/longer than 8 bytes/)
    expect(() => readVarint(fromHex('ffffffffffffffffff01'), 0, 10)).toThrow(ProtocolError)
  })

  it.each(['8080808080808020', 'feffffffffffff7f', 'ffffffffffffff7f', 'fdffffffffffff2f', '8080808080808040'])(
    'rejects the 8-byte varint %s, whose value is beyond ±(2^53 − 1), with a ProtocolError',
    (bytes) => {
      const b = fromHex(bytes.replace(/ /g, ''))
      expect(() => readVarint(b, 0, b.length)).toThrow(ProtocolError)
    },
  )

  it('on any bytes either decodes a safe integer or throws a ProtocolError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
      try {
        const [value, next] = readVarint(bytes, 0, bytes.length)
        expect(Number.isSafeInteger(value)).toBe(true)
        expect(next).toBeGreaterThan(0)
        expect(next).toBeLessThanOrEqual(Math.min(8, bytes.length))
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError)
      }
    }), { numRuns: 2000 })
  })

  it.each([2 ** 53, 0.5, Number.NaN, Infinity])('refuses to size or write the unsafe number %d', (n) => {
    expect(() => varintSize(n)).toThrow(RangeError)
    expect(() => writeVarint(new Uint8Array(10), 0, n)).toThrow(RangeError)
  })
})
