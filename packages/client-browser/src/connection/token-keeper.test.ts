import { describe, expect, it } from 'vitest'
import { silentLogger } from '../ports.js'
import { ManualClock } from '../testing/manual-clock.js'
import { TokenKeeper, refreshLeadMs, tokenExpiresAtMs } from './token-keeper.js'

const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
/** Moves the clock, then lets the refresh's promises (token function, reauthenticate) settle. */
const advance = async (clock: ManualClock, ms: number) => {
  clock.advance(ms)
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0))
}
const jwt = (claims: object) => `${b64({ alg: 'HS256' })}.${b64(claims)}.sig`

describe('token-keeper', () => {
  it("reads a token's exp without verifying; none for a token without one or a non-JWT", () => {
    expect(tokenExpiresAtMs(jwt({ sub: 'ä', exp: 1_800_000_000 }))).toBe(1_800_000_000_000)
    expect(tokenExpiresAtMs(jwt({ sub: 'a' }))).toBeUndefined()
    expect(tokenExpiresAtMs('opaque')).toBeUndefined()
    expect(tokenExpiresAtMs('a.%%%.c')).toBeUndefined()
  })

  it('refreshes a fifth of the remaining life early, within 1 s … 60 s', () => {
    expect(refreshLeadMs(2_000)).toBe(1_000)
    expect(refreshLeadMs(100_000)).toBe(20_000)
    expect(refreshLeadMs(3_600_000)).toBe(60_000)
  })

  it('with a function: reauthenticates before expiry, and again before the next one; stopped, it does nothing', async () => {
    const clock = new ManualClock(1_000_000_000_000)
    const sent: string[] = []
    let n = 0
    const next = async () => jwt({ sub: 'a', n: ++n, exp: Math.floor(clock.now() / 1000) + 100 })
    const keeper = new TokenKeeper(next, { clock, log: silentLogger, reauthenticate: async (t) => (sent.push(t), (tokenExpiresAtMs(t) ?? 0)) })
    const first = await keeper.forHello()
    keeper.started(first)
    await advance(clock, 79_000)
    expect(sent).toHaveLength(0)
    await advance(clock, 1_000)
    expect(sent).toHaveLength(1)
    await advance(clock, 80_000)
    expect(sent).toHaveLength(2)
    keeper.stopped()
    await advance(clock, 200_000)
    expect(sent).toHaveLength(2)
  })

  it('a fixed string is sent as is and never refreshed', async () => {
    const clock = new ManualClock(1_000_000_000_000)
    const token = jwt({ sub: 'a', exp: 1_000_000_010 })
    let reauths = 0
    const keeper = new TokenKeeper(token, { clock, log: silentLogger, reauthenticate: async () => ++reauths })
    expect(keeper.forHello()).toBe(token)
    keeper.started(token)
    await advance(clock, 60_000)
    expect(reauths).toBe(0)
  })
})
