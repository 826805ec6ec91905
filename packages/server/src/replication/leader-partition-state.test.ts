import { describe, expect, it } from 'vitest'
import { LeaderPartitionState } from './leader-partition-state.js'

const state = (over: Partial<ConstructorParameters<typeof LeaderPartitionState>[0]> = {}) =>
  new LeaderPartitionState({ localBrokerId: 1, leaderEpoch: 3, partitionEpoch: 7, replicas: [1, 2, 3], isr: [1, 2, 3], leaderEpochStartOffset: 10, highWatermark: 10, replicaLagTimeMaxMs: 1_000, nowMs: 0, ...over })

describe('LeaderPartitionState', () => {
  it('the high watermark is the minimum log end over the ISR and never moves back', () => {
    const s = state()
    expect(s.updateHighWatermark(20)).toBe(10) // followers have not fetched yet
    s.onFollowerFetch(2, 15, 20, 1)
    expect(s.updateHighWatermark(20)).toBe(10)
    s.onFollowerFetch(3, 18, 20, 1)
    expect(s.updateHighWatermark(20)).toBe(15)
    expect(s.updateHighWatermark(12)).toBe(15) // the leader's durable end bounds it, but it never falls
    s.onFollowerFetch(2, 20, 20, 2)
    s.onFollowerFetch(3, 20, 20, 2)
    expect(s.updateHighWatermark(20)).toBe(20)
  })

  it('a follower not caught up within replicaLagTimeMaxMs is proposed out of the ISR; one fetching at the log end stays', () => {
    const s = state()
    s.onFollowerFetch(2, 20, 20, 500)
    s.onFollowerFetch(3, 12, 20, 500)
    expect(s.maybeShrinkIsr(1_000)).toBeNull()
    s.onFollowerFetch(2, 20, 20, 1_400)
    expect(s.maybeShrinkIsr(1_001)).toEqual({ newIsr: [1, 2], partitionEpoch: 7, leaderEpoch: 3 })
    expect(s.maybeShrinkIsr(5_000)).toBeNull() // one change in flight at a time
    // The removed replica still holds the high watermark back until the controller commits the shrink.
    expect(s.updateHighWatermark(20)).toBe(12)
    s.applyIsr([1, 2], 8)
    expect(s.updateHighWatermark(20)).toBe(20)
  })

  it("a follower's fetch at or past the leader's end as of its previous fetch counts as caught up at that previous fetch", () => {
    const s = state()
    s.onFollowerFetch(2, 10, 20, 900) // behind
    s.onFollowerFetch(2, 20, 30, 1_900) // reached what the leader had at 900, not what it has now
    s.onFollowerFetch(3, 30, 30, 1_900)
    expect(s.maybeShrinkIsr(1_899)).toBeNull() // caught up at 900; without the rule the last catch-up would be 0
    expect(s.maybeShrinkIsr(1_901)).toEqual({ newIsr: [1, 3], partitionEpoch: 7, leaderEpoch: 3 })
  })

  it('a follower rejoins once it holds the high watermark and this epoch\'s start; the pending addition holds the high watermark back', () => {
    const s = state({ isr: [1, 2], highWatermark: 10, leaderEpochStartOffset: 15 })
    s.onFollowerFetch(2, 30, 30, 1)
    expect(s.updateHighWatermark(30)).toBe(30)
    expect(s.onFollowerFetch(3, 14, 30, 2)).toBeNull() // below the high watermark
    const proposal = s.onFollowerFetch(3, 30, 40, 3)
    expect(proposal).toEqual({ newIsr: [1, 2, 3], partitionEpoch: 7, leaderEpoch: 3 })
    s.onFollowerFetch(2, 40, 40, 4)
    expect(s.updateHighWatermark(40)).toBe(30) // replica 3 (being added) is at 30
    s.applyIsr([1, 2, 3], 8)
    expect(s.isr).toEqual([1, 2, 3])
    expect(s.pendingIsrChange).toBeNull()
  })

  it('does not count a broker outside the replicas', () => {
    const s = state()
    expect(s.onFollowerFetch(9, 100, 20, 1)).toBeNull()
    expect(s.isReplica(9)).toBe(false)
  })
})
