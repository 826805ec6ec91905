import { describe, expect, it } from 'vitest'
import { gapForOutOfRange } from './gap.js'

const range = { logStartOffset: 100, logEndOffset: 200 }

describe('gapForOutOfRange', () => {
  it('reports nothing for a position inside the log, at its end, or still symbolic', () => {
    for (const at of [100, 150, 200, -1, -2]) expect(gapForOutOfRange('t', 0, at, range, 'earliest')).toBeNull()
  })

  it('continues at the log start after retention removed [position, logStart) with reset earliest', () => {
    expect(gapForOutOfRange('t', 3, 40, range, 'earliest')).toEqual({ resume: 100, gap: { topic: 't', partition: 3, from: 40, to: 100, reason: 'retention' } })
  })

  it('skips to the log end with reset latest, reporting everything skipped', () => {
    expect(gapForOutOfRange('t', 0, 40, range, 'latest')).toEqual({ resume: 200, gap: { topic: 't', partition: 0, from: 40, to: 200, reason: 'retention' } })
  })

  it('continues at the log end when the log was truncated below the position, whatever the reset', () => {
    for (const reset of ['earliest', 'latest'] as const) {
      expect(gapForOutOfRange('t', 1, 250, range, reset)).toEqual({ resume: 200, gap: { topic: 't', partition: 1, from: 200, to: 250, reason: 'truncation' } })
    }
  })
})
