import { describe, expect, it } from 'vitest'
import { KeyedCounts, KeyedRate, TokenBucket } from './token-bucket.js'

describe('TokenBucket', () => {
  it('lets a burst through, then throttles by the time the debt takes to repay at the rate', () => {
    const b = new TokenBucket({ ratePerSecond: 1000, burstMs: 1000 }, 0)
    expect(b.record(1000, 0)).toBe(0)
    // 500 bytes of debt at 1,000 bytes/s: 500 ms.
    expect(b.record(500, 0)).toBe(500)
    expect(b.record(0, 250)).toBe(250)
    expect(b.record(0, 500)).toBe(0)
  })

  it('never holds more than its burst, however long it idles', () => {
    const b = new TokenBucket({ ratePerSecond: 100, burstMs: 2000 }, 0)
    expect(b.tokens(1_000_000)).toBe(200)
    expect(b.full(1_000_000)).toBe(true)
    b.record(1, 1_000_000)
    expect(b.full(1_000_000)).toBe(false)
    expect(b.full(1_000_010)).toBe(true)
  })

  it('tryTake spends only when nothing is left in debt, and says when it could', () => {
    const b = new TokenBucket({ ratePerSecond: 1, burstMs: 2000 }, 0)
    expect(b.tryTake(1, 0)).toBe(0)
    expect(b.tryTake(1, 0)).toBe(0)
    expect(b.tryTake(1, 0)).toBe(1000)
    expect(b.tokens(0)).toBe(0)
    expect(b.tryTake(1, 1000)).toBe(0)
  })

  it('a sender that waits out every throttle achieves the rate (plus the burst) over a long window', () => {
    const rate = 10_000
    const b = new TokenBucket({ ratePerSecond: rate, burstMs: 1000 }, 0)
    let now = 0
    let sent = 0
    while (now < 60_000) {
      sent += 3_000
      now += b.record(3_000, now)
    }
    const achieved = (sent - rate) / (now / 1000)
    expect(achieved).toBeGreaterThan(rate * 0.95)
    expect(achieved).toBeLessThan(rate * 1.06)
  })

  it('refuses a rate or burst that is not positive', () => {
    expect(() => new TokenBucket({ ratePerSecond: 0, burstMs: 1000 }, 0)).toThrow(RangeError)
    expect(() => new TokenBucket({ ratePerSecond: 1, burstMs: 0 }, 0)).toThrow(RangeError)
  })
})

describe('KeyedRate', () => {
  it('keeps one bucket per key', () => {
    const r = new KeyedRate({ ratePerSecond: 100, burstMs: 1000 }, 10)
    expect(r.record('a', 150, 0)).toBe(500)
    expect(r.record('b', 100, 0)).toBe(0)
    expect(r.size).toBe(2)
  })

  it('forgets the buckets of idle keys once they are back at their burst', () => {
    const r = new KeyedRate({ ratePerSecond: 100, burstMs: 1000 }, 1000)
    for (let i = 0; i < 500; i++) r.record(`ip-${i}`, 50, 0)
    expect(r.size).toBe(500)
    // 0.5 s later every bucket has refilled its 50 tokens: the next use sweeps them (a sweep runs at most once per burst).
    r.record('other', 1, 1000)
    expect(r.size).toBe(1)
  })

  it('holds at most maxKeys buckets, dropping the least recently used when none is idle', () => {
    const r = new KeyedRate({ ratePerSecond: 1, burstMs: 1000 }, 3)
    r.record('a', 5, 0)
    r.record('b', 5, 0)
    r.record('c', 5, 0)
    r.record('a', 0, 1)
    r.record('d', 5, 2)
    expect(r.size).toBe(3)
    // b was the least recently used: a fresh bucket for it again.
    expect(r.record('b', 1, 3)).toBe(0)
    expect(r.record('a', 0, 3)).toBeGreaterThan(0)
  })
})

describe('KeyedCounts', () => {
  it('counts up to max per key and forgets a key at 0', () => {
    const c = new KeyedCounts()
    expect(c.tryAcquire('x', 2)).toBe(true)
    expect(c.tryAcquire('x', 2)).toBe(true)
    expect(c.tryAcquire('x', 2)).toBe(false)
    expect(c.tryAcquire('y', 2)).toBe(true)
    expect(c.count('x')).toBe(2)
    c.release('x')
    c.release('x')
    c.release('y')
    expect(c.size).toBe(0)
  })
})
