import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isWellFormedUtf8, utf8ByteLength } from './utf8.js'

const fatal = new TextDecoder('utf-8', { fatal: true })
const decodes = (b: Uint8Array) => {
  try {
    fatal.decode(b)
    return true
  } catch {
    return false
  }
}
const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'))

describe('isWellFormedUtf8', () => {
  it.each(['', '61', 'c3a9', 'e282ac', 'f09f9880', 'efbbbf', 'f48fbfbf', 'ed9fbf', 'ee8080'])('accepts %s', (h) => {
    expect(isWellFormedUtf8(fromHex(h))).toBe(true)
  })

  it.each([
    ['a lone continuation byte', '80'],
    ['an overlong 2-byte form', 'c0af'],
    ['an overlong 3-byte form', 'e080af'],
    ['an overlong 4-byte form', 'f08080af'],
    ['a UTF-16 surrogate', 'eda080'],
    ['a code point past U+10FFFF', 'f4908080'],
    ['a lead byte past F4', 'f5808080'],
    ['a truncated sequence', 'e282'],
    ['a bad continuation byte', 'e228ac'],
    ['0xFF', 'ff'],
  ])('rejects %s', (_what, h) => {
    expect(isWellFormedUtf8(fromHex(h))).toBe(false)
  })

  it('agrees with a fatal TextDecoder on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 12 }), (b) => {
      expect(isWellFormedUtf8(b)).toBe(decodes(b))
    }), { numRuns: 5000 })
  })

  it('agrees with a fatal TextDecoder on mutated encodings of real strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', minLength: 1 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (s, i, v) => {
      const b = new TextEncoder().encode(s)
      expect(isWellFormedUtf8(b)).toBe(true)
      b[i % b.length] = v
      expect(isWellFormedUtf8(b)).toBe(decodes(b))
    }), { numRuns: 3000 })
  })

  it('checks only bytes[start, end)', () => {
    const b = fromHex('ff6162ff')
    expect(isWellFormedUtf8(b, 1, 3)).toBe(true)
    expect(isWellFormedUtf8(b, 1, 4)).toBe(false)
  })
})

describe('utf8ByteLength', () => {
  it('equals the length TextEncoder produces, lone surrogates included', () => {
    const enc = new TextEncoder()
    for (const s of ['', 'a', 'é', '€', '😀', '\ud800', 'x\udc00y', '\ud83d', '\ud83d\ude00\ud83d']) expect(utf8ByteLength(s)).toBe(enc.encode(s).length)
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => {
      expect(utf8ByteLength(s)).toBe(enc.encode(s).length)
    }), { numRuns: 500 })
    fc.assert(fc.property(fc.string({ unit: fc.integer({ min: 0xd700, max: 0xe000 }).map((c) => String.fromCharCode(c)) }), (s) => {
      expect(utf8ByteLength(s)).toBe(enc.encode(s).length)
    }), { numRuns: 500 })
  })
})
