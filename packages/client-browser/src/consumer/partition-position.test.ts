import { SamsaError } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { atEnd, beyondEnd, initialPosition, reducePosition, requestOffset, type PartitionPosition, type PositionEffect, type PositionEvent, type PositionRules } from './partition-position.js'

const rules = (over: Partial<PositionRules> = {}): PositionRules => ({ topic: 't', partition: 3, untilEnd: false, reset: null, ...over })
const at = (start: number, untilEnd: boolean, over: Partial<PositionRules> = {}) => initialPosition(rules({ untilEnd, ...over }), start)
const run = (s: PartitionPosition, ...events: PositionEvent[]) => events.reduce((state, e) => reducePosition(state, e).state, s)
const effectsOf = (s: PartitionPosition, e: PositionEvent): readonly PositionEffect[] => reducePosition(s, e).effects
const outOfRange = (details: { logStartOffset?: number; logEndOffset?: number }) => new SamsaError('OFFSET_OUT_OF_RANGE', 'out of range', details)

describe('partition position', () => {
  it("a 'latest' start is asked for until the broker answers, then the answered offset is asked for on every re-subscribe", () => {
    const s = at(-1, false)
    expect(requestOffset(s)).toBe(-1)
    const answered = run(s, { kind: 'subscribed', offset: 7, highWatermark: 7 })
    expect(answered).toMatchObject({ position: 7, confirmed: true, endOffset: null })
    expect(requestOffset(answered)).toBe(7)
    // A later response (a re-subscribe after a reconnect) never moves the chosen start.
    expect(requestOffset(run(answered, { kind: 'subscribed', offset: 12, highWatermark: 12 }))).toBe(7)
  })

  it('a late response fixes the start without confirming; a current one ignores it once a start is fixed', () => {
    const late = run(at(-1, false), { kind: 'late-subscribed', offset: 4 })
    expect(late).toMatchObject({ position: 4, confirmed: false })
    expect(run(late, { kind: 'late-subscribed', offset: 9 }).position).toBe(4)
    expect(run(late, { kind: 'subscribed', offset: 4, highWatermark: 6 })).toMatchObject({ position: 4, confirmed: true })
  })

  it("until 'end' takes the end from the first confirmation only, and is at the end once the record before it is delivered", () => {
    let s = run(at(-2, true), { kind: 'subscribed', offset: 0, highWatermark: 2 })
    expect(s.endOffset).toBe(2)
    expect(beyondEnd(s, 1)).toBe(false)
    expect(beyondEnd(s, 2)).toBe(true)
    s = run(s, { kind: 'subscribed', offset: 0, highWatermark: 10 })
    expect(s.endOffset).toBe(2)
    expect(atEnd(s)).toBe(false)
    s = run(s, { kind: 'delivered', offset: 0, leaderEpoch: 1 }, { kind: 'delivered', offset: 1, leaderEpoch: 2 })
    expect(atEnd(s)).toBe(true)
    expect(s.positionEpoch).toBe(2)
    expect(atEnd(run(at(-1, false), { kind: 'subscribed', offset: 3, highWatermark: 3 }))).toBe(false)
  })

  it('seek to an offset fixes the position; to earliest/latest makes the start symbolic again; each re-subscribes and forgets the epoch', () => {
    const s = run(initialPosition(rules(), 5, { positionEpoch: 4 }), { kind: 'subscribed', offset: 5, highWatermark: 5 })
    expect(s.positionEpoch).toBe(4)
    const sought = reducePosition(s, { kind: 'seek', to: 2 })
    expect(sought.state).toMatchObject({ start: 2, position: 2, confirmed: true, positionEpoch: -1 })
    expect(sought.effects).toEqual([{ type: 'store', how: 'sought', offset: 2, leaderEpoch: -1 }, { type: 'resubscribe' }])
    expect(requestOffset(run(s, { kind: 'seek', to: 'earliest' }))).toBe(-2)
    expect(requestOffset(run(s, { kind: 'seek', to: 'latest' }))).toBe(-1)
    expect(effectsOf(s, { kind: 'seek', to: 'latest' })).toEqual([{ type: 'resubscribe' }])
  })

  it('a symbolic seek stores the offset the broker resolves for it, once', () => {
    const s = run(at(0, false), { kind: 'subscribed', offset: 0, highWatermark: 9 }, { kind: 'seek', to: 'latest' })
    const resolved = reducePosition(s, { kind: 'subscribed', offset: 9, highWatermark: 9 })
    expect(resolved.effects).toEqual([{ type: 'store', how: 'sought', offset: 9, leaderEpoch: -1 }])
    expect(effectsOf(resolved.state, { kind: 'subscribed', offset: 9, highWatermark: 9 })).toEqual([])
  })

  it('a stored position found truncated at start is reported as a truncation gap, and stored, when the broker resolves the start', () => {
    const s = initialPosition(rules({ reset: 'earliest' }), -2, { positionEpoch: 7, truncatedFrom: 50 })
    expect(s.positionEpoch).toBe(-1)
    const resolved = reducePosition(s, { kind: 'subscribed', offset: 40, highWatermark: 40 })
    expect(resolved.effects).toEqual([
      { type: 'gap', gap: { topic: 't', partition: 3, from: 40, to: 50, reason: 'truncation' } },
      { type: 'store', how: 'truncated', offset: 40, leaderEpoch: -1 },
    ])
    expect(resolved.state.truncatedFrom).toBeNull()
    // A seek before the start resolves replaces the stored position: nothing to report.
    expect(effectsOf(run(s, { kind: 'seek', to: 'earliest' }), { kind: 'subscribed', offset: 40, highWatermark: 40 })).toEqual([
      { type: 'store', how: 'sought', offset: 40, leaderEpoch: -1 },
    ])
  })

  it('out of range without a reset policy, or without the range in the answer, fails with the broker error', () => {
    const s = run(at(5, false), { kind: 'subscribed', offset: 5, highWatermark: 5 })
    const error = outOfRange({ logStartOffset: 10, logEndOffset: 20 })
    expect(effectsOf(s, { kind: 'out-of-range', error })).toEqual([{ type: 'fail', error }])
    const noRange = outOfRange({})
    expect(effectsOf(run(at(5, false, { reset: 'earliest' }), { kind: 'subscribed', offset: 5, highWatermark: 5 }), { kind: 'out-of-range', error: noRange })).toEqual([{ type: 'fail', error: noRange }])
  })

  it('out of range below the log start continues at the start (or end for reset latest) with a retention gap; above the end at the end with a truncation gap', () => {
    const below = run(at(5, false, { reset: 'earliest' }), { kind: 'subscribed', offset: 5, highWatermark: 5 })
    const retention = reducePosition(below, { kind: 'out-of-range', error: outOfRange({ logStartOffset: 10, logEndOffset: 20 }) })
    expect(retention.state).toMatchObject({ start: 10, position: 10, positionEpoch: -1 })
    expect(retention.effects.filter((e) => e.type !== 'warn')).toEqual([
      { type: 'store', how: 'skipped', offset: 10, leaderEpoch: -1 },
      { type: 'gap', gap: { topic: 't', partition: 3, from: 5, to: 10, reason: 'retention' } },
      { type: 'resubscribe' },
    ])
    const latest = run(at(5, false, { reset: 'latest' }), { kind: 'subscribed', offset: 5, highWatermark: 5 }, { kind: 'out-of-range', error: outOfRange({ logStartOffset: 10, logEndOffset: 20 }) })
    expect(latest.position).toBe(20)
    const above = run(at(30, false, { reset: 'earliest' }), { kind: 'subscribed', offset: 30, highWatermark: 30 })
    const truncated = reducePosition(above, { kind: 'out-of-range', error: outOfRange({ logStartOffset: 10, logEndOffset: 20 }) })
    expect(truncated.state.position).toBe(20)
    expect(truncated.effects.filter((e) => e.type !== 'warn')).toEqual([
      { type: 'store', how: 'truncated', offset: 20, leaderEpoch: -1 },
      { type: 'gap', gap: { topic: 't', partition: 3, from: 20, to: 30, reason: 'truncation' } },
      { type: 'resubscribe' },
    ])
  })

  it('a divergence fails with OFFSET_OUT_OF_RANGE without a reset policy; with one it continues at the epoch end under the answered epoch', () => {
    const divergence = { resume: 12, leaderEpoch: 3, gap: { topic: 't', partition: 3, from: 12, to: 15, reason: 'truncation' as const } }
    const [fail] = effectsOf(at(15, false), { kind: 'diverged', divergence })
    expect(fail).toMatchObject({ type: 'fail', error: { errorName: 'OFFSET_OUT_OF_RANGE', details: { divergentOffset: 12, leaderEpoch: 3 } } })
    const moved = reducePosition(at(15, false, { reset: 'earliest' }), { kind: 'diverged', divergence })
    expect(moved.state).toMatchObject({ position: 12, positionEpoch: 3 })
    expect(moved.effects.filter((e) => e.type !== 'warn')).toEqual([
      { type: 'store', how: 'truncated', offset: 12, leaderEpoch: 3 },
      { type: 'gap', gap: divergence.gap },
      { type: 'resubscribe' },
    ])
  })
})
