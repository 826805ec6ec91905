import { SamsaError, type FetchRequest, type FetchResponse } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../clock.js'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import { defaultPartitionLogConfig, PartitionLog } from '../log/partition-log.js'
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
