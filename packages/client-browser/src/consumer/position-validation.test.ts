import { describe, expect, it } from 'vitest'
import { needsValidation, validatePosition } from './position-validation.js'

describe('needsValidation', () => {
  it('checks a known position that carries the epoch of the record before it, once per leader epoch', () => {
    expect(needsValidation({ position: 8, positionEpoch: 1, validatedUnder: null, leaderEpoch: 3 })).toBe(true) // resumed from storage
    expect(needsValidation({ position: 8, positionEpoch: 1, validatedUnder: 2, leaderEpoch: 3 })).toBe(true) // a new leader epoch
    expect(needsValidation({ position: 8, positionEpoch: 1, validatedUnder: 3, leaderEpoch: 3 })).toBe(false) // already checked under it
  })

  it('skips positions without an epoch (stored before epochs, after a seek or a reset) and symbolic starts', () => {
    expect(needsValidation({ position: 8, positionEpoch: -1, validatedUnder: null, leaderEpoch: 3 })).toBe(false)
    expect(needsValidation({ position: null, positionEpoch: 1, validatedUnder: null, leaderEpoch: 3 })).toBe(false)
  })
})

describe('validatePosition (KIP-320)', () => {
  it('keeps a position at or below where its epoch ends on the leader', () => {
    expect(validatePosition('t', 0, 8, { leaderEpoch: 1, endOffset: 10 })).toBeNull()
    expect(validatePosition('t', 0, 8, { leaderEpoch: 1, endOffset: 8 })).toBeNull()
  })

  it('truncates to the end of the epoch when the position is above it, reporting [end, position) as a truncation gap', () => {
    expect(validatePosition('t', 2, 8, { leaderEpoch: 1, endOffset: 5 })).toEqual({
      resume: 5,
      leaderEpoch: 1,
      gap: { topic: 't', partition: 2, from: 5, to: 8, reason: 'truncation' },
    })
  })

  it('compares with the largest older epoch the leader knows when it never had the position’s epoch', () => {
    expect(validatePosition('t', 0, 8, { leaderEpoch: 0, endOffset: 6 })).toMatchObject({ resume: 6, leaderEpoch: 0, gap: { from: 6, to: 8 } })
  })

  it('keeps the position when the leader knows no epoch that old (the subscribe’s range check decides)', () => {
    expect(validatePosition('t', 0, 8, { leaderEpoch: -1, endOffset: -1 })).toBeNull()
  })
})
