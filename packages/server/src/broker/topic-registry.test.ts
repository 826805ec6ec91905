import { SamsaError } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../clock.js'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import { defaultPartitionLogConfig } from '../log/partition-log.js'
import { FdLimitedStorage } from '../log/testing/fd-limited-storage.js'
import { ManualClock } from '../log/testing/manual-clock.js'
import { batchBasesOf, testBatch } from '../log/testing/batches.js'
import { until } from '../log/partition-log.contract.js'
import { TooManyOpenFilesError, type LogStorage } from '../log/log-storage.js'
import { noopMetrics } from '../observability/broker-metrics.js'
import { IDLE_FILE_CLOSE_MS } from './partition-opener.js'
import { TopicRegistry, type TopicRegistryDeps } from './topic-registry.js'

function open(storage: LogStorage, limits: Partial<TopicRegistryDeps> = {}, clock = new ManualClock()) {
  let gauge = { topics: -1, partitions: -1 }
  const registry = TopicRegistry.open({
    storage,
    logConfig: defaultPartitionLogConfig,
    clock,
    logger: silentLogger,
    maxPartitionsPerTopic: 1_000,
    maxTopics: 1_000,
    maxPartitions: 10_000,
    maxOpenSegmentFiles: 1_000,
    metrics: { ...noopMetrics, topicsChanged: (topics, partitions) => (gauge = { topics, partitions }) },
    ...limits,
  })
  return { registry, gauge: () => gauge }
}

async function rejection(p: Promise<unknown>): Promise<SamsaError> {
  const e = await p.then(() => null, (err: unknown) => err)
  expect(e).toBeInstanceOf(SamsaError)
  return e as SamsaError
}

/** Refuses, as the OS at its descriptor limit does, every open of a path matching refuse. */
class RefusingStorage extends FdLimitedStorage {
  refuse: RegExp | null = null
  override async open(path: string, opts: { create: boolean }) {
    if (this.refuse?.test(path)) throw new TooManyOpenFilesError(`EMFILE: too many open files, open '/srv/samsa/${path}'`)
    return super.open(path, opts)
  }
}

describe('TopicRegistry limits', () => {
  it('a create racing another create of the same name answers TOPIC_ALREADY_EXISTS only once the topic can be used', async () => {
    const { registry } = open(new MemoryLogStorage())
    const r = await registry
    const first = r.create('racing', 3)
    let usableAtRefusal: boolean | null = null
    const second = r.create('racing', 3).catch((e: unknown) => {
      usableAtRefusal = r.find('racing', 2) !== undefined
      throw e
    })
    await expect(second).rejects.toMatchObject({ errorName: 'TOPIC_ALREADY_EXISTS' })
    expect(usableAtRefusal).toBe(true)
    expect((await first).partitions).toHaveLength(3)
  })

  it('refuses a topic past maxTopics with POLICY_VIOLATION and creates nothing', async () => {
    const mem = new MemoryLogStorage()
    const { registry: opening, gauge } = open(mem, { maxTopics: 2 })
    const registry = await opening
    await registry.create('a', 1)
    await registry.create('b', 1)
    const e = await rejection(registry.create('c', 1))
    expect(e).toMatchObject({ errorName: 'POLICY_VIOLATION', retriable: false, details: { maxTopics: 2, topics: 2 } })
    expect(e.message).toMatch(/maxTopics/)
    expect(await mem.list('topics')).toEqual(['a', 'b'])
    expect(gauge()).toEqual({ topics: 2, partitions: 2 })
    await registry.delete('a')
    await registry.create('c', 1)
    expect(gauge()).toEqual({ topics: 2, partitions: 2 })
    await registry.close()
  })

  it('refuses partitions past maxPartitions over all topics, counting creates in progress', async () => {
    const mem = new MemoryLogStorage()
    const registry = await open(mem, { maxPartitions: 10 }).registry
    await registry.create('a', 6)
    const e = await rejection(registry.create('b', 5))
    expect(e).toMatchObject({ errorName: 'POLICY_VIOLATION', details: { maxPartitions: 10, partitions: 6, requested: 5 } })
    expect(await mem.list('topics')).toEqual(['a'])
    // Two creates racing for the last 4 partitions: exactly one wins.
    const results = await Promise.allSettled([registry.create('c', 4), registry.create('d', 4)])
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    expect(registry.partitionCount).toBe(10)
    await registry.close()
  })

  it('keeps topics loaded at start past the limits, and refuses new ones', async () => {
    const mem = new MemoryLogStorage()
    const first = await open(mem).registry
    await first.create('a', 3)
    await first.create('b', 3)
    await first.close()
    const { registry: reopening, gauge } = open(mem, { maxTopics: 1, maxPartitions: 4 })
    const registry = await reopening
    expect(registry.list().map((t) => t.name)).toEqual(['a', 'b'])
    expect(gauge()).toEqual({ topics: 2, partitions: 6 })
    expect((await rejection(registry.create('c', 1))).errorName).toBe('POLICY_VIOLATION')
    await registry.close()
  })
})

describe('TopicRegistry files', () => {
  it('open segment handles stay within maxOpenSegmentFiles however many partitions exist and are written', async () => {
    const os = new FdLimitedStorage(new MemoryLogStorage(), 10_000)
    const registry = await open(os, { maxOpenSegmentFiles: 5 }).registry
    for (const name of ['a', 'b', 'c']) await registry.create(name, 20)
    for (const t of registry.list()) for (const log of t.partitions) await log.append(testBatch())
    for (const t of registry.list()) for (const log of t.partitions) expect(log.highWatermark).toBe(1)
    // Five cached segment handles plus one short-lived handle (a directory fsync or checkpoint write) at a time.
    expect(os.peak).toBeLessThanOrEqual(6)
    await registry.close()
    expect(os.openHandles).toBe(0)
  })

  it('an idle partition holds no handle once IDLE_FILE_CLOSE_MS passes without use; it reopens on the next append', async () => {
    const os = new FdLimitedStorage(new MemoryLogStorage(), 10_000)
    const clock = new ManualClock()
    const registry = await open(os, {}, clock).registry
    await registry.create('a', 4)
    for (const log of registry.get('a')!.partitions) await log.append(testBatch())
    expect(os.openHandles).toBe(4)
    clock.advance(IDLE_FILE_CLOSE_MS)
    clock.advance(IDLE_FILE_CLOSE_MS)
    await until(() => os.openHandles === 0)
    const log = registry.get('a')!.partitions[2]!
    expect((await log.append(testBatch())).baseOffset).toBe(1)
    expect(batchBasesOf((await log.read(0, 1 << 20)).records)).toEqual([0, 1])
    expect(os.openHandles).toBe(1)
    await registry.close()
    expect(os.openHandles).toBe(0)
  })

  it('a create that fails midway (the OS refuses a handle) leaves no directory and no open handle; the next create works', async () => {
    const os = new RefusingStorage(new MemoryLogStorage(), 10_000)
    const registry = await open(os, { maxOpenSegmentFiles: 8 }).registry
    await registry.create('kept', 2)
    os.refuse = /^topics\/big\/17\//
    const e = await registry.create('big', 30).then(() => null, (err: unknown) => err)
    expect(e).toBeInstanceOf(TooManyOpenFilesError) // mapped to a retriable KAFKA_STORAGE_ERROR at the session
    expect(await os.inner.list('topics')).toEqual(['kept'])
    expect(registry.get('big')).toBeUndefined()
    expect(registry.partitionCount).toBe(2)
    expect(os.openHandles).toBeLessThanOrEqual(2) // at most the cached handles of "kept"
    os.refuse = null
    await registry.create('big', 30)
    await registry.close()
    expect(os.openHandles).toBe(0)
  })
})
