/**
 * @module Producer ids bound to the principal that got them, checkable by any broker without shared state.
 *
 * A bound id is `tag × 2^32 + base`: `base` is the id the allocator handed out (< 2^32; blocks come from the
 * controller in a cluster), `tag` (1 … 2^20 − 1) a hash of the principal (kind and name) and the base. Every broker
 * computes the same tag, so a produce to any partition leader, before or after any restart, is checked by
 * recomputing it: no binding table to replicate, persist or lose. Invariants: a bound id is ≥ 2^32 and < 2^52 (a
 * safe integer, an int64 on the wire); an id is bound to a principal only if its tag is that principal's for its
 * base; ids handed out with authorization off (tag 0) are bound to nobody.
 *
 * The tag is not a secret: it keeps a principal from using the ids it reads in other principals' batch headers
 * (its own tag differs from theirs), not from guessing; a principal able to choose its own name freely could
 * search ~2^20 names for one colliding with a given id. Names come from verified tokens, so that takes the issuer.
 */
import type { Principal } from '../principal.js'

/** Ids below this are bases (the allocator's ids); a bound id carries its tag above. */
export const PRODUCER_ID_BASE_SPAN = 2 ** 32
const TAG_MODULUS = 2 ** 20 - 1

/** The allocator's id inside a (bound or unbound) producer id. */
export function producerIdBase(producerId: number): number {
  return producerId % PRODUCER_ID_BASE_SPAN
}

/** FNV-1a (32 bits) over the UTF-16 code units of `text`. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

function tagOf(principal: Principal, base: number): number {
  return (fnv1a(`${principal.kind}\u0000${principal.name}\u0000${base}`) % TAG_MODULUS) + 1
}

/** The id `principal` is given for the allocator's id `producerId` (bound or not: its base is what counts). */
export function bindProducerId(principal: Principal, producerId: number): number {
  const base = producerIdBase(producerId)
  if (!Number.isSafeInteger(producerId) || producerId < 0) throw new RangeError(`producer id ${producerId} is not a non-negative safe integer`)
  return tagOf(principal, base) * PRODUCER_ID_BASE_SPAN + base
}

/** Whether `producerId` was bound to `principal` (always false for an unbound id). */
export function isProducerIdOf(principal: Principal, producerId: number): boolean {
  if (!Number.isSafeInteger(producerId) || producerId < PRODUCER_ID_BASE_SPAN) return false
  return bindProducerId(principal, producerId) === producerId
}
