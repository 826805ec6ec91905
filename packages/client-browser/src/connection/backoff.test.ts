import { describe, expect, it } from 'vitest'
import { seededRandom } from '../testing/manual-clock.js'
import { backoffDelayMs } from './backoff.js'

describe('backoffDelayMs', () => {
  const policy = { baseMs: 100, capMs: 5_000 }

  it('stays within [0, min(cap, base · 2^attempt)) for every attempt', () => {
    const random = seededRandom(42)
    for (let attempt = 0; attempt < 40; attempt++) {
      for (let i = 0; i < 50; i++) {
        const d = backoffDelayMs(attempt, policy, random)
        expect(d).toBeGreaterThanOrEqual(0)
        expect(d).toBeLessThan(Math.min(policy.capMs, policy.baseMs * 2 ** attempt))
      }
    }
  })

  it('uses the whole range (full jitter), not a fixed fraction', () => {
    const random = seededRandom(7)
    const delays = Array.from({ length: 500 }, () => backoffDelayMs(10, policy, random))
    expect(Math.min(...delays)).toBeLessThan(500)
    expect(Math.max(...delays)).toBeGreaterThan(4_500)
  })

  it('is a pure function of attempt and random', () => {
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(400)
    expect(backoffDelayMs(0, policy, () => 0.999)).toBe(99)
    expect(backoffDelayMs(100, policy, () => 0.5)).toBe(2_500)
  })
})
