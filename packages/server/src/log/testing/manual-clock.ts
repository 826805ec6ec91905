/** @module ManualClock: a Clock for tests whose time moves only when advance() is called; timers fire in due order. */
import type { Clock, Timer } from '../../clock.js'

interface Scheduled {
  readonly id: number
  readonly dueMs: number
  readonly fn: () => void
}

export class ManualClock implements Clock {
  #nowMs: number
  #monotonicMs = 0
  #nextId = 1
  /** Pending timers; fired ones and cleared ones are removed. */
  #timers: Scheduled[] = []

  constructor(startMs = 1_700_000_000_000) {
    this.#nowMs = startMs
  }

  nowMs(): number {
    return this.#nowMs
  }

  monotonicMs(): number {
    return this.#monotonicMs
  }

  get pendingTimers(): number {
    return this.#timers.length
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const id = this.#nextId++
    this.#timers.push({ id, dueMs: this.#monotonicMs + Math.max(0, ms), fn })
    return id as unknown as Timer
  }

  clearTimeout(timer: Timer): void {
    this.#timers = this.#timers.filter((t) => t.id !== (timer as unknown as number))
  }

  /** Moves time forward by ms, firing every timer that comes due, in order. */
  advance(ms: number): void {
    const target = this.#monotonicMs + ms
    for (;;) {
      const due = this.#timers.filter((t) => t.dueMs <= target).sort((a, b) => a.dueMs - b.dueMs || a.id - b.id)[0]
      if (!due) break
      this.#timers = this.#timers.filter((t) => t !== due)
      this.#nowMs += due.dueMs - this.#monotonicMs
      this.#monotonicMs = due.dueMs
      due.fn()
    }
    this.#nowMs += target - this.#monotonicMs
    this.#monotonicMs = target
  }
}
