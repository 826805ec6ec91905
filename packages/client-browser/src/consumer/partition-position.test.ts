import { describe, expect, it } from 'vitest'
import { atEnd, beyondEnd, initialPosition, reducePosition, requestOffset, type PartitionPosition, type PositionEvent } from './partition-position.js'

const run = (s: PartitionPosition, ...events: PositionEvent[]) => events.reduce(reducePosition, s)

describe('partition position', () => {
  it("a 'latest' start is asked for until the broker answers, then the answered offset is asked for on every re-subscribe", () => {
    const s = initialPosition(-1, false)
    expect(requestOffset(s)).toBe(-1)
    const answered = run(s, { kind: 'subscribed', offset: 7, highWatermark: 7 })
    expect(answered).toMatchObject({ position: 7, confirmed: true, endOffset: null })
    expect(requestOffset(answered)).toBe(7)
    // A later response (a re-subscribe after a reconnect) never moves the chosen start.
    expect(requestOffset(run(answered, { kind: 'subscribed', offset: 12, highWatermark: 12 }))).toBe(7)
  })

  it('a late response fixes the start without confirming; a current one ignores it once a start is fixed', () => {
    const late = run(initialPosition(-1, false), { kind: 'late-subscribed', offset: 4 })
    expect(late).toMatchObject({ position: 4, confirmed: false })
    expect(run(late, { kind: 'late-subscribed', offset: 9 }).position).toBe(4)
    expect(run(late, { kind: 'subscribed', offset: 4, highWatermark: 6 })).toMatchObject({ position: 4, confirmed: true })
  })

  it("until 'end' takes the end from the first confirmation only, and is at the end once the record before it is delivered", () => {
    let s = run(initialPosition(-2, true), { kind: 'subscribed', offset: 0, highWatermark: 2 })
    expect(s.endOffset).toBe(2)
    expect(beyondEnd(s, 1)).toBe(false)
    expect(beyondEnd(s, 2)).toBe(true)
    s = run(s, { kind: 'subscribed', offset: 0, highWatermark: 10 })
    expect(s.endOffset).toBe(2)
    expect(atEnd(s)).toBe(false)
    s = run(s, { kind: 'delivered', offset: 0 }, { kind: 'delivered', offset: 1 })
    expect(atEnd(s)).toBe(true)
    expect(atEnd(run(initialPosition(-1, false), { kind: 'subscribed', offset: 3, highWatermark: 3 }))).toBe(false)
  })

  it('seek to an offset fixes the position; to earliest/latest makes the start symbolic again; reset continues at the offset', () => {
    const s = run(initialPosition(-1, false), { kind: 'subscribed', offset: 5, highWatermark: 5 })
    expect(run(s, { kind: 'seek', to: 2 })).toMatchObject({ start: 2, position: 2, confirmed: true })
    expect(requestOffset(run(s, { kind: 'seek', to: 'earliest' }))).toBe(-2)
    expect(requestOffset(run(s, { kind: 'seek', to: 'latest' }))).toBe(-1)
    expect(run(s, { kind: 'reset', offset: 40 }).position).toBe(40)
  })
})
