import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ALARM_MIN_MS, AlarmClock } from './alarm-clock.js'

function storage() {
  const calls: (number | 'deleted')[] = []
  return {
    calls,
    setAlarm: async (ms: number) => void calls.push(ms),
    deleteAlarm: async () => void calls.push('deleted'),
  }
}

describe('AlarmClock', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    vi.setSystemTime(1_000_000)
  })
  afterEach(() => vi.useRealTimers())

  it('sets the alarm to the earliest long timer and runs the due ones in order when it fires', () => {
    const s = storage()
    const clock = new AlarmClock(s, (e) => { throw e }, 0)
    const ran: string[] = []
    clock.setTimeout(() => ran.push('late'), 60_000)
    clock.setTimeout(() => ran.push('early'), 5_000)
    const cleared = clock.setTimeout(() => ran.push('cleared'), 4_000)
    clock.clearTimeout(cleared)
    expect(s.calls).toEqual([1_060_000, 1_005_000, 1_004_000])
    vi.setSystemTime(1_005_000)
    clock.fire()
    expect(ran).toEqual(['early'])
    expect(s.calls.at(-1)).toBe(1_060_000)
    expect(clock.pendingAlarms).toBe(1)
  })

  it('keeps short timers off the alarm', () => {
    const s = storage()
    const clock = new AlarmClock(s, (e) => { throw e })
    let ran = false
    clock.setTimeout(() => (ran = true), ALARM_MIN_MS - 1)
    expect(s.calls).toEqual([])
    vi.advanceTimersByTime(ALARM_MIN_MS)
    expect(ran).toBe(true)
  })

  it('disarmed, sets no alarm until armed again, then the earliest', () => {
    const s = storage()
    const clock = new AlarmClock(s, (e) => { throw e }, 0)
    clock.setTimeout(() => {}, 10_000)
    clock.disarm()
    clock.setTimeout(() => {}, 2_000)
    expect(s.calls).toEqual([1_010_000, 'deleted'])
    clock.arm()
    expect(s.calls.at(-1)).toBe(1_002_000)
  })

  it('sets the alarm no sooner than minAlarmIntervalMs ahead; a busy object runs due timers itself', () => {
    const s = storage()
    const clock = new AlarmClock(s, (e) => { throw e }, 30_000)
    const ran: string[] = []
    clock.setTimeout(() => ran.push('tick'), 10_000)
    expect(s.calls).toEqual([1_030_000])
    vi.setSystemTime(1_010_000)
    clock.runDue()
    expect(ran).toEqual(['tick'])
    clock.setTimeout(() => ran.push('later'), 50_000)
    expect(s.calls).toEqual([1_030_000])
  })
})
