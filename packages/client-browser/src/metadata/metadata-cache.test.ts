import type { MetadataRequest, MetadataResponse, PartitionMetadata } from '@samsa/shared'
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
    answer(leaders: [leader: number, leaderEpoch: number][] | 'unknown' | 'refused') {
      const partitions: PartitionMetadata[] = leaders === 'unknown' || leaders === 'refused' ? [] : leaders.map(([leader, leaderEpoch], partition) => ({ partition, leader, leaderEpoch, logStartOffset: 0, highWatermark: 0, logEndOffset: 0 }))
      answer = { brokers: [1, 2, 3].map((brokerId) => ({ brokerId, url: `ws://127.0.0.1:${brokerId}` })), topics: [{ name: 't', errorCode: leaders === 'unknown' ? 3 : leaders === 'refused' ? 29 : 0, partitions }] }
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

  it('a topic error of a metadata answer (which carries no message) is worded from its name', async () => {
    const c = cache()
    c.answer('unknown')
    await expect(c.metadata.topic('t')).rejects.toMatchObject({ errorName: 'UNKNOWN_TOPIC_OR_PARTITION', message: 'topic "t" does not exist' })
    c.answer('refused')
    await expect(c.metadata.topic('t')).rejects.toMatchObject({
      errorName: 'TOPIC_AUTHORIZATION_FAILED',
      retriable: false,
      message: 'topic "t": topic authorization failed (TOPIC_AUTHORIZATION_FAILED)',
    })
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

describe('MetadataCache leader watch', () => {
  const answer = (leader: number, leaderEpoch: number): MetadataResponse => ({
    brokers: [1, 2, 3].map((brokerId) => ({ brokerId, url: `ws://127.0.0.1:${brokerId}` })),
    topics: [{ name: 't', errorCode: 0, partitions: [{ partition: 0, leader, leaderEpoch, logStartOffset: 0, highWatermark: 0, logEndOffset: 0 }] }],
  })
  interface Asked {
    readonly turn: number
    readonly avoid: number[]
    readonly wait: MetadataRequest['wait']
    readonly answer: (r: MetadataResponse) => void
    readonly fail: (e: Error) => void
  }

  /** Lookups answer leader 1 at epoch 3 until `elect` (leader 2, epoch 4); each watch request waits for the test to answer it. */
  function cluster(opts: { leaderCheckMs?: number; brokers?: number } = {}) {
    const clock = new ManualClock()
    let current = answer(1, 3)
    const asked: Asked[] = []
    const brokerIds = Array.from({ length: opts.brokers ?? 3 }, (_, i) => i + 1)
    const pool = {
      metadataConnection: () => ({ request: () => Promise.resolve(current) }),
      // The turn-th broker (the pool's own choice among `avoid` is not what these tests are about).
      metadataConnectionInTurn: (turn: number, avoid?: ReadonlySet<number>) => ({
        helloResponse: { brokerId: brokerIds[turn % brokerIds.length] },
        request: (_ex: unknown, q: MetadataRequest) => new Promise<MetadataResponse>((resolve, reject) => asked.push({ turn, avoid: [...(avoid ?? [])].sort(), wait: q.wait, answer: resolve, fail: reject })),
      }),
      learn: () => {},
      knownBrokers: brokerIds.length,
      brokerIds,
    } as unknown as BrokerPool
    const metadata = new MetadataCache(pool, { clock, random: () => 0.5, leaderCheckMs: opts.leaderCheckMs ?? 1_000, leaderWatchWaitMs: 5_000 })
    return { clock, metadata, asked, elect: () => void (current = answer(2, 4)), current: () => current }
  }
  const flush = async () => {
    for (let i = 0; i < 10; i++) await Promise.resolve()
  }

  it('holds two watches, away from the partition\'s leader and from each other; an answer naming a newer leader tells the waiter and reroutes lookups', async () => {
    const c = cluster()
    expect(await c.metadata.leader('t', 0)).toEqual({ leader: 1, leaderEpoch: 3 })
    let moved = 0
    c.metadata.onLeaderMoved('t', 0, 3, () => moved++)
    await flush()
    const wait = { maxWaitMs: 5_000, leaderEpochs: [[3]] }
    // Lane 0 avoids the leader (1); lane 1 avoids the leader and lane 0's broker (turn 0: broker 1).
    expect(c.asked.map(({ turn, avoid, wait }) => ({ turn, avoid, wait }))).toEqual([{ turn: 0, avoid: [1], wait }, { turn: 1, avoid: [1], wait }])
    c.elect()
    c.asked[1]!.answer(c.current())
    await flush()
    expect(moved).toBe(1)
    expect(await c.metadata.leader('t', 0)).toEqual({ leader: 2, leaderEpoch: 4 })
    // One-shot, and nothing is watched any more: no further watch requests, however long.
    c.clock.advance(60_000)
    await flush()
    expect(moved).toBe(1)
    expect(c.asked).toHaveLength(2)
  })

  it('a watch answered with nothing new is asked again of the next broker: at once after its full wait, after a leader-check pause when early', async () => {
    const c = cluster({ brokers: 2 }) // one lane
    await c.metadata.leader('t', 0)
    c.metadata.onLeaderMoved('t', 0, 3, () => {})
    await flush()
    c.clock.advance(5_000) // the broker held it for its whole wait
    c.asked[0]!.answer(c.current())
    await flush()
    expect(c.asked.map((a) => a.turn)).toEqual([0, 1])
    c.asked[1]!.answer(c.current()) // early, and nothing moved: a stale broker, or one that does not hold waits
    await flush()
    expect(c.asked).toHaveLength(2)
    c.clock.advance(999)
    await flush()
    expect(c.asked).toHaveLength(2)
    c.clock.advance(1)
    await flush()
    expect(c.asked.map((a) => a.turn)).toEqual([0, 1, 2])
    c.metadata.close()
  })

  it('a broker that fails the watch is passed over at once; after a whole round of failures the next round waits a leader-check period', async () => {
    const c = cluster({ brokers: 2 }) // one lane
    await c.metadata.leader('t', 0)
    c.metadata.onLeaderMoved('t', 0, 3, () => {})
    for (let i = 0; i < 2; i++) {
      await flush()
      c.asked[i]!.fail(new Error('REQUEST_TIMED_OUT'))
    }
    await flush()
    expect(c.asked.map((a) => a.turn)).toEqual([0, 1])
    c.clock.advance(1_000)
    await flush()
    expect(c.asked.map((a) => a.turn)).toEqual([0, 1, 2])
    c.metadata.close()
  })

  it('a request waiting for a leader that cannot be reached is routed to the newer leader as soon as the watch hears of it', async () => {
    const clock = new ManualClock()
    let current = answer(1, 3)
    const held: ((r: MetadataResponse) => void)[] = []
    const down = { state: { status: 'reconnecting' }, connect: () => {}, on: () => () => {} } // broker 1 was killed
    const two = { state: { status: 'connected' } }
    const pool = {
      bootstrap: null,
      metadataConnection: () => ({ request: () => Promise.resolve(current) }),
      metadataConnectionInTurn: () => ({ request: () => new Promise<MetadataResponse>((resolve) => held.push(resolve)) }),
      connectionFor: (id: number) => (id === 1 ? down : two),
      learn: () => {},
      knownBrokers: 3,
    } as unknown as BrokerPool
    const metadata = new MetadataCache(pool, { clock, random: () => 0.5, leaderWaitMs: 60_000, leaderWatchWaitMs: 5_000 })
    let routed: unknown = null
    void metadata.connectionFor('t', 0).then((c) => (routed = c))
    for (let i = 0; i < 10; i++) await Promise.resolve()
    expect(held).toHaveLength(2) // the wait for broker 1 started the leader watch (two lanes: three brokers)
    current = answer(2, 4)
    held[0]!(current)
    for (let i = 0; i < 20; i++) await Promise.resolve()
    expect(routed).toBe(two) // long before leaderWaitMs
    metadata.close()
  })

  it('a waiter registered after the cache already saw a newer epoch is told at once; a cancelled one never is', async () => {
    const c = cluster()
    c.elect()
    await c.metadata.leader('t', 0)
    let late = 0
    c.metadata.onLeaderMoved('t', 0, 3, () => late++)
    const cancel = c.metadata.onLeaderMoved('t', 0, 3, () => late += 10)
    cancel()
    await flush()
    expect(late).toBe(1)
    expect(c.asked).toHaveLength(0)
    c.metadata.close()
  })

  it('a failure at an epoch the cache already moved past keeps the newer answer; at the current epoch it asks again', async () => {
    const c = cluster()
    await c.metadata.leader('t', 0)
    c.metadata.onLeaderMoved('t', 0, 3, () => {})
    await flush()
    c.elect()
    c.asked[0]!.answer(c.current())
    await flush()
    expect(await c.metadata.leader('t', 0)).toEqual({ leader: 2, leaderEpoch: 4 })
    c.metadata.invalidate('t', { partition: 0, leaderEpoch: 3 }) // a batch sent to the old leader failed
    expect(await c.metadata.leader('t', 0)).toEqual({ leader: 2, leaderEpoch: 4 })
    c.metadata.invalidate('t', { partition: 0, leaderEpoch: 4 }) // the new leader failed too: refetch
    expect(await c.metadata.leader('t', 0)).toEqual({ leader: 2, leaderEpoch: 4 })
    c.metadata.close()
  })
})

describe('MetadataCache fetches after a failure', () => {
  it('a fetch its broker has not answered within the hedge delay asks another broker too, and the first answer wins', async () => {
    const clock = new ManualClock()
    const used: string[] = []
    const ok: MetadataResponse = { brokers: [], topics: [] }
    const paused = { helloResponse: { brokerId: 1 }, request: () => (used.push('bootstrap'), new Promise<never>(() => {})) }
    let avoided: number[] = []
    const pool = {
      metadataConnection: () => paused,
      metadataConnectionInTurn: (turn: number, avoid?: ReadonlySet<number>) => {
        avoided = [...(avoid ?? [])]
        return { helloResponse: { brokerId: 2 }, request: () => (used.push(`turn ${turn}`), Promise.resolve(ok)) }
      },
      learn: () => {},
      knownBrokers: 3,
    } as unknown as BrokerPool
    const metadata = new MetadataCache(pool, { clock, random: () => 0.5, metadataHedgeMs: 300 })
    let answered = false
    const fetched = metadata.fetch(null).then((r) => ((answered = true), r))
    await Promise.resolve()
    clock.advance(299)
    await Promise.resolve()
    expect(used).toEqual(['bootstrap'])
    clock.advance(1)
    expect(await fetched).toBe(ok)
    expect(answered).toBe(true)
    expect(used).toEqual(['bootstrap', 'turn 1'])
    expect(avoided).toEqual([1])
  })

  it('a fetch answered within the hedge delay asks no other broker', async () => {
    const clock = new ManualClock()
    const ok: MetadataResponse = { brokers: [], topics: [] }
    let others = 0
    const pool = {
      metadataConnection: () => ({ request: () => Promise.resolve(ok) }),
      metadataConnectionInTurn: () => ((others++), { request: () => Promise.resolve(ok) }),
      learn: () => {},
      knownBrokers: 3,
    } as unknown as BrokerPool
    const metadata = new MetadataCache(pool, { clock, random: () => 0.5, metadataHedgeMs: 300 })
    expect(await metadata.fetch(null)).toBe(ok)
    clock.advance(1_000)
    expect(others).toBe(0)
    expect(clock.pendingTimers).toBe(0)
  })

  it('a fetch that failed sends the next one to another broker in turn, and a success returns to the bootstrap', async () => {
    const clock = new ManualClock()
    const used: string[] = []
    const ok: MetadataResponse = { brokers: [], topics: [] }
    const silent = { request: () => (used.push('bootstrap'), Promise.reject(new Error('timed out'))) }
    let bootstrapUp = false
    const pool = {
      metadataConnection: () => (bootstrapUp ? { request: () => (used.push('bootstrap'), Promise.resolve(ok)) } : silent),
      metadataConnectionInTurn: (turn: number) => ({ request: () => (used.push(`turn ${turn}`), Promise.resolve(ok)) }),
      learn: () => {},
      knownBrokers: 3,
    } as unknown as BrokerPool
    const metadata = new MetadataCache(pool, { clock, random: () => 0.5 })
    await expect(metadata.fetch(null)).rejects.toThrow('timed out')
    await metadata.fetch(null)
    bootstrapUp = true
    await metadata.fetch(null)
    expect(used).toEqual(['bootstrap', 'turn 1', 'bootstrap'])
  })
})
