import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { OffsetIndex } from './offset-index.js'

describe('OffsetIndex', () => {
  it('looks up the greatest entry at or below the target', () => {
    const ix = new OffsetIndex(100)
    ix.add(110, 4000)
    ix.add(125, 9000)
    expect(ix.lookup(99)).toEqual({ offset: 100, position: 0 })
    expect(ix.lookup(100)).toEqual({ offset: 100, position: 0 })
    expect(ix.lookup(109)).toEqual({ offset: 100, position: 0 })
    expect(ix.lookup(110)).toEqual({ offset: 110, position: 4000 })
    expect(ix.lookup(124)).toEqual({ offset: 110, position: 4000 })
    expect(ix.lookup(10_000)).toEqual({ offset: 125, position: 9000 })
  })

  it('rejects entries that do not increase or do not fit u32', () => {
    const ix = new OffsetIndex(0)
    ix.add(5, 100)
    expect(() => ix.add(5, 200)).toThrow(RangeError)
    expect(() => ix.add(6, 100)).toThrow(RangeError)
    expect(() => ix.add(2 ** 32, 300)).toThrow(RangeError)
    expect(() => new OffsetIndex(10).add(9, 1)).toThrow(RangeError)
  })

  it('truncates entries at or past a position', () => {
    const ix = new OffsetIndex(0)
    ix.add(1, 10)
    ix.add(2, 20)
    ix.add(3, 30)
    ix.truncateToPosition(20)
    expect(ix.entries()).toEqual([{ offset: 1, position: 10 }])
  })

  it('round-trips through the file format', () => {
    fc.assert(
      fc.property(fc.nat(1_000_000), fc.uniqueArray(fc.integer({ min: 1, max: 1_000_000 }), { maxLength: 50 }), (base, deltas) => {
        const sorted = [...deltas].sort((a, b) => a - b)
        const ix = new OffsetIndex(base)
        sorted.forEach((d, i) => ix.add(base + d, (i + 1) * 64))
        const back = OffsetIndex.parse(ix.serialize(), base, 1 << 30)
        expect(back?.entries()).toEqual(ix.entries())
      }),
    )
  })

  it('parse returns null for malformed files', () => {
    const ix = new OffsetIndex(0)
    ix.add(3, 100)
    ix.add(7, 200)
    const bytes = ix.serialize()
    expect(OffsetIndex.parse(bytes.subarray(0, 7), 0, 1000)).toBeNull()
    expect(OffsetIndex.parse(bytes, 0, 150)).toBeNull() // position past the segment end
    const swapped = new Uint8Array([...bytes.subarray(8), ...bytes.subarray(0, 8)])
    expect(OffsetIndex.parse(swapped, 0, 1000)).toBeNull()
    expect(OffsetIndex.parse(new Uint8Array(0), 0, 0)?.size).toBe(0)
  })
})
