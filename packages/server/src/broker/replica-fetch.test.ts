/**
 * The leader's side of a follower's fetch at its log end: answered when the leader appends (not on a timer), a newer
 * fetch from the same follower ends the older one's wait at once, and the leader counts the follower's durable end.
 */
import type { FetchRequest } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../clock.js'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import { defaultPartitionLogConfig, PartitionLog } from '../log/partition-log.js'
import { recordsOf, testBatch } from '../log/testing/batches.js'
import { ManualClock } from '../log/testing/manual-clock.js'
import { noopMetrics } from '../observability/broker-metrics.js'
import { replicaFetch } from './fetch-path.js'
import type { LeaderHandle, PartitionLeadership } from './partition-leadership.js'
import { ReplicaFetchWaits } from './replica-fetch-waits.js'

async function setup() {
  const clock = new ManualClock()
  const log = await PartitionLog.open({ storage: new MemoryLogStorage(), dir: 't-0', config: defaultPartitionLogConfig, clock, logger: silentLogger, leaderEpoch: 0, highWatermark: 'set-by-partition' })
  /** What the leader was told of each follower's log, in order. */
  const reported: { replicaId: number; durableEnd: number }[] = []
  const handle: LeaderHandle = { leaderEpoch: 0, isrSize: 3, minInsyncReplicas: 2, isReplica: (id) => id === 2 || id === 3, onResigned: () => () => {} }
  const leadership: PartitionLeadership = {
    leader: () => handle,
    onResigned: () => () => {},
    replicaFetched: (_t, _p, replicaId, durableEnd) => void reported.push({ replicaId, durableEnd }),
  }
  const ctx = { config: { maxPushBytes: 1 << 20, requestTimeoutMs: 30_000 }, clock, metrics: noopMetrics, replicaFetchWaits: new ReplicaFetchWaits() }
  const fetch = (req: Partial<FetchRequest> & { replicaId: number; offset: number }) => {
    let settled = false
    const p = replicaFetch(ctx, { topic: 't', partition: 0, maxBytes: 1 << 20, maxWaitMs: 500, minBytes: 1, currentLeaderEpoch: 0, ...req }, log, leadership).finally(() => (settled = true))
    return { p, settled: () => settled }
  }
  const drain = async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
  }
  return { clock, log, ctx, fetch, drain, reported }
}

describe('a replica fetch at the leader’s log end', () => {
  it('is answered when the leader appends, with no time passing (not at maxWait)', async () => {
    const { clock, log, fetch, drain } = await setup()
    const f = fetch({ replicaId: 2, offset: 0 })
    await drain()
    expect(f.settled()).toBe(false)
    await log.append(testBatch({ tag: 'a' }))
    const r = await f.p
    expect(recordsOf(r.records).map((x) => x.value)).toEqual(['a-0'])
    expect(clock.pendingTimers).toBe(0)
  })

  it('is answered at once, empty, when the same follower fetches again (to report its fsync); another follower’s wait goes on', async () => {
    const { log, ctx, fetch, drain } = await setup()
    await log.append(testBatch({ tag: 'a' }))
    const older = fetch({ replicaId: 2, offset: 1, replicaDurableEnd: 0 })
    const other = fetch({ replicaId: 3, offset: 1 })
    await drain()
    expect(older.settled()).toBe(false)
    const newer = fetch({ replicaId: 2, offset: 1, replicaDurableEnd: 1 })
    expect((await older.p).records).toHaveLength(0)
    await drain()
    expect(newer.settled()).toBe(false)
    expect(other.settled()).toBe(false)
    expect(ctx.replicaFetchWaits.size).toBe(2)
    await log.append(testBatch({ tag: 'b' }))
    expect(recordsOf((await newer.p).records).map((x) => x.value)).toEqual(['b-0'])
    expect(recordsOf((await other.p).records).map((x) => x.value)).toEqual(['b-0'])
    expect(ctx.replicaFetchWaits.size).toBe(0)
  })

  it('tells the leader the follower’s durable end (replicaDurableEnd), never more than its fetch offset', async () => {
    const { log, fetch, reported } = await setup()
    await log.append(testBatch({ tag: 'a', records: 3 }))
    await fetch({ replicaId: 2, offset: 3, replicaDurableEnd: 1, maxWaitMs: 0 }).p
    await fetch({ replicaId: 3, offset: 3, maxWaitMs: 0 }).p
    await fetch({ replicaId: 2, offset: 2, replicaDurableEnd: 9, maxWaitMs: 0 }).p
    expect(reported).toEqual([{ replicaId: 2, durableEnd: 1 }, { replicaId: 3, durableEnd: 3 }, { replicaId: 2, durableEnd: 2 }])
  })
})
