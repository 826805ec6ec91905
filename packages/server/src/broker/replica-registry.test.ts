import { SamsaError } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../clock.js'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import { defaultPartitionLogConfig } from '../log/partition-log.js'
import { batchBasesOf, testBatch } from '../log/testing/batches.js'
import { FdLimitedStorage } from '../log/testing/fd-limited-storage.js'
import { ManualClock } from '../log/testing/manual-clock.js'
import type { LogStorage } from '../log/log-storage.js'
import { noopMetrics } from '../observability/broker-metrics.js'
import { REPLICA_IDENTITY_FILE, type ReplicaOwner } from './replica-identity.js'
import { ReplicaRegistry } from './replica-registry.js'
import { TopicRegistry } from './topic-registry.js'

function open(storage: LogStorage) {
  let gauge = { topics: -1, partitions: -1 }
  const registry = ReplicaRegistry.open({
    storage,
    logConfig: defaultPartitionLogConfig,
    clock: new ManualClock(),
    logger: silentLogger,
    metrics: { ...noopMetrics, topicsChanged: (topics, partitions) => (gauge = { topics, partitions }) },
    highWatermark: 'set-by-partition',
  })
  return { registry, gauge: () => gauge }
}

function thrown(f: () => unknown): unknown {
  try {
    f()
  } catch (e) {
    return e
  }
  return null
}

/** A topic's identity (as the metadata image gives it) and a broker that may adopt an unrecorded replica. */
const topicAt = (createdAtOffset: number, adoptUnmarked = true): ReplicaOwner => ({ identity: { topicId: null, createdAtOffset }, adoptUnmarked })
const OWNER = topicAt(1)

const hosted = (r: ReplicaRegistry) => [...r.logs()].map((l) => `${l.topic}/${l.partition}`)

describe('ReplicaRegistry', () => {
  it('opens just the replicas asked for: only their directories exist, the topic has no topic.json', async () => {
    const mem = new MemoryLogStorage()
    const { registry: opening, gauge } = open(mem)
    const registry = await opening
    await registry.openReplica('t', 4, OWNER)
    await registry.openReplica('t', 1, OWNER)
    await registry.openReplica('u', 0, OWNER)
    expect(await mem.list('topics/t')).toEqual(['1', '4'])
    expect(await mem.list('topics')).toEqual(['t', 'u'])
    expect(hosted(registry)).toEqual(['t/1', 't/4', 'u/0'])
    expect(gauge()).toEqual({ topics: 2, partitions: 3 })
    // Opening again hands back the same log.
    expect(await registry.openReplica('t', 4, OWNER)).toBe(registry.find('t', 4))
    await registry.close()
  })

  it('a replica not hosted answers NOT_LEADER_OR_FOLLOWER and creates nothing', async () => {
    const mem = new MemoryLogStorage()
    const registry = await open(mem).registry
    await registry.openReplica('t', 1, OWNER)
    for (const [topic, partition] of [['t', 0], ['t', 2], ['other', 0]] as const) {
      const e = thrown(() => registry.partition(topic, partition))
      expect(e).toBeInstanceOf(SamsaError)
      expect(e).toMatchObject({ errorName: 'NOT_LEADER_OR_FOLLOWER', retriable: true })
      expect(registry.find(topic, partition)).toBeUndefined()
    }
    expect(() => registry.partition('../x', 0)).toThrow(expect.objectContaining({ errorName: 'INVALID_TOPIC_EXCEPTION' }))
    expect(await mem.list('topics')).toEqual(['t'])
    expect(await mem.list('topics/t')).toEqual(['1'])
    await registry.close()
  })

  it('reopens on start exactly the partition directories present, with their records', async () => {
    const mem = new MemoryLogStorage()
    const first = await open(mem).registry
    const log = await first.openReplica('t', 2, OWNER)
    await log.append(testBatch())
    await log.append(testBatch())
    await first.openReplica('u', 0, OWNER)
    await first.close()
    const { registry: reopening, gauge } = open(mem)
    const registry = await reopening
    expect(hosted(registry)).toEqual(['t/2', 'u/0'])
    expect(gauge()).toEqual({ topics: 2, partitions: 2 })
    expect(registry.partition('t', 2).logEndOffset).toBe(2)
    expect(batchBasesOf(await registry.partition('t', 2).readForReplica(0, 1 << 20))).toEqual([0, 1])
    expect(await mem.list('topics/t')).toEqual(['2'])
    await registry.close()
  })

  it('a single node’s topic directory is reopened by the partition directories in it; a topic directory with none is removed', async () => {
    const mem = new MemoryLogStorage()
    const single = await TopicRegistry.open({ storage: mem, logConfig: defaultPartitionLogConfig, clock: new ManualClock(), logger: silentLogger, maxPartitionsPerTopic: 10, maxTopics: 10, maxPartitions: 100 })
    await single.create('whole', 3)
    await single.close()
    await mem.ensureDir('topics/empty')
    await mem.ensureDir('topics/not a topic!')
    await mem.ensureDir('topics/whole/not-a-partition')
    const registry = await open(mem).registry
    expect(hosted(registry)).toEqual(['whole/0', 'whole/1', 'whole/2'])
    expect((await mem.list('topics')).sort()).toEqual(['not a topic!', 'whole'])
    await registry.close()
  })

  it('removes one replica’s directory, and the topic’s directory with its last replica', async () => {
    const mem = new MemoryLogStorage()
    const { registry: opening, gauge } = open(mem)
    const registry = await opening
    await registry.openReplica('t', 0, OWNER)
    await registry.openReplica('t', 1, OWNER)
    await mem.writeFileAtomic('topics/t/topic.json', new TextEncoder().encode('{}'))
    await registry.removeReplica('t', 0)
    expect((await mem.list('topics/t')).sort()).toEqual(['1', 'topic.json'])
    expect(hosted(registry)).toEqual(['t/1'])
    expect(gauge()).toEqual({ topics: 1, partitions: 1 })
    await registry.removeReplica('t', 0) // not hosted: nothing to do
    await registry.removeReplica('t', 1)
    expect(await mem.list('topics')).toEqual([])
    expect(hosted(registry)).toEqual([])
    expect(gauge()).toEqual({ topics: 0, partitions: 0 })
    // A replica opened again under the same name starts empty.
    expect((await registry.openReplica('t', 1, OWNER)).logEndOffset).toBe(0)
    await registry.close()
  })

  it('an open and a remove of one topic’s replicas run one after the other, in the order asked', async () => {
    const mem = new MemoryLogStorage()
    const registry = await open(mem).registry
    const opened = registry.openReplica('t', 0, OWNER)
    const removed = registry.removeReplica('t', 0)
    const reopened = registry.openReplica('t', 1, OWNER)
    await Promise.all([opened, removed, reopened])
    expect(hosted(registry)).toEqual(['t/1'])
    expect(await mem.list('topics/t')).toEqual(['1'])
    await registry.close()
  })

  it('closes every log it holds, giving back every file handle', async () => {
    const os = new FdLimitedStorage(new MemoryLogStorage(), 10_000)
    const registry = await open(os).registry
    for (let p = 0; p < 3; p++) await (await registry.openReplica('t', p, OWNER)).append(testBatch())
    expect(os.openHandles).toBeGreaterThan(0)
    await registry.close()
    expect(os.openHandles).toBe(0)
  })

  it('records its topic in a new replica’s directory before the log; a replica of another topic of the name is deleted and starts empty', async () => {
    const mem = new MemoryLogStorage()
    const first = await open(mem).registry
    const old = await first.openReplica('t', 0, topicAt(7))
    await old.append(testBatch())
    await old.append(testBatch())
    expect(JSON.parse(new TextDecoder().decode((await mem.readFile(`topics/t/0/${REPLICA_IDENTITY_FILE}`))!))).toEqual({ version: 1, topicId: null, createdAtOffset: 7 })
    await first.close()

    const registry = await open(mem).registry
    // The same topic: the same log, records kept.
    expect((await registry.openReplica('t', 0, topicAt(7))).logEndOffset).toBe(2)
    // The topic deleted and created again (another createTopic offset), or given another id: empty, recorded anew.
    const reborn = await registry.openReplica('t', 0, topicAt(12))
    expect(reborn.logEndOffset).toBe(0)
    expect(registry.find('t', 0)).toBe(reborn)
    expect(batchBasesOf(await reborn.readForReplica(0, 1 << 20))).toEqual([])
    expect(JSON.parse(new TextDecoder().decode((await mem.readFile(`topics/t/0/${REPLICA_IDENTITY_FILE}`))!))).toMatchObject({ createdAtOffset: 12 })
    const withId = await registry.openReplica('t', 0, { identity: { topicId: 'T-2', createdAtOffset: 12 }, adoptUnmarked: true })
    expect(withId).not.toBe(reborn)
    await registry.close()
  })

  it('a replica without a recorded topic is kept and recorded only when it has records and its broker may hold the only copy of them', async () => {
    const mem = new MemoryLogStorage()
    const first = await open(mem).registry
    for (const p of [0, 1, 2]) {
      const log = await first.openReplica('t', p, OWNER)
      if (p < 2) await log.append(testBatch())
    }
    await first.close()
    for (const p of [0, 1, 2]) await mem.remove(`topics/t/${p}/${REPLICA_IDENTITY_FILE}`)
    await mem.writeFileAtomic(`topics/t/1/${REPLICA_IDENTITY_FILE}`, new TextEncoder().encode('not json')) // unreadable: as none

    const registry = await open(mem).registry
    // Leader or ISR member with records: adopted.
    expect((await registry.openReplica('t', 0, topicAt(3, true))).logEndOffset).toBe(1)
    expect(JSON.parse(new TextDecoder().decode((await mem.readFile(`topics/t/0/${REPLICA_IDENTITY_FILE}`))!))).toMatchObject({ createdAtOffset: 3 })
    // A follower outside the ISR: fetched again from the leader.
    expect((await registry.openReplica('t', 1, topicAt(3, false))).logEndOffset).toBe(0)
    // Empty: nothing to keep.
    await registry.openReplica('t', 2, topicAt(3, true))
    expect(JSON.parse(new TextDecoder().decode((await mem.readFile(`topics/t/2/${REPLICA_IDENTITY_FILE}`))!))).toMatchObject({ createdAtOffset: 3 })
    await registry.close()
    // Recorded now: the next open of another topic replaces even the adopted one.
    const again = await open(mem).registry
    expect((await again.openReplica('t', 0, topicAt(3, true))).logEndOffset).toBe(1)
    expect((await again.openReplica('t', 0, topicAt(4, true))).logEndOffset).toBe(0)
    await again.close()
  })
})
