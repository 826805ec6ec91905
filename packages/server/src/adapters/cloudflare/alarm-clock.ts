/**
 * @module AlarmClock: the Clock port inside a Durable Object. Short timers (below ALARM_MIN_MS: fetch waits, group
 * commit, request timeouts) are the runtime's setTimeout; longer ones (retention, the recovery point, hello and idle
 * timeouts, the log cleaner) wait on the object's single alarm (`ctx.storage.setAlarm`), which is set to the earliest
 * of them. A pending setTimeout keeps an object awake, an alarm does not: with only long timers pending the object
 * may hibernate, and the alarm wakes it. Invariants: while armed, the alarm is set whenever a long timer is pending,
 * never later than the earliest one or minAlarmIntervalMs from when it was set, whichever is later; `fire()` (the object's alarm() handler) runs every due timer once, in due order, and sets the alarm for the
 * rest; disarmed (an object with no socket, woken only by its alarm), no alarm is set until arm(). Timers
 * are memory: after an eviction the object's constructor starts the broker again, which sets its periodic timers anew.
 */
import type { Clock, Timer } from '../../clock.js'

/** Timers at least this long go through the alarm. */
export const ALARM_MIN_MS = 1_000
/**
 * The alarm is set at least this far ahead (default): periodic timers (the recovery point every 10 s, the log cleaner
 * every 15 s) would otherwise wake an idle object before the runtime ever evicts it. While the object is busy its due
 * timers run after each event (runDue), so only an idle object sees them late, by up to this much.
 */
export const DEFAULT_MIN_ALARM_INTERVAL_MS = 60_000

/** The part of a Durable Object's storage the clock uses. */
export interface AlarmStorage {
  setAlarm(scheduledTimeMs: number): Promise<void>
  deleteAlarm(): Promise<void>
}

interface LongTimer {
  readonly dueMs: number
  readonly fn: () => void
}

export class AlarmClock implements Clock {
  readonly #storage: AlarmStorage
  readonly #long = new Map<object, LongTimer>()
  readonly #short = new Map<object, ReturnType<typeof setTimeout>>()
  #alarmMs: number | null = null
  /** Whether long timers set the alarm (disarm(): an idle object sleeps until its next request). */
  #armed = true
  readonly #onError: (e: unknown) => void

  readonly #minAlarmIntervalMs: number

  constructor(storage: AlarmStorage, onError: (e: unknown) => void, minAlarmIntervalMs = DEFAULT_MIN_ALARM_INTERVAL_MS) {
    this.#storage = storage
    this.#onError = onError
    this.#minAlarmIntervalMs = minAlarmIntervalMs
  }

  nowMs(): number {
    return Date.now()
  }

  monotonicMs(): number {
    return performance.now()
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const key = {}
    if (ms < ALARM_MIN_MS) {
      this.#short.set(key, globalThis.setTimeout(() => {
        this.#short.delete(key)
        fn()
      }, ms))
    } else {
      this.#long.set(key, { dueMs: Date.now() + ms, fn })
      this.#schedule()
    }
    return timerOf(key)
  }

  clearTimeout(timer: Timer): void {
    const key: object = timer
    const short = this.#short.get(key)
    if (short !== undefined) {
      globalThis.clearTimeout(short)
      this.#short.delete(key)
    }
    this.#long.delete(key)
  }

  /** The object's alarm(): runs every due long timer, then sets the alarm for the earliest left. */
  fire(): void {
    this.#alarmMs = null
    this.runDue()
    this.#schedule()
  }

  /** Runs every due long timer (after any event of a busy object: no alarm needed for those). */
  runDue(): void {
    const now = Date.now()
    const due = [...this.#long].filter(([, t]) => t.dueMs <= now).sort((a, b) => a[1].dueMs - b[1].dueMs)
    for (const [key, t] of due) {
      if (!this.#long.delete(key)) continue // cleared by an earlier one
      try {
        t.fn()
      } catch (e) {
        this.#onError(e)
      }
    }
  }

  /** Long timers set the alarm again (a request or message arrived), the earliest now. */
  arm(): void {
    if (this.#armed) return
    this.#armed = true
    this.#schedule()
  }

  /** Long timers stop setting the alarm and the one set is removed: the object sleeps until a request wakes it. */
  disarm(): void {
    this.#armed = false
    this.#alarmMs = null
    this.#storage.deleteAlarm().catch(this.#onError)
  }

  /** Long timers pending (hibernation is possible when no short one is). */
  get pendingAlarms(): number {
    return this.#long.size
  }

  #schedule(): void {
    if (!this.#armed) return
    let earliest = Infinity
    for (const t of this.#long.values()) earliest = Math.min(earliest, t.dueMs)
    if (earliest === Infinity) return
    const at = Math.max(earliest, Date.now() + this.#minAlarmIntervalMs)
    if (this.#alarmMs !== null && this.#alarmMs <= at) return // an earlier alarm fires first and reschedules
    this.#alarmMs = at
    this.#storage.setAlarm(at).catch(this.#onError)
  }
}

/** A Timer is an opaque handle: the map key itself. */
function timerOf(key: object): Timer {
  return key as Timer
}
