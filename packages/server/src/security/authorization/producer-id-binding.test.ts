import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Principal } from '../principal.js'
import { bindProducerId, isProducerIdOf, PRODUCER_ID_BASE_SPAN, producerIdBase } from './producer-id-binding.js'

const principal = fc.record({ kind: fc.constantFrom('user' as const, 'anonymous' as const), name: fc.string({ minLength: 1, maxLength: 20 }) }).map((p): Principal => ({ ...p, claims: {} }))
const base = fc.integer({ min: 0, max: PRODUCER_ID_BASE_SPAN - 1 })

describe('producer ids bound to principals', () => {
  it('a bound id keeps its base, is a safe integer ≥ 2^32, is bound to its principal, and binding is idempotent', () => {
    fc.assert(fc.property(principal, base, (p, b) => {
      const id = bindProducerId(p, b)
      expect(producerIdBase(id)).toBe(b)
      expect(id).toBeGreaterThanOrEqual(PRODUCER_ID_BASE_SPAN)
      expect(Number.isSafeInteger(id)).toBe(true)
      expect(id).toBeLessThan(2 ** 52)
      expect(isProducerIdOf(p, id)).toBe(true)
      expect(bindProducerId(p, id)).toBe(id)
    }))
  })

  it('an id given with authorization off (unbound), negative or unsafe is nobody\'s', () => {
    fc.assert(fc.property(principal, base, (p, b) => !isProducerIdOf(p, b)))
    const alice: Principal = { kind: 'user', name: 'alice', claims: {} }
    for (const id of [-1, 2 ** 53, 1.5, Number.NaN]) expect(isProducerIdOf(alice, id)).toBe(false)
  })

  it('another principal\'s id is almost never its own (the tag differs; a collision has odds of about 1 in 2^20)', () => {
    const alice: Principal = { kind: 'user', name: 'alice', claims: {} }
    let collisions = 0
    for (let b = 0; b < 20_000; b++) if (isProducerIdOf({ kind: 'user', name: `user-${b}`, claims: {} }, bindProducerId(alice, b))) collisions++
    expect(collisions).toBeLessThanOrEqual(1)
    // The kind is part of the binding: a user named "anonymous" does not hold anonymous's ids.
    expect(isProducerIdOf({ kind: 'user', name: 'anonymous', claims: {} }, bindProducerId({ kind: 'anonymous', name: 'anonymous', claims: {} }, 7))).toBe(false)
  })
})
