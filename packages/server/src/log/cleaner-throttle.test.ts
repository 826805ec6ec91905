import { describe, expect, it } from 'vitest'
import { CleanerThrottle } from './cleaner-throttle.js'
import { MemoryLogStorage } from './memory-log-storage.js'
import { makeLogEnv } from './partition-log.contract.js'
import { keyedBatch } from './testing/keyed-batches.js'
import { ManualClock } from './testing/manual-clock.js'

/** Lets every pending promise callback run (no time passes on the manual clock). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Moves the manual clock by ms in 10 ms steps, letting the throttled work run after each (as real time would). */
async function advanceBy(clock: ManualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    clock.advance(10)
    await settle()
  }
}

describe('CleanerThrottle', () => {
  it('lets through at most rate × elapsed bytes, on the injected clock', async () => {
    const clock = new ManualClock()
    const throttle = new CleanerThrottle(clock, 1000)
    let passed = 0
    const run = (async () => {
      for (let i = 0; i < 20; i++) {
        await throttle.take(250)
        passed += 250
      }
    })()
    for (let second = 1; second <= 5; second++) {
      await advanceBy(clock, 1000)
      expect(passed).toBeLessThanOrEqual(1000 * second)
      expect(passed).toBeGreaterThanOrEqual(1000 * second - 250)
    }
    await run
  })

  it('does not save an idle gap up as a burst', async () => {
    const clock = new ManualClock()
    const throttle = new CleanerThrottle(clock, 1000)
    clock.advance(60_000)
    let done = false
    void throttle.take(2000).then(() => (done = true))
    clock.advance(1999)
    await settle()
    expect(done).toBe(false)
    clock.advance(1)
    await settle()
    expect(done).toBe(true)
  })

  it('refuses a rate that is not above 0', () => {
    expect(() => new CleanerThrottle(new ManualClock(), 0)).toThrow(RangeError)
  })
})

describe('the cleaner under its throttle', () => {
  it('reads and writes no more than the throttle allows per injected second', async () => {
    const clock = new ManualClock()
    const env = makeLogEnv(new MemoryLogStorage(), { segmentBytes: 2000, indexIntervalBytes: 100 }, clock)
    const log = await env.open()
    for (let i = 0; i < 60; i++) await log.append(keyedBatch([[`k${i % 4}`, `value-${i}-${'x'.repeat(40)}`]]))
    const rate = 2000
    const throttle = new CleanerThrottle(clock, rate)
    let finished: object | null = null
    const pass = log.clean({ deleteRetentionMs: 1000, indexIntervalBytes: 100, throttle }).then((r) => (finished = r))
    const started = clock.monotonicMs()
    for (let second = 1; finished === null && second <= 60; second++) await advanceBy(clock, 1000)
    const r = await pass
    const seconds = (clock.monotonicMs() - started) / 1000
    expect(r.bytesRead).toBeGreaterThan(0)
    expect(r.segmentsCleaned).toBeGreaterThan(0)
    // Every byte read or written passed the throttle first: the pass took at least (bytes / rate) injected seconds.
    expect(seconds).toBeGreaterThanOrEqual(Math.floor((r.bytesRead + r.bytesWritten) / rate))
    await log.close()
  })
})
