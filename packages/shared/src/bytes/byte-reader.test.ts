import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ProtocolError } from '../errors.js'
import { ByteReader } from './byte-reader.js'
import { ByteWriter } from './byte-writer.js'

const fromHex = (h: string) => Uint8Array.from(Buffer.from(h.replace(/ /g, ''), 'hex'))
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

describe('ByteWriter and ByteReader', () => {
  it('write and read every field type big-endian', () => {
    const bytes = new ByteWriter(1)
      .u8(0xab).i8(-2).u16(0x1234).i16(-2).u32(0xdeadbeef).i32(-2).i64(-2).f64(1.5).bool(true)
      .bytes(fromHex('0102')).string('hé').nullableString(null).nullableString('').raw(fromHex('ff'))
      .finish()
    expect(hex(bytes)).toBe(
      'ab' + 'fe' + '1234' + 'fffe' + 'deadbeef' + 'fffffffe' + 'fffffffffffffffe' + '3ff8000000000000' + '01' +
        '00000002' + '0102' + '0003' + '68c3a9' + 'ffff' + '0000' + 'ff',
    )
    const r = new ByteReader(bytes)
    expect([r.u8(), r.i8(), r.u16(), r.i16(), r.u32(), r.i32(), r.i64(), r.f64(), r.bool()]).toEqual([0xab, -2, 0x1234, -2, 0xdeadbeef, -2, -2, 1.5, true])
    expect(hex(r.bytes())).toBe('0102')
    expect([r.string(), r.nullableString(), r.nullableString()]).toEqual(['hé', null, ''])
    expect(hex(r.rest())).toBe('ff')
    expect(r.remaining).toBe(0)
    r.end()
  })

  it('round-trips any well-formed string, including a leading byte-order mark', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 50 }), (s) => {
      const text = `\uFEFF${s}`
      const r = new ByteReader(new ByteWriter().string(text).nullableString(text).finish())
      expect(r.string()).toBe(text)
      expect(r.nullableString()).toBe(text)
    }))
  })

  it('throws a ProtocolError, not a RangeError, on every read past the end', () => {
    const reads: ((r: ByteReader) => unknown)[] = [
      (r) => r.u8(), (r) => r.i8(), (r) => r.u16(), (r) => r.i16(), (r) => r.u32(), (r) => r.i32(), (r) => r.i64(), (r) => r.f64(),
      (r) => r.bool(), (r) => r.bytes(), (r) => r.string(), (r) => r.nullableString(), (r) => r.count(1),
    ]
    for (const read of reads) expect(() => read(new ByteReader(new Uint8Array(0)))).toThrow(ProtocolError)
  })

  it('rejects a length prefix longer than the bytes left without allocating', () => {
    expect(() => new ByteReader(fromHex('ffffffff 00')).bytes()).toThrow(/truncated/)
    expect(() => new ByteReader(fromHex('ffff 00')).string()).toThrow(ProtocolError)
    expect(() => new ByteReader(fromHex('7fff 00')).nullableString()).toThrow(ProtocolError)
  })

  it('rejects a negative nullable-string length other than −1', () => {
    expect(() => new ByteReader(fromHex('fffe')).nullableString()).toThrow(ProtocolError)
  })

  it('rejects strings that are not valid UTF-8 with a ProtocolError', () => {
    for (const bad of ['ff', 'c3', 'c328', 'eda080', 'f4908080', 'c0af']) {
      const len = (bad.length / 2).toString(16).padStart(4, '0')
      expect(() => new ByteReader(fromHex(len + bad)).string()).toThrow(ProtocolError)
    }
  })

  it('rejects a boolean byte other than 0 or 1', () => {
    expect(() => new ByteReader(fromHex('02')).bool()).toThrow(ProtocolError)
  })

  it('rejects a count of 2^32 − 1 elements that cannot fit in what is left', () => {
    expect(() => new ByteReader(fromHex('ffffffff 0000')).count(1)).toThrow(/cannot fit/)
    expect(new ByteReader(fromHex('00000002 0000')).count(1)).toBe(2)
  })

  it('end() rejects trailing bytes', () => {
    const r = new ByteReader(fromHex('00 01'))
    r.u8()
    expect(() => r.end()).toThrow(/trailing/)
  })

  it('reads a Uint8Array that is a view into a larger buffer by its own offsets', () => {
    const backing = fromHex('ffff 0102 ffff')
    expect(new ByteReader(backing.subarray(2, 4)).u16()).toBe(0x0102)
  })

  it('grows past its initial size', () => {
    const big = new Uint8Array(1000).fill(7)
    const out = new ByteWriter(1).u8(1).raw(big).u8(2).finish()
    expect(out.length).toBe(1002)
    expect(out[1001]).toBe(2)
  })

  it.each([
    ['u8', (w: ByteWriter) => w.u8(256)],
    ['u8', (w: ByteWriter) => w.u8(-1)],
    ['i8', (w: ByteWriter) => w.i8(128)],
    ['u16', (w: ByteWriter) => w.u16(0x10000)],
    ['i16', (w: ByteWriter) => w.i16(-0x8001)],
    ['u32', (w: ByteWriter) => w.u32(-1)],
    ['u32', (w: ByteWriter) => w.u32(2 ** 32)],
    ['i32', (w: ByteWriter) => w.i32(2 ** 31)],
    ['i32', (w: ByteWriter) => w.i32(1.5)],
    ['i32', (w: ByteWriter) => w.i32(Number.NaN)],
    ['i64', (w: ByteWriter) => w.i64(2 ** 53)],
    ['string', (w: ByteWriter) => w.string('x'.repeat(0x10000))],
    ['nullableString', (w: ByteWriter) => w.nullableString('x'.repeat(0x8000))],
  ])('refuses to write an out-of-range %s with a RangeError instead of wrapping it', (_type, write) => {
    expect(() => write(new ByteWriter())).toThrow(RangeError)
  })
})
