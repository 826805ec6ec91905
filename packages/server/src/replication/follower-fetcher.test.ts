import { SamsaError, type FetchRequest, type FetchResponse } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../clock.js'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import { defaultPartitionLogConfig, PartitionLog } from '../log/partition-log.js'
import { testBatch } from '../log/testing/batches.js'
import { InstrumentedStorage } from '../log/testing/instrumented-storage.js'
import { ManualClock } from '../log/testing/manual-clock.js'
import { until } from '../../../../test/support/until.js'
import { FollowerFetcher } from './follower-fetcher.js'

/** A follower whose leader answers its first fetch with `error`, the second with nothing, and then never again. */
async function fetcherRefusedOnceWith(error: ConstructorParameters<typeof SamsaError>[0]) {
  const clock = new ManualClock()
  const log = await PartitionLog.open({ storage: new MemoryLogStorage(), dir: 't-0', config: defaultPartitionLogConfig, clock, logger: silentLogger, leaderEpoch: 0, highWatermark: 'set-by-partition' })
  const fetches: FetchRequest[] = []
  const link = {
    fetch: (req: FetchRequest): Promise<FetchResponse> => {
      fetches.push(req)
      if (fetches.length === 1) return Promise.reject(new SamsaError(error, 'refused'))
      if (fetches.length === 2) return Promise.resolve({ highWatermark: 0, logStartOffset: 0, records: new Uint8Array() })
      return new Promise<FetchResponse>(() => {})
    },
    offsetForLeaderEpoch: () => Promise.reject(new Error('an empty log has nothing to truncate')),
  }
  const fetcher = new FollowerFetcher({ topic: 't', partition: 0, log, replicaId: 2, leaderId: 1, leaderEpoch: 3, link, clock, logger: silentLogger, config: { retryBackoffMs: 100 } })
  fetcher.start()
  await until(() => fetches.length === 1, { timeoutMs: 5_000, what: 'the first fetch' })
  return { clock, fetcher, fetches }
}

describe('FollowerFetcher, refused by its leader', () => {
  it.each(['UNKNOWN_TOPIC_OR_PARTITION', 'NOT_LEADER_OR_FOLLOWER', 'UNKNOWN_LEADER_EPOCH'] as const)(
    'retries after its backoff on %s (the leader may not have applied the metadata naming it yet)',
    async (error) => {
      const { clock, fetcher, fetches } = await fetcherRefusedOnceWith(error)
      await until(async () => {
        clock.advance(100)
        return fetches.length >= 3
      }, { timeoutMs: 5_000, what: 'fetches after the backoff' })
      expect(fetcher.state).toBe('fetching')
      expect(fetches.every((f) => f.replicaId === 2 && f.currentLeaderEpoch === 3)).toBe(true)
      await fetcher.stop()
    },
  )

  it('waits for new metadata on FENCED_LEADER_EPOCH (the leader is at a newer epoch than this follower)', async () => {
    const { clock, fetcher, fetches } = await fetcherRefusedOnceWith('FENCED_LEADER_EPOCH')
    await until(() => fetcher.state === 'awaiting-metadata', { timeoutMs: 5_000, what: 'awaiting-metadata' })
    clock.advance(1_000)
    expect(fetches).toHaveLength(1)
  })
})

describe('FollowerFetcher and its high-watermark checkpoint', () => {
  it('fetches on while the checkpoint is being written (its fsyncs never delay the next fetch); stop() waits for it', async () => {
    const clock = new ManualClock()
    const open = (storage: MemoryLogStorage | InstrumentedStorage, dir: string) =>
      PartitionLog.open({ storage, dir, config: defaultPartitionLogConfig, clock, logger: silentLogger, leaderEpoch: 0, highWatermark: 'set-by-partition' })
    const leaderLog = await open(new MemoryLogStorage(), 'leader-0')
    await leaderLog.append(testBatch({ tag: 'a' }))
    await leaderLog.append(testBatch({ tag: 'b' }))
    const storage = new InstrumentedStorage(new MemoryLogStorage())
    const log = await open(storage, 't-0')
    await log.appendAsFollower(await leaderLog.readForReplica(0, 1)) // batch a: leader epoch 0 is recorded before anything is held
    const fetches: FetchRequest[] = []
    const link = {
      fetch: async (req: FetchRequest): Promise<FetchResponse> => {
        fetches.push(req)
        if (fetches.length > 1) return new Promise<FetchResponse>(() => {}) // waiting at the leader's log end
        return { highWatermark: 2, logStartOffset: 0, records: await leaderLog.readForReplica(req.offset, 1 << 20) }
      },
      offsetForLeaderEpoch: async () => ({ leaderEpoch: 0, endOffset: 2 }),
    }
    const fetcher = new FollowerFetcher({ topic: 't', partition: 0, log, replicaId: 2, leaderId: 1, leaderEpoch: 0, link, clock, logger: silentLogger, config: { highWatermarkCheckpointIntervalMs: 0 } })
    const release = storage.holdAtomicWrites()
    let stopped = false
    try {
      fetcher.start()
      await until(() => fetches.length === 2, { timeoutMs: 5_000, what: 'the next fetch, with the checkpoint held' })
      expect(fetches[1]).toMatchObject({ offset: 2 })
      expect(log.highWatermark).toBe(2)
      void fetcher.stop().then(() => (stopped = true))
      for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r))
      expect(stopped).toBe(false)
    } finally {
      release()
    }
    await until(() => stopped, { timeoutMs: 5_000, what: 'stop() once the checkpoint is written' })
    await log.close()
    const again = await open(storage, 't-0')
    expect(again.highWatermark).toBe(2)
    await again.close()
  })
})
