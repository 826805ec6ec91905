import { SamsaError } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { formerLeaderError } from './leader-produce.js'

describe('formerLeaderError', () => {
  const outOfOrder = new SamsaError('OUT_OF_ORDER_SEQUENCE_NUMBER', 'expected 4')
  const sentTo = { leader: 1, leaderEpoch: 3 }

  it('lets OUT_OF_ORDER_SEQUENCE_NUMBER stand when the leader it came from still leads at that epoch, or none is known', () => {
    expect(formerLeaderError('t/0', outOfOrder, sentTo, { leader: 1, leaderEpoch: 3 })).toBe(outOfOrder)
    expect(formerLeaderError('t/0', outOfOrder, sentTo, null)).toBe(outOfOrder)
  })

  it('turns it into NOT_LEADER_OR_FOLLOWER (resent) when another broker or a newer epoch leads now', () => {
    for (const now of [{ leader: 2, leaderEpoch: 4 }, { leader: 1, leaderEpoch: 5 }]) {
      const e = formerLeaderError('t/0', outOfOrder, sentTo, now)
      expect(e.errorName).toBe('NOT_LEADER_OR_FOLLOWER')
      expect(e.retriable).toBe(true)
      expect(e.message).toContain(`t/0: broker 1 (leader epoch 3) answered OUT_OF_ORDER_SEQUENCE_NUMBER but broker ${now.leader} leads at epoch ${now.leaderEpoch}`)
    }
  })
})
