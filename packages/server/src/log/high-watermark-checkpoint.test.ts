/** The `high-watermark` checkpoint is written apart from appends: its fsyncs never hold a produce or a follower back. */
import { describe, expect, it } from 'vitest'
import { until } from '../../../../test/support/until.js'
import { silentLogger } from '../clock.js'
import { MemoryLogStorage } from './memory-log-storage.js'
import { defaultPartitionLogConfig, PartitionLog } from './partition-log.js'
import { testBatch } from './testing/batches.js'
import { InstrumentedStorage } from './testing/instrumented-storage.js'
import { ManualClock } from './testing/manual-clock.js'

async function setup() {
  const storage = new InstrumentedStorage(new MemoryLogStorage())
  const open = () => PartitionLog.open({ storage, dir: 't-0', config: defaultPartitionLogConfig, clock: new ManualClock(), logger: silentLogger, leaderEpoch: 0, highWatermark: 'set-by-partition' })
  const log = await open()
  await log.append(testBatch({ tag: 'a' })) // records leader epoch 0 (an atomic write) before anything is held
  log.advanceHighWatermark(1)
  return { storage, open, log }
}

describe('the high-watermark checkpoint', () => {
  it('does not hold an append back while it is being written', async () => {
    const { storage, open, log } = await setup()
    const release = storage.holdAtomicWrites()
    let checkpointed = false
    const checkpoint = log.checkpointHighWatermark().then(() => (checkpointed = true))
    let appended: { baseOffset: number } | null = null
    void log.append(testBatch({ tag: 'b' })).then((r) => (appended = r))
    try {
      await until(() => appended, { timeoutMs: 5_000, what: 'the append, with the checkpoint held' })
      expect(appended).toMatchObject({ baseOffset: 1 })
      expect(checkpointed).toBe(false)
    } finally {
      release()
    }
    await checkpoint
    await log.close()
    const again = await open()
    expect(again.highWatermark).toBe(1)
    await again.close()
  })

  it('is written one at a time with the high watermark as it starts; close waits for it, and one asked after close is refused', async () => {
    const { storage, open, log } = await setup()
    const release = storage.holdAtomicWrites()
    const first = log.checkpointHighWatermark()
    await log.append(testBatch({ tag: 'b' }))
    log.advanceHighWatermark(2)
    const second = log.checkpointHighWatermark()
    let closed = false
    const closing = log.close().then(() => (closed = true))
    await new Promise((r) => setImmediate(r))
    expect(closed).toBe(false)
    release()
    await first
    await expect(second).rejects.toThrow(/closed/)
    await closing
    await expect(log.checkpointHighWatermark()).rejects.toThrow(/closed/)
    const again = await open()
    expect(again.highWatermark).toBe(1)
    await again.close()
  })
})
