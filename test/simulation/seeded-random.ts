/**
 * @module A small seeded PRNG (mulberry32) for the deterministic simulation: one seed reproduces a whole run.
 * Every random choice of a run draws from one SeededRandom, in a fixed order.
 */
export class SeededRandom {
  #state: number

  constructor(seed: number) {
    this.#state = seed >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1))
      const t = items[i]!
      items[i] = items[j]!
      items[j] = t
    }
    return items
  }

  /** An independent stream derived from this one (e.g. a node's election-timeout randomness). */
  fork(): SeededRandom {
    return new SeededRandom(Math.floor(this.next() * 4294967296))
  }
}
