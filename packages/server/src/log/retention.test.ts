import { describe, expect, it } from 'vitest'
import { segmentsToDelete } from './retention.js'

const seg = (baseOffset: number, sizeBytes: number, maxTimestamp: number | null) => ({ baseOffset, sizeBytes, maxTimestamp })

describe('segmentsToDelete', () => {
  const segs = [seg(0, 100, 1000), seg(10, 100, 2000), seg(20, 100, 3000), seg(30, 50, 4000)]

  it('keeps everything without limits', () => {
    expect(segmentsToDelete(segs, 1e12, { retentionMs: null, retentionBytes: null })).toBe(0)
  })

  it('deletes segments older than retentionMs, a prefix only', () => {
    expect(segmentsToDelete(segs, 2500, { retentionMs: 1000, retentionBytes: null })).toBe(1)
    expect(segmentsToDelete(segs, 3000, { retentionMs: 1000, retentionBytes: null })).toBe(1) // exactly at the limit stays
    expect(segmentsToDelete(segs, 3001, { retentionMs: 1000, retentionBytes: null })).toBe(2)
    const unordered = [seg(0, 1, 5000), seg(1, 1, 1000), seg(2, 1, 1000)]
    expect(segmentsToDelete(unordered, 5500, { retentionMs: 1000, retentionBytes: null })).toBe(0)
  })

  it('never deletes the active segment, however old', () => {
    expect(segmentsToDelete(segs, 1e12, { retentionMs: 0, retentionBytes: null })).toBe(3)
    expect(segmentsToDelete([seg(0, 100, 0)], 1e12, { retentionMs: 0, retentionBytes: 0 })).toBe(0)
    expect(segmentsToDelete([], 1e12, { retentionMs: 0, retentionBytes: 0 })).toBe(0)
  })

  it('deletes the oldest segments while the rest still meet retentionBytes', () => {
    expect(segmentsToDelete(segs, 0, { retentionMs: null, retentionBytes: 350 })).toBe(0)
    expect(segmentsToDelete(segs, 0, { retentionMs: null, retentionBytes: 250 })).toBe(1)
    expect(segmentsToDelete(segs, 0, { retentionMs: null, retentionBytes: 249 })).toBe(1)
    expect(segmentsToDelete(segs, 0, { retentionMs: null, retentionBytes: 150 })).toBe(2)
    expect(segmentsToDelete(segs, 0, { retentionMs: null, retentionBytes: 0 })).toBe(3)
  })

  it('takes the larger of the two answers; empty segments never age out', () => {
    expect(segmentsToDelete(segs, 2500, { retentionMs: 1000, retentionBytes: 150 })).toBe(2)
    expect(segmentsToDelete([seg(0, 0, null), seg(0, 10, 0)], 1e12, { retentionMs: 1, retentionBytes: null })).toBe(0)
  })
})
