import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ProtocolError } from '../errors.js'
import { readInt64, writeInt64 } from './int64.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const fromHex = (h: string) => new DataView(Uint8Array.from(Buffer.from(h, 'hex')).buffer)

function write(value: number): Uint8Array {
  const bytes = new Uint8Array(8)
  writeInt64(new DataView(bytes.buffer), 0, value)
  return bytes
}

describe('int64', () => {
  it.each([
    [0, '0000000000000000'],
    [1, '0000000000000001'],
    [-1, 'ffffffffffffffff'],
    [-2, 'fffffffffffffffe'],
    [2 ** 32, '0000000100000000'],
    [-(2 ** 32), 'ffffffff00000000'],
    [Number.MAX_SAFE_INTEGER, '001fffffffffffff'],
    [Number.MIN_SAFE_INTEGER, 'ffe0000000000001'],
  ])('writes %d as the big-endian two\'s complement %s and reads it back', (value, bytes) => {
    expect(hex(write(value))).toBe(bytes)
    expect(readInt64(fromHex(bytes), 0)).toBe(value)
  })

  it('round-trips every safe integer', () => {
    fc.assert(fc.property(fc.maxSafeInteger(), (n) => {
      expect(readInt64(new DataView(write(n).buffer), 0)).toBe(n)
    }), { numRuns: 1000 })
  })

  it.each(['0020000000000000', '7fffffffffffffff', 'ffe0000000000000', '8000000000000000', '0020000000000001'])(
    'refuses to read %s, which is beyond ±(2^53 − 1), with a ProtocolError',
    (bytes) => {
      expect(() => readInt64(fromHex(bytes), 0)).toThrow(ProtocolError)
    },
  )

  it.each([2 ** 53, -(2 ** 53), 1.5, Number.NaN, Infinity, -Infinity])('refuses to write the unsafe number %d with a RangeError', (n) => {
    expect(() => write(n)).toThrow(RangeError)
  })
})
