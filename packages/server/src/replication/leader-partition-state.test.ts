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

  it('a follower refused as ineligible (fenced) is proposed again only after a growing backoff, and at its next fetch once unfenced', () => {
    const s = state({ isr: [1, 2], expansionRetryMaxMs: 1_000 })
    const proposedAt: number[] = []
    // Broker 3 is caught up and fetches every 10 ms for 20 s while the controller keeps it fenced.
    let now = 0
    for (; now < 20_000; now += 10) {
      const p = s.onFollowerFetch(3, 10, 10, now)
      if (p === null) continue
      expect(p.newIsr).toEqual([1, 2, 3])
      proposedAt.push(now)
      s.ineligibleReplicaRefused(now) // the controller answers INELIGIBLE_REPLICA
    }
    // 100, 200, 400, 800 ms apart, then every 1 000 ms (the cap): 23 proposals in 20 s instead of one per fetch (2 000).
    expect(proposedAt.slice(0, 6)).toEqual([0, 100, 300, 700, 1_500, 2_500])
    expect(proposedAt.length).toBe(23)
    expect(s.pendingIsrChange).toBeNull()
    // Another follower's expansion is not held back by broker 3's refusals.
    expect(state({ isr: [1] }).onFollowerFetch(2, 10, 10, 0)).toEqual({ newIsr: [1, 2], partitionEpoch: 7, leaderEpoch: 3 })

    // The metadata image shows broker 3 unfenced: its very next fetch proposes it, within the backoff window.
    s.followerUnfenced(3)
    now += 10
    expect(s.onFollowerFetch(3, 10, 10, now)).toEqual({ newIsr: [1, 2, 3], partitionEpoch: 7, leaderEpoch: 3 })
    s.applyIsr([1, 2, 3], 8)
    expect(s.isr).toEqual([1, 2, 3])
  })

  it('a refused expansion starts its backoff afresh once the follower has joined and left again', () => {
    const s = state({ isr: [1, 2], expansionRetryMaxMs: 1_000 })
    for (const t of [0, 100, 300]) {
      expect(s.onFollowerFetch(3, 10, 10, t)).not.toBeNull()
      s.ineligibleReplicaRefused(t)
    }
    s.followerUnfenced(3)
    expect(s.onFollowerFetch(3, 10, 10, 310)).not.toBeNull()
    s.applyIsr([1, 2, 3], 8)
    s.applyIsr([1, 2], 9) // shrunk out again (e.g. fenced once more)
    expect(s.onFollowerFetch(3, 10, 10, 320)).not.toBeNull()
    s.ineligibleReplicaRefused(320)
    expect(s.onFollowerFetch(3, 10, 10, 419)).toBeNull()
    expect(s.onFollowerFetch(3, 10, 10, 420)).not.toBeNull() // 100 ms again, not the 800 ms the earlier refusals had reached
  })

  it('does not count a broker outside the replicas', () => {
    const s = state()
    expect(s.onFollowerFetch(9, 100, 20, 1)).toBeNull()
    expect(s.isReplica(9)).toBe(false)
  })
})
