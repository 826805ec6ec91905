/** @module The real clock for Node. */
import { performance } from 'node:perf_hooks'
import type { Clock, Timer } from '../../clock.js'

export const nodeClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms)
    t.unref?.()
    return t as unknown as Timer
  },
  clearTimeout: (t) => clearTimeout(t as unknown as NodeJS.Timeout),
}
