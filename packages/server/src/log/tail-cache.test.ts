import { patchBatch, readBatchHeader } from '@samsa/shared'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../clock.js'
import { readBatches } from './log-reader.js'
import { MemoryLogStorage } from './memory-log-storage.js'
import { defaultPartitionLogConfig, PartitionLog } from './partition-log.js'
import { Segment } from './segment.js'
import { TailCache, TailCacheBudget } from './tail-cache.js'
import { testBatch } from './testing/batches.js'
import { InstrumentedStorage } from './testing/instrumented-storage.js'
import { ManualClock } from './testing/manual-clock.js'

describe('TailCache', () => {
  it('answers every read of the batches it holds as the segment reader does from storage', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ records: fc.integer({ min: 1, max: 4 }), valueBytes: fc.integer({ min: 0, max: 300 }) }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1_000, max: 12_000 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 2_000 }), fc.nat()), { minLength: 1, maxLength: 10 }),
        async (batches, cacheBytes, reads) => {
          const storage = new MemoryLogStorage()
          await storage.ensureDir('p-0')
          const segment = await Segment.create(storage, 'p-0', 0)
          const cache = new TailCache(cacheBytes)
          let lastBytes = 0
          for (const [i, b] of batches.entries()) {
            const bytes = testBatch({ tag: `b${i}`, ...b })
            patchBatch(bytes, 0, segment.nextOffset, 0)
            const header = readBatchHeader(bytes)
            const position = segment.sizeBytes
            await segment.file.append(bytes)
            segment.noteBatch(header, position, bytes.length, 4096)
            cache.written(bytes, header)
            lastBytes = bytes.length
          }
          const end = segment.nextOffset
          for (const [o, maxBytes, u] of reads) {
            const offset = o % end
            const upTo = offset + 1 + (u % (end - offset))
            const cached = cache.read(offset, maxBytes, upTo)
            if (cached !== null) expect(cached).toEqual(await readBatches([segment], offset, maxBytes, upTo))
          }
          if (lastBytes * 4 <= cacheBytes) expect(cache.read(end - 1, 1, end)).not.toBeNull() // the last batch, when within the budget
        },
      ),
      { numRuns: 150 },
    )
  })

  it('holds nothing from before a gap in offsets, and nothing larger than its budget', () => {
    const cache = new TailCache(1_000)
    const at = (base: number, valueBytes = 0) => {
      const bytes = testBatch({ valueBytes })
      patchBatch(bytes, 0, base, 0)
      cache.written(bytes, readBatchHeader(bytes))
    }
    at(0)
    at(1)
    expect(cache.read(0, 10_000, 2)).not.toBeNull()
    at(5) // not contiguous: a cut or a new segment the cache was not told of
    expect(cache.read(1, 10_000, 6)).toBeNull()
    expect(cache.read(5, 10_000, 6)).not.toBeNull()
    at(6, 300) // over a quarter of the budget: read from storage
    expect(cache.read(5, 10_000, 7)).toBeNull()
    expect(cache.read(6, 10_000, 7)).toBeNull()
  })

  it('shares the broker\'s budget: a cache makes room from its own oldest batches, holds nothing when none is left, and gives back what it drops', () => {
    const budget = new TailCacheBudget(3 * testBatch({}).length)
    const size = testBatch({}).length
    const a = new TailCache(100_000, budget)
    const b = new TailCache(100_000, budget)
    const put = (cache: TailCache, base: number) => {
      const bytes = testBatch({})
      patchBatch(bytes, 0, base, 0)
      cache.written(bytes, readBatchHeader(bytes))
    }
    put(a, 0)
    put(a, 1)
    put(b, 0)
    expect(budget.used).toBe(3 * size)
    put(b, 1) // b makes room from its own oldest
    expect(budget.used).toBe(3 * size)
    expect(b.read(0, 10_000, 2)).toBeNull()
    expect(b.read(1, 10_000, 2)).not.toBeNull()
    const c = new TailCache(100_000, budget)
    put(c, 0) // nothing of its own to drop: read from storage
    expect(c.read(0, 10_000, 1)).toBeNull()
    expect(budget.used).toBe(3 * size)
    a.clear()
    expect(budget.used).toBe(size)
    put(c, 1)
    expect(c.read(1, 10_000, 2)).not.toBeNull()
    expect(budget.used).toBe(2 * size)
  })

  it('gives its bytes back when its log closes', async () => {
    const budget = new TailCacheBudget(1 << 20)
    const log = await PartitionLog.open({ storage: new MemoryLogStorage(), dir: 't-0', config: defaultPartitionLogConfig, clock: new ManualClock(), logger: silentLogger, tailCache: budget })
    await log.append(testBatch({ records: 3 }))
    expect(budget.used).toBeGreaterThan(0)
    await log.close()
    expect(budget.used).toBe(0)
  })

  it('keeps a copy: a caller reusing its buffer does not change what is read', () => {
    const cache = new TailCache(10_000)
    const bytes = testBatch({ tag: 'a' })
    patchBatch(bytes, 0, 7, 0)
    cache.written(bytes, readBatchHeader(bytes))
    const before = Uint8Array.from(bytes)
    patchBatch(bytes, 0, 8, 0)
    expect(cache.read(7, 10_000, 8)).toEqual(before)
  })
})

describe('reads of the log’s tail', () => {
  it('come from memory: followers and subscribers reading what was just written cost no storage read', async () => {
    const storage = new InstrumentedStorage(new MemoryLogStorage())
    const log = await PartitionLog.open({ storage, dir: 't-0', config: defaultPartitionLogConfig, clock: new ManualClock(), logger: silentLogger, leaderEpoch: 0, highWatermark: 'set-by-partition' })
    await log.append(testBatch({ tag: 'a', records: 2 }))
    await log.append(testBatch({ tag: 'b', records: 3 }))
    const reads = storage.reads
    const forReplica = await log.readForReplica(0, 1 << 20)
    log.advanceHighWatermark(5)
    const forConsumer = await log.read(2, 1 << 20)
    expect(storage.reads).toBe(reads)
    await log.truncateTo(2) // a cut empties the cache: the next read goes to storage
    expect(await log.readForReplica(0, 1 << 20)).toEqual(forReplica.subarray(0, forReplica.length - forConsumer.records.length))
    expect(storage.reads).toBeGreaterThan(reads)
    await log.close()
  })
})
