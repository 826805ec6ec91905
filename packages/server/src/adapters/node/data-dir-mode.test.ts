import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../clock.js'
import { ReplicaRegistry } from '../../broker/replica-registry.js'
import { TopicRegistry } from '../../broker/topic-registry.js'
import { MemoryLogStorage } from '../../log/memory-log-storage.js'
import { defaultPartitionLogConfig } from '../../log/partition-log.js'
import { ManualClock } from '../../log/testing/manual-clock.js'
import { CONTROLLER_RAFT_DIR } from './controller-node.js'
import { checkDataDirMode, DataDirModeError, readDataDirLayout } from './data-dir-mode.js'

const deps = (storage: MemoryLogStorage) => ({ storage, logConfig: defaultPartitionLogConfig, clock: new ManualClock(), logger: silentLogger })

async function singleNodeDir(topics: readonly string[]): Promise<MemoryLogStorage> {
  const mem = new MemoryLogStorage()
  const r = await TopicRegistry.open({ ...deps(mem), maxPartitionsPerTopic: 10, maxTopics: 10, maxPartitions: 100 })
  for (const t of topics) await r.create(t, 2)
  await r.close()
  return mem
}

async function replicaDir(topics: readonly string[]): Promise<MemoryLogStorage> {
  const mem = new MemoryLogStorage()
  const r = await ReplicaRegistry.open({ ...deps(mem), highWatermark: 'set-by-partition' })
  for (const [i, t] of topics.entries()) await r.openReplica(t, 1, { identity: { topicId: null, createdAtOffset: 10 + i }, adoptUnmarked: true })
  await r.close()
  return mem
}

const refusal = (storage: MemoryLogStorage, mode: 'single-node' | 'cluster-node') =>
  checkDataDirMode(storage, '/data', mode).then(() => null, (e: unknown) => (e instanceof DataDirModeError ? e.message : e))

describe('the data directory mode check', () => {
  it('a single node’s topics are refused to a cluster node, naming them; the single node starts', async () => {
    const mem = await singleNodeDir(['b', 'a'])
    expect(await readDataDirLayout(mem)).toEqual({ controllerLog: false, singleNodeTopics: ['a', 'b'], replicaTopics: [] })
    expect(await refusal(mem, 'cluster-node')).toBe(`data directory /data holds a single node's topics ("a", "b"); start it without --node-id and --controllers, or give the cluster node another --data directory`)
    expect(await refusal(mem, 'single-node')).toBeNull()
    const many = await singleNodeDir(['t1', 't2', 't3', 't4', 't5', 't6', 't7'])
    expect(await refusal(many, 'cluster-node')).toMatch(/topics \("t1", "t2", "t3", "t4", "t5", … 7 in all\)/)
  })

  it('a broker-only node’s replicas, or a voter’s controller log, are refused to a single node; the cluster node starts', async () => {
    const brokerOnly = await replicaDir(['x', 'y'])
    expect(await refusal(brokerOnly, 'single-node')).toBe(`data directory /data holds a cluster node's data (replicas of 2 topics); start it with the --node-id and --controllers it belongs to, or give the single node another --data directory`)
    expect(await refusal(brokerOnly, 'cluster-node')).toBeNull()
    const voter = new MemoryLogStorage()
    await voter.ensureDir(CONTROLLER_RAFT_DIR)
    await voter.writeFileAtomic(`${CONTROLLER_RAFT_DIR}/term`, new Uint8Array([1]))
    expect(await refusal(voter, 'single-node')).toMatch(/holds a cluster node's data \(a controller log\); start it with the --node-id and --controllers/)
    expect(await refusal(voter, 'cluster-node')).toBeNull()
  })

  it('an empty directory, and a topic directory with neither topic.json nor a recorded replica, decide nothing', async () => {
    const mem = new MemoryLogStorage()
    expect(await refusal(mem, 'single-node')).toBeNull()
    expect(await refusal(mem, 'cluster-node')).toBeNull()
    await mem.ensureDir('topics/unfinished/0')
    expect(await readDataDirLayout(mem)).toEqual({ controllerLog: false, singleNodeTopics: [], replicaTopics: [] })
    expect(await refusal(mem, 'single-node')).toBeNull()
    expect(await refusal(mem, 'cluster-node')).toBeNull()
  })
})
