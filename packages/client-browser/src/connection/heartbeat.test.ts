import { SamsaError } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../ports.js'
import { ManualClock } from '../testing/manual-clock.js'
import { Heartbeat } from './heartbeat.js'

/** A heartbeat over a fake socket identity and pings the test answers by hand. */
function setup(intervalMs: number) {
  const clock = new ManualClock()
  const world: { socket: object | null; connected: boolean } = { socket: {}, connected: true }
  const pings: { answer: () => void; timeOut: () => void; fail: () => void }[] = []
  const missed: string[] = []
  const heartbeat = new Heartbeat({
    clock,
    log: silentLogger,
    intervalMs,
    timeoutMs: 50,
    socket: () => world.socket,
    connected: () => world.connected,
    ping: () =>
      new Promise((resolve, reject) => {
        pings.push({
          answer: () => resolve({}),
          timeOut: () => reject(new SamsaError('REQUEST_TIMED_OUT', 'no pong')),
          fail: () => reject(new SamsaError('NETWORK_EXCEPTION', 'lost')),
        })
      }),
    missed: (message) => void missed.push(message),
  })
  return { clock, world, pings, missed, heartbeat }
}
/** Lets the ping's then-handlers run (microtasks only; no time passes). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await Promise.resolve()
}

describe('Heartbeat', () => {
  it('pings an interval after the previous pong, and stops when told', async () => {
    const { clock, pings, heartbeat } = setup(100)
    heartbeat.start()
    clock.advance(99)
    expect(pings).toHaveLength(0)
    clock.advance(1)
    expect(pings).toHaveLength(1)
    clock.advance(500) // no second ping while the first is unanswered
    expect(pings).toHaveLength(1)
    pings[0]!.answer()
    await settle()
    clock.advance(100)
    expect(pings).toHaveLength(2)
    pings[1]!.fail() // a failure that is not a timeout is the connection's to handle: the next ping is scheduled
    await settle()
    heartbeat.stop()
    clock.advance(1000)
    expect(pings).toHaveLength(2)
    expect(clock.pendingTimers).toBe(0)
  })

  it('a ping without a pong in time reports the socket half-open', async () => {
    const { clock, pings, missed, heartbeat } = setup(100)
    heartbeat.start()
    clock.advance(100)
    pings[0]!.timeOut()
    await settle()
    expect(missed).toEqual(['no pong within 50 ms'])
  })

  it('probes at once with periodic pings off, once at a time, and only while connected', async () => {
    const { pings, world, heartbeat } = setup(0)
    heartbeat.start()
    heartbeat.probe('produce', 1000)
    heartbeat.probe('fetch', 1000)
    expect(pings).toHaveLength(1)
    pings[0]!.answer()
    await settle()
    world.connected = false
    heartbeat.probe('produce', 1000)
    expect(pings).toHaveLength(1)
  })

  it('an answer or a timeout for a socket that is no longer current changes nothing', async () => {
    const { pings, world, missed, heartbeat } = setup(0)
    heartbeat.probe('produce', 1000)
    world.socket = {}
    pings[0]!.timeOut()
    await settle()
    expect(missed).toEqual([])
    // The old ping is still counted as outstanding until the new socket resets the heartbeat.
    heartbeat.probe('produce', 1000)
    expect(pings).toHaveLength(1)
    heartbeat.reset()
    heartbeat.probe('produce', 1000)
    expect(pings).toHaveLength(2)
  })
})
