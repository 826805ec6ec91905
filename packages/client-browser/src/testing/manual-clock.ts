/** @module A manual clock for tests: time moves only when `advance(ms)` is called; timers fire in due order. */
import type { Clock, TimerHandle } from '../ports.js'

interface ManualTimer {
  readonly id: number
  readonly dueMs: number
  readonly fn: () => void
}

export class ManualClock implements Clock {
  #nowMs: number
  #nextId = 1
  /** Pending timers; fired ones and cleared ones are removed. */
  #timers = new Map<number, ManualTimer>()

  constructor(startMs = 1_700_000_000_000) {
    this.#nowMs = startMs
  }

  now(): number {
    return this.#nowMs
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++
    this.#timers.set(id, { id, dueMs: this.#nowMs + Math.max(0, ms), fn })
    return id
  }

  clearTimeout(timer: TimerHandle): void {
    this.#timers.delete(timer as number)
  }

  get pendingTimers(): number {
    return this.#timers.size
  }

  /** Moves time forward, firing every timer that falls due, earliest first (ties by creation order). */
  advance(ms: number): void {
    const target = this.#nowMs + ms
    for (;;) {
      let next: ManualTimer | undefined
      for (const t of this.#timers.values()) if (t.dueMs <= target && (next === undefined || t.dueMs < next.dueMs)) next = t
      if (next === undefined) break
      this.#timers.delete(next.id)
      this.#nowMs = next.dueMs
      next.fn()
    }
    this.#nowMs = target
  }
}

/** A deterministic random in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
