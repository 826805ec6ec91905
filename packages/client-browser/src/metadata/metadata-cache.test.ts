import type { MetadataResponse, PartitionMetadata } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import type { BrokerPool } from '../connection/broker-pool.js'
import { ManualClock } from '../testing/manual-clock.js'
import { MetadataCache } from './metadata-cache.js'

/** The metadata answers of a cluster (the pool's transport is not what these tests are about). */
function cache(opts: { olderEpochHoldMs?: number } = {}) {
  const clock = new ManualClock()
  let answer: MetadataResponse = { brokers: [], topics: [] }
  const pool = {
    metadataConnection: () => ({ request: () => Promise.resolve(answer) }),
    learn: () => {},
    knownBrokers: 1, // a single broker's UNKNOWN_TOPIC_OR_PARTITION is reported at once
  } as unknown as BrokerPool
  const metadata = new MetadataCache(pool, { clock, random: () => 0.5, ...opts })
  return {
    clock,
    metadata,
    /** The next answer: topic `t` with these (leader, epoch) per partition, or unknown. */
    answer(leaders: [leader: number, leaderEpoch: number][] | 'unknown') {
      const partitions: PartitionMetadata[] = leaders === 'unknown' ? [] : leaders.map(([leader, leaderEpoch], partition) => ({ partition, leader, leaderEpoch, logStartOffset: 0, highWatermark: 0, logEndOffset: 0 }))
      answer = { brokers: [1, 2, 3].map((brokerId) => ({ brokerId, url: `ws://127.0.0.1:${brokerId}` })), topics: [{ name: 't', errorCode: leaders === 'unknown' ? 3 : 0, partitions }] }
    },
    /** (leader, epoch) per partition after a fresh lookup. */
    async leaders(): Promise<[number, number][]> {
      metadata.invalidate('t')
      return (await metadata.topic('t')).partitions.map((p) => [p.leader, p.leaderEpoch])
    },
  }
}

describe('MetadataCache leader epochs', () => {
  it('an answer at an older leader epoch does not replace the newer leader; equal and newer epochs do', async () => {
    const c = cache()
    c.answer([[2, 5], [1, 3]])
    expect(await c.leaders()).toEqual([[2, 5], [1, 3]])
    c.answer([[1, 4], [3, 3]]) // a node restarted on old metadata: partition 0 older, partition 1 same epoch
    expect(await c.leaders()).toEqual([[2, 5], [3, 3]])
    expect(await c.metadata.leader('t', 0)).toEqual({ leader: 2, leaderEpoch: 5 })
    c.answer([[3, 6], [3, 3]])
    expect(await c.leaders()).toEqual([[3, 6], [3, 3]])
  })

  it('a different partition count or an unknown topic starts the epochs anew (the topic was re-created)', async () => {
    const c = cache()
    c.answer([[2, 5]])
    await c.leaders()
    c.answer([[1, 0], [2, 0]])
    expect(await c.leaders()).toEqual([[1, 0], [2, 0]])
    c.answer([[3, 7], [3, 7]])
    await c.leaders()
    c.answer('unknown')
    c.metadata.invalidate('t')
    await expect(c.metadata.topic('t')).rejects.toMatchObject({ errorName: 'UNKNOWN_TOPIC_OR_PARTITION' })
    c.answer([[1, 0], [2, 0]])
    expect(await c.leaders()).toEqual([[1, 0], [2, 0]])
  })

  it('older epochs answered without a break for olderEpochHoldMs are believed (re-created with the same partition count)', async () => {
    const c = cache({ olderEpochHoldMs: 1_000 })
    c.answer([[2, 5]])
    await c.leaders()
    c.answer([[1, 0]])
    expect(await c.leaders()).toEqual([[2, 5]])
    c.clock.advance(999)
    expect(await c.leaders()).toEqual([[2, 5]])
    c.clock.advance(1)
    expect(await c.leaders()).toEqual([[1, 0]])
  })
})
