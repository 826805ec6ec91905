import { describe, expect, it } from 'vitest'
import { planReset } from './reset-plan.js'

describe('planReset', () => {
  const at = { earliest: 5, latest: 20, byTime: 12 }
  it('takes the log start, the high watermark, or the first offset at a time', () => {
    expect(planReset({ kind: 'earliest' }, at)).toBe(5)
    expect(planReset({ kind: 'latest' }, at)).toBe(20)
    expect(planReset({ kind: 'datetime', timestampMs: 0 }, at)).toBe(12)
  })
  it('clamps a given offset to the readable range, and a time past the last record to the high watermark', () => {
    expect(planReset({ kind: 'offset', offset: 2 }, at)).toBe(5)
    expect(planReset({ kind: 'offset', offset: 99 }, at)).toBe(20)
    expect(planReset({ kind: 'offset', offset: 7 }, at)).toBe(7)
    expect(planReset({ kind: 'datetime', timestampMs: 0 }, { ...at, byTime: -1 })).toBe(20)
  })
})
