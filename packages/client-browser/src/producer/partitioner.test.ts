import { describe, expect, it } from 'vitest'
import { Partitioner, murmur2, partitionForKey } from './partitioner.js'

const te = new TextEncoder()

describe('murmur2', () => {
  it("matches Kafka's test vectors (UtilsTest.testMurmur2)", () => {
    const cases: [Uint8Array, number][] = [
      [te.encode('21'), -973932308],
      [te.encode('foobar'), -790332482],
      [te.encode('a-little-bit-long-string'), -985981536],
      [te.encode('a-little-bit-longer-string'), -1486304829],
      [te.encode('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), -58897971],
      [new Uint8Array([0x61, 0x62, 0x63]), 479470107],
    ]
    for (const [bytes, expected] of cases) expect(murmur2(bytes)).toBe(expected)
  })
})

describe('Partitioner', () => {
  it('puts the same key on the same partition every time', () => {
    const p = new Partitioner()
    for (const k of ['user-1', 'user-2', 'ünïcødé', '']) {
      const first = p.partition('t', te.encode(k), 12)
      for (let i = 0; i < 5; i++) expect(p.partition('t', te.encode(k), 12)).toBe(first)
      expect(first).toBe(partitionForKey(te.encode(k), 12))
    }
  })

  it('spreads keyed records across partitions', () => {
    const counts = new Array(8).fill(0)
    for (let i = 0; i < 8000; i++) counts[partitionForKey(te.encode(`key-${i}`), 8)]++
    for (const c of counts) expect(c).toBeGreaterThan(800)
  })

  it('spreads keyless records evenly (round-robin)', () => {
    const p = new Partitioner()
    const counts = new Array(3).fill(0)
    for (let i = 0; i < 300; i++) counts[p.partition('t', null, 3)]++
    expect(counts).toEqual([100, 100, 100])
  })
})
