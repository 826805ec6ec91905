import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkConsumerStream, checkHistory, describeReport, type Ack, type Read } from './history-checker.js'

const v = (n: number, producer = 'r') => `${producer}-${String(n).padStart(6, '0')}`

/** A clean history: values 0..n-1 round-robin over partitions, every one acknowledged and drained. */
function clean(n: number, partitions = 3): { attempted: string[]; acked: Ack[]; drained: Read[] } {
  const next = Array.from({ length: partitions }, () => 0)
  const acked: Ack[] = []
  for (let i = 0; i < n; i++) {
    const partition = i % partitions
    acked.push({ partition, offset: next[partition]!++, value: v(i) })
  }
  return { attempted: acked.map((a) => a.value), acked, drained: acked.map((a) => ({ ...a })) }
}

const kinds = (r: ReturnType<typeof checkHistory>) => [...new Set(r.anomalies.map((a) => a.kind))].sort()

describe('checkHistory', () => {
  it('accepts a clean history and counts it', () => {
    const r = checkHistory(clean(10))
    expect(r.ok).toBe(true)
    expect(r.counts).toMatchObject({ attempted: 10, acked: 10, drained: 10, ackedFound: 10, unackedPresent: 0, perPartition: { 0: 4, 1: 3, 2: 3 } })
  })

  it('accepts unacknowledged values in the log (ambiguous sends) and counts them', () => {
    const h = clean(9)
    const r = checkHistory({ ...h, acked: h.acked.slice(0, 5) })
    expect(r.ok).toBe(true)
    expect(r.counts.unackedPresent).toBe(4)
  })

  it('reports a lost write: an ack missing from the drain', () => {
    const h = clean(6)
    const r = checkHistory({ ...h, drained: h.drained.filter((d) => !(d.partition === 2 && d.offset === 1)) })
    expect(kinds(r)).toEqual(['lost-write'])
    expect(r.anomalies[0]).toMatchObject({ kind: 'lost-write', partition: 2, offset: 1, value: v(5), found: null })
  })

  it('reports an offset gap when the lost record is in the middle of a partition', () => {
    const h = clean(9)
    const r = checkHistory({ ...h, drained: h.drained.filter((d) => !(d.partition === 0 && d.offset === 1)) })
    expect(kinds(r)).toEqual(['lost-write', 'offset-gap'])
    expect(r.anomalies.find((a) => a.kind === 'offset-gap')).toMatchObject({ partition: 0, expected: 1, found: 2 })
  })

  it('reports a value at another offset than acknowledged (lost write + inconsistent offsets)', () => {
    const h = clean(2, 1)
    const drained = [{ partition: 0, offset: 0, value: v(1) }, { partition: 0, offset: 1, value: v(0) }]
    const r = checkHistory({ ...h, drained })
    expect(kinds(r)).toEqual(['duplicate', 'inconsistent-offset', 'lost-write', 'nonmonotonic-send'])
  })

  it('reports a duplicate: the same value at two offsets', () => {
    const h = clean(3, 1)
    const drained = [...h.drained, { partition: 0, offset: 3, value: v(2) }]
    const r = checkHistory({ ...h, drained })
    expect(kinds(r)).toEqual(['duplicate', 'nonmonotonic-send'])
    expect(r.anomalies.find((a) => a.kind === 'duplicate')).toMatchObject({ value: v(2), at: [{ partition: 0, offset: 2 }, { partition: 0, offset: 3 }] })
  })

  it('reports a duplicate across partitions', () => {
    const h = clean(3, 3)
    const drained = [...h.drained, { partition: 1, offset: 1, value: v(0) }]
    expect(kinds(checkHistory({ ...h, drained }))).toContain('duplicate')
  })

  it('reports the same offset read twice as a duplicate read', () => {
    const h = clean(3, 1)
    const r = checkHistory({ ...h, drained: [...h.drained, { ...h.drained[1]! }] })
    expect(kinds(r)).toEqual(['duplicate'])
  })

  it('reports an unexpected value (never attempted)', () => {
    const h = clean(3, 1)
    const r = checkHistory({ ...h, drained: [...h.drained, { partition: 0, offset: 3, value: 'x-999999' }] })
    expect(kinds(r)).toEqual(['unexpected'])
  })

  it('reports an aborted read: a failed send in the log', () => {
    const h = clean(3, 1)
    const r = checkHistory({ ...h, attempted: [...h.attempted, v(3)], failed: [v(3)], drained: [...h.drained, { partition: 0, offset: 3, value: v(3) }] })
    expect(kinds(r)).toEqual(['aborted-read'])
  })

  it('reports per-producer order violations only within a producer', () => {
    const drained = [
      { partition: 0, offset: 0, value: v(5, 'a') },
      { partition: 0, offset: 1, value: v(1, 'b') },
      { partition: 0, offset: 2, value: v(6, 'a') },
      { partition: 0, offset: 3, value: v(0, 'b') },
    ]
    const r = checkHistory({ attempted: drained.map((d) => d.value), acked: [], drained })
    expect(r.anomalies).toEqual([{ kind: 'nonmonotonic-send', partition: 0, producer: 'b', offset: 3, value: v(0, 'b'), previous: v(1, 'b') }])
  })

  it('reports a gap at the start unless the log start says so', () => {
    const drained = [{ partition: 0, offset: 5, value: v(0) }]
    expect(kinds(checkHistory({ attempted: [v(0)], acked: [], drained }))).toEqual(['offset-gap'])
    expect(checkHistory({ attempted: [v(0)], acked: [], drained, logStartOffsets: { 0: 5 } }).ok).toBe(true)
  })

  it('reports values it cannot parse', () => {
    const r = checkHistory({ attempted: ['nope'], acked: [], drained: [{ partition: 0, offset: 0, value: 'nope' }] })
    expect(kinds(r)).toEqual(['unparseable-value'])
  })

  it('describes a report in a few lines', () => {
    const h = clean(3, 1)
    const text = describeReport(checkHistory({ ...h, drained: [] }))
    expect(text).toMatch(/lost-write: 3/)
  })

  it('property: a clean history is ok; dropping any acked record from the drain is always caught', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 4 }), fc.nat(), (n, partitions, pick) => {
        const h = clean(n, partitions)
        expect(checkHistory(h).ok).toBe(true)
        const drop = pick % n
        const r = checkHistory({ ...h, drained: h.drained.filter((_, i) => i !== drop) })
        expect(r.anomalies.some((a) => a.kind === 'lost-write')).toBe(true)
      }),
      { numRuns: 200 },
    )
  })

  it('property: swapping two values of one partition is always caught', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 40 }), fc.nat(), fc.nat(), (n, a, b) => {
        const h = clean(n, 1)
        const i = a % n
        const j = b % n
        fc.pre(i !== j)
        const drained = h.drained.map((d) => ({ ...d }))
        const vi = drained[i]!.value
        drained[i] = { ...drained[i]!, value: drained[j]!.value }
        drained[j] = { ...drained[j]!, value: vi }
        const r = checkHistory({ ...h, drained })
        expect(r.ok).toBe(false)
        expect(r.anomalies.some((x) => x.kind === 'nonmonotonic-send')).toBe(true)
      }),
      { numRuns: 200 },
    )
  })
})

describe('checkConsumerStream', () => {
  it('accepts contiguous increasing offsets per partition, interleaved', () => {
    expect(checkConsumerStream([{ partition: 0, offset: 0 }, { partition: 1, offset: 7 }, { partition: 0, offset: 1 }, { partition: 1, offset: 8 }], { 0: 0 })).toEqual([])
  })

  it('reports a skip and a repeat', () => {
    const r = checkConsumerStream([{ partition: 0, offset: 0 }, { partition: 0, offset: 2 }, { partition: 0, offset: 2 }])
    expect(r).toEqual([
      { kind: 'poll-skip', partition: 0, expected: 1, found: 2 },
      { kind: 'nonmonotonic-poll', partition: 0, previous: 2, found: 2 },
    ])
  })

  it('reports a skip at the start', () => {
    expect(checkConsumerStream([{ partition: 2, offset: 3 }], { 2: 0 })).toEqual([{ kind: 'poll-skip', partition: 2, expected: 0, found: 3 }])
  })
})
