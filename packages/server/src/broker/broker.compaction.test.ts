import { decodeRecords, scanBatches, SamsaError } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { Broker } from './broker.js'
import { brokerConfig } from './broker-config.js'
import { silentLogger } from '../clock.js'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import { keyedBatch } from '../log/testing/keyed-batches.js'
import { ManualClock } from '../log/testing/manual-clock.js'

const td = new TextDecoder()

async function setup(storage = new MemoryLogStorage(), clock = new ManualClock()) {
  const config = brokerConfig({ logCleanerIntervalMs: 1000, log: { segmentBytes: 300 } })
  const broker = await Broker.start(config, { storage, clock, logger: silentLogger })
  const drain = async () => {
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r))
  }
  return { storage, clock, broker, drain }
}

/** Every record of partition 0 as `offset:key=value`, read fetch after fetch up to the high watermark. */
async function values(broker: Broker, topic: string): Promise<string[]> {
  const out: string[] = []
  let offset = 0
  for (;;) {
    const { records, highWatermark } = await broker.fetch({ topic, partition: 0, offset, maxBytes: 1 << 20, maxWaitMs: 0, minBytes: 0 })
    for (const b of scanBatches(records)) {
      for (const r of decodeRecords(records, b.at).records) if (r.offset >= offset) out.push(`${r.offset}:${td.decode(r.key!)}=${r.value === null ? 'null' : td.decode(r.value)}`)
      offset = b.header.baseOffset + b.header.lastOffsetDelta + 1
    }
    if (offset >= highWatermark || records.length === 0) return out
  }
}

describe('compacted topics on a single node', () => {
  it('a topic created with cleanup.policy=compact is cleaned in the background; describe shows its configs; they survive a restart', async () => {
    const { broker, clock, drain, storage } = await setup()
    await broker.createTopic('offsets', 1, { configs: { 'cleanup.policy': 'compact', 'delete.retention.ms': '0' } })
    await broker.createTopic('plain', 1)
    for (let i = 0; i < 10; i++) {
      for (const topic of ['offsets', 'plain']) await broker.produce({ topic, partition: 0, acks: -1, timeoutMs: 1000, batch: keyedBatch([['k', `v${i}`]]) })
    }
    expect(broker.describeTopic('offsets').configs).toEqual({ 'cleanup.policy': 'compact', 'delete.retention.ms': '0' })
    expect(broker.describeTopic('plain').configs).toEqual({ 'cleanup.policy': 'delete', 'delete.retention.ms': '86400000' })
    const before = await values(broker, 'offsets')
    clock.advance(1000)
    await drain()
    const after = await values(broker, 'offsets')
    expect(after.length).toBeLessThan(before.length)
    expect(after.at(-1)).toBe('9:k=v9')
    expect(await values(broker, 'plain')).toHaveLength(10) // a delete-policy topic is never compacted
    await broker.shutdown()
    const again = await Broker.start(brokerConfig({ logCleanerIntervalMs: 1000, log: { segmentBytes: 300 } }), { storage, clock, logger: silentLogger })
    expect(again.describeTopic('offsets').configs).toEqual({ 'cleanup.policy': 'compact', 'delete.retention.ms': '0' })
    expect(await values(again, 'offsets')).toEqual(after)
    await again.shutdown()
  })

  it('refuses an unknown config or a bad value with INVALID_CONFIG, creating nothing', async () => {
    const { broker } = await setup()
    const e = await broker.createTopic('x', 1, { configs: { 'cleanup.policy': 'shred' } }).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(SamsaError)
    expect(e).toMatchObject({ errorName: 'INVALID_CONFIG' })
    expect(broker.listTopics()).toEqual([])
    await broker.shutdown()
  })
})
