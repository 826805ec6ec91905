import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { crc32c } from './crc32c.js'

const ascii = (s: string) => new TextEncoder().encode(s)

/** The textbook bit-at-a-time CRC-32C (reflected polynomial 0x82F63B78), independent of the slicing tables. */
function bitwiseCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const b of bytes) {
    crc ^= b
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}

describe('crc32c', () => {
  it('gives 0xE3069283 for the check string "123456789"', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283)
  })

  it('gives 0 for no bytes', () => {
    expect(crc32c(new Uint8Array(0))).toBe(0)
  })

  it('gives 0x8A9136AA for 32 zero bytes and 0x62A8AB43 for 32 0xFF bytes (RFC 3720 B.4)', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa)
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43)
  })

  it('gives 0x46DD794E for the bytes 0, 1, …, 31 (RFC 3720 B.4)', () => {
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e)
  })

  it('always returns an unsigned 32-bit integer', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const c = crc32c(bytes)
      expect(Number.isInteger(c) && c >= 0 && c <= 0xffffffff).toBe(true)
    }))
  })

  it('equals the bitwise reference implementation on random inputs of every length mod 8', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      expect(crc32c(bytes)).toBe(bitwiseCrc32c(bytes))
    }), { numRuns: 500 })
  })

  it('over a sub-range [start, end) equals the CRC of that slice alone', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      const start = a % (bytes.length + 1)
      const end = start + (b % (bytes.length - start + 1))
      expect(crc32c(bytes, start, end)).toBe(bitwiseCrc32c(bytes.slice(start, end)))
    }), { numRuns: 500 })
  })

  it('reads a Uint8Array that is a view into a larger buffer by its own indices', () => {
    const buffer = new Uint8Array(20).fill(0xaa)
    buffer.set(ascii('123456789'), 5)
    expect(crc32c(buffer.subarray(5, 14))).toBe(0xe3069283)
  })

  it('equals the reference on long ranges of views at every alignment (the word-at-a-time path)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 64, maxLength: 600 }), fc.nat(7), fc.nat(7), fc.nat(7), (bytes, offset, a, b) => {
      const backing = new Uint8Array(bytes.length + 8)
      backing.set(bytes, offset)
      const view = backing.subarray(offset, offset + bytes.length)
      const start = a
      const end = bytes.length - b
      expect(crc32c(view, start, end)).toBe(bitwiseCrc32c(bytes.slice(start, end)))
    }), { numRuns: 300 })
  })
})
