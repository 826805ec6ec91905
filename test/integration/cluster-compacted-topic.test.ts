/**
 * A compacted topic in a cluster: its cleanup configs travel in the metadata log (a topicCleanup record), so every
 * broker describes them, whichever broker the create went through. Three in-process combined-mode nodes.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { exchanges } from '@samsa/shared'
import { InProcessCluster } from '../support/in-process-cluster.js'
import { until } from '../support/until.js'

const T = 'compacted'

describe('cleanup configs in a cluster', () => {
  let cluster: InProcessCluster
  afterAll(async () => {
    await cluster?.close()
  })

  it('a createTopic with cleanup.policy=compact is described so on every broker; a bad config is INVALID_CONFIG', async () => {
    cluster = await InProcessCluster.start({ dirPrefix: 'samsa-compacted' })
    await until(async () => (await cluster.metadataOf(1, [T])).brokers.length === 3, { timeoutMs: 30_000, what: 'three live brokers' })
    const admin = await cluster.open(2)
    const created = await admin.request(exchanges.createTopic, { name: T, partitions: 1, replicationFactor: 3, configs: { 'cleanup.policy': 'compact', 'delete.retention.ms': '60000' } })
    expect(created.ok).toBe(true)
    for (const id of [1, 2, 3]) {
      const broker = cluster.nodes.get(id)!.broker
      await until(() => broker.listTopics().some((t) => t.name === T), { timeoutMs: 20_000, what: `${T} on broker ${id}` })
      expect(broker.describeTopic(T).configs).toEqual({ 'cleanup.policy': 'compact', 'delete.retention.ms': '60000' })
    }
    const bad = await admin.request(exchanges.createTopic, { name: 'bad', partitions: 1, configs: { 'cleanup.policy': 'shred' } })
    expect(bad.ok).toBe(false)
    expect(bad).toMatchObject({ error: { errorName: 'INVALID_CONFIG' } })
  }, 120_000)
})
