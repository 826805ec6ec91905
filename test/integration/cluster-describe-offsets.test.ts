/**
 * `admin.describeTopic` in a cluster reports each partition's offsets as its leader has them, whichever broker the
 * client bootstrapped from: a follower learns the high watermark only with its next fetch, so its own figures may lag
 * right after an acknowledged write. Three in-process combined-mode nodes over real WebSockets and files.
 */
import { afterAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { exchanges } from '@samsa/shared'
import { createClient, memoryStorage, type SamsaClient } from '@samsa/client-browser'
import { InProcessCluster } from '../support/in-process-cluster.js'
import { until } from '../support/until.js'

const T = 'described'

describe('describeTopic in a cluster', () => {
  let cluster: InProcessCluster
  const clients: SamsaClient[] = []
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()))
    await cluster?.close()
  })

  it('gives the leader\'s high watermark and log end right after an acknowledged write, asked through a follower', async () => {
    cluster = await InProcessCluster.start({ dirPrefix: 'samsa-describe' })
    await until(async () => (await cluster.metadataOf(1, [T])).brokers.length === 3, { timeoutMs: 30_000, what: 'three live brokers' })
    const admin = await cluster.open(1)
    expect((await admin.request(exchanges.createTopic, { name: T, partitions: 1, replicationFactor: 3, minInsyncReplicas: 2 })).ok).toBe(true)
    const p = await until(async () => {
      const m = await cluster.partitionOn(1, T)
      return m && m.leader > 0 && m.isr?.length === 3 ? m : undefined
    }, { timeoutMs: 20_000, what: `${T}/0 with a leader and three replicas in the ISR` })
    const follower = [1, 2, 3].find((id) => id !== p.leader)!
    const c = createClient({ brokers: cluster.nodes.get(follower)!.url, clientId: 'describe', WebSocket: WebSocket as never, storage: memoryStorage() })
    clients.push(c)
    const producer = c.producer({ acks: 'all', lingerMs: 0 })
    for (let round = 1; round <= 5; round++) {
      await producer.send(T, [{ value: `r${round}`, partition: 0 }])
      const d = (await c.admin.describeTopic(T)).partitions[0]!
      expect({ leader: d.leader, highWatermark: d.highWatermark, logEndOffset: d.logEndOffset }).toEqual({ leader: p.leader, highWatermark: round, logEndOffset: round })
    }
  }, 120_000)
})
