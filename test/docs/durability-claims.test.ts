/**
 * What docs/glossary.md (acks) and docs/operations.md (durability modes) state, checked on the broker's pure core
 * over MemoryLogStorage, which models what survives a power loss (only synced bytes) and a process crash
 * (everything written): `acks: 'leader'` waits for the same fsync as `'all'`; `--fsync never` acknowledges after
 * the write, survives a process crash, and loses only the active segment's unsynced tail on a power loss.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { Broker } from '../../packages/server/src/broker/broker.js'
import { brokerConfig } from '../../packages/server/src/broker/broker-config.js'
import { silentLogger } from '../../packages/server/src/clock.js'
import { MemoryLogStorage } from '../../packages/server/src/log/memory-log-storage.js'
import { recordsOf, testBatch } from '../../packages/server/src/log/testing/batches.js'
import { ManualClock } from '../../packages/server/src/log/testing/manual-clock.js'

const oneLine = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8').replace(/\s+/g, ' ')

async function start(storage: MemoryLogStorage, fsync: 'always' | 'interval' | 'never', extra: { segmentBytes?: number } = {}) {
  const clock = new ManualClock()
  const broker = await Broker.start(brokerConfig({ log: { fsync, fsyncIntervalMs: 1000, ...extra } }), { storage, clock, logger: silentLogger })
  return { broker, clock }
}

/** Every record of t/0 up to the high watermark (a fetch returns at most one segment's batches). */
async function values(broker: Broker, topic = 't'): Promise<string[]> {
  const out: string[] = []
  for (let offset = 0; ; ) {
    const r = await broker.fetch({ topic, partition: 0, offset, maxBytes: 1 << 20, maxWaitMs: 0, minBytes: 0 })
    const records = recordsOf(r.records)
    if (records.length === 0) return out
    out.push(...records.map((x) => x.value))
    offset = records.at(-1)!.offset + 1
  }
}

const produce = (broker: Broker, acks: -1 | 0 | 1, tag: string) =>
  broker.produce({ topic: 't', partition: 0, acks, timeoutMs: 5_000, batch: testBatch({ tag }) })

describe("acks 'leader' is answered when 'all' is: after the fsync policy is met", () => {
  it('the glossary says so', () => {
    expect(oneLine('docs/glossary.md')).toMatch(/`leader` \(1\): once the leader.s log has the batch, durable per the same `--fsync` policy; `all` also waits for the high watermark to cover it, which on a single broker is the durable log end, so today both answer at the same moment/)
  })

  it.each([[-1], [1]] as const)('acks %i under --fsync always: an answered batch survives a power loss', async (acks) => {
    const storage = new MemoryLogStorage()
    const { broker } = await start(storage, 'always')
    await broker.createTopic('t', 1)
    const syncsBefore = storage.syncCount
    await produce(broker, acks, `acks${acks}`)
    expect(storage.syncCount).toBeGreaterThan(syncsBefore)
    storage.simulatePowerLoss()
    const { broker: after } = await start(storage, 'always')
    expect(await values(after)).toEqual([`acks${acks}-0`])
  })
})

describe('--fsync never, as docs/operations.md states it', () => {
  it('the operations page says what a crash and a power failure lose', () => {
    const ops = oneLine('docs/operations.md')
    expect(ops).toMatch(/\| `never` \| after the write \| loses nothing acknowledged \| may lose every acknowledged record of a partition's active segment written since the last fsync/)
    expect(ops).toMatch(/`never` still fsyncs at four points: when a segment is rolled .*, on a clean shutdown .*, when a partition is opened at start, and before each recovery point/)
  })

  it('acknowledges without an fsync; a process crash loses nothing acknowledged', async () => {
    const storage = new MemoryLogStorage()
    const { broker } = await start(storage, 'never')
    await broker.createTopic('t', 1)
    const syncsBefore = storage.syncCount
    for (const acks of [-1, 1] as const) await produce(broker, acks, `acks${acks}`)
    expect(storage.syncCount).toBe(syncsBefore)
    // A process crash: the broker is gone without shutdown, the written bytes are still there.
    const { broker: after } = await start(storage, 'never')
    expect(await values(after)).toEqual(['acks-1-0', 'acks1-0'])
  })

  it("a power loss takes the active segment's unsynced tail, not the segments rolled before it", async () => {
    const storage = new MemoryLogStorage()
    const { broker } = await start(storage, 'never', { segmentBytes: 200 })
    await broker.createTopic('t', 1)
    const tags = ['a', 'b', 'c', 'd', 'e', 'f']
    for (const tag of tags) await produce(broker, -1, tag)
    const written = await values(broker)
    expect(written).toEqual(tags.map((t) => `${t}-0`))
    storage.simulatePowerLoss()
    const { broker: after } = await start(storage, 'never', { segmentBytes: 200 })
    const survived = await values(after)
    // Every segment before the active one was fsynced when it was rolled; the active one had no fsync.
    expect(survived.length).toBeGreaterThan(0)
    expect(survived.length).toBeLessThan(written.length)
    expect(survived).toEqual(written.slice(0, survived.length))
  })

  it('a clean shutdown fsyncs: nothing acknowledged is lost to a later power loss', async () => {
    const storage = new MemoryLogStorage()
    const { broker } = await start(storage, 'never')
    await broker.createTopic('t', 1)
    await produce(broker, -1, 'x')
    await broker.shutdown()
    storage.simulatePowerLoss()
    const { broker: after } = await start(storage, 'never')
    expect(await values(after)).toEqual(['x-0'])
  })
})

describe('--fsync interval', () => {
  it('an fsync follows a write within --fsync-interval-ms', async () => {
    const storage = new MemoryLogStorage()
    const { broker, clock } = await start(storage, 'interval')
    await broker.createTopic('t', 1)
    const syncsBefore = storage.syncCount
    await produce(broker, -1, 'y')
    expect(storage.syncCount).toBe(syncsBefore)
    clock.advance(1000)
    await expect.poll(() => storage.syncCount).toBeGreaterThan(syncsBefore)
    storage.simulatePowerLoss()
    const { broker: after } = await start(storage, 'interval')
    expect(await values(after)).toEqual(['y-0'])
  })
})
