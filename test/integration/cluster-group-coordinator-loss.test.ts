/**
 * The SDK's group member when its coordinator's broker stops (three in-process brokers): a commit made after the
 * stop is acknowledged by the new coordinator without waiting out the request timeout on the dead broker's
 * connection (the client's request timeout is 60 s here, so the commit can only succeed in time if the lost
 * connection is acted on), the member keeps its epoch, and the new coordinator serves the committed position.
 */
import { afterAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { exchanges } from '@samsa/shared'
import { createClient, type GroupClient } from '../../packages/client-browser/src/entries/groups.js'
import { memoryStorage } from '../../packages/client-browser/src/storage/memory-storage.js'
import { InProcessCluster } from '../support/in-process-cluster.js'
import type { RawConnection } from '../support/raw-connection.js'
import { until } from '../support/until.js'

const G = 'coordinator-loss'

describe('the SDK group member across the loss of its coordinator', () => {
  let cluster: InProcessCluster
  const clients: GroupClient[] = []
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => {})
    await cluster?.close()
  })

  it('a commit after the coordinator stops is acknowledged by the new coordinator, not after the request timeout', async () => {
    cluster = await InProcessCluster.start({ dirPrefix: 'samsa-group-loss', config: { offsetsTopicPartitions: 3, groupHeartbeatIntervalMs: 200, groupSessionTimeoutMs: 60_000 } })
    await until(async () => (await cluster.metadataOf(1, null)).brokers.length === 3, { timeoutMs: 30_000, what: 'three live brokers' })
    const admin = await cluster.open(1)
    expect(await admin.request(exchanges.createTopic, { name: 'orders', partitions: 1, replicationFactor: 3 })).toMatchObject({ ok: true })
    const coordinator = async (via: RawConnection, not?: number) => until(async () => {
      const r = await via.request(exchanges.findCoordinator, { groupId: G })
      return r.ok && r.value.brokerId !== not && cluster.nodes.has(r.value.brokerId) ? r.value.brokerId : null
    }, { timeoutMs: 30_000, what: 'the group coordinator' })
    const first = await coordinator(admin)

    const brokers = cluster.controllers.map((c) => c.url)
    const client = createClient({ brokers, WebSocket, storage: memoryStorage(), requestTimeoutMs: 60_000, heartbeatIntervalMs: 0 })
    clients.push(client)
    await client.producer({ lingerMs: 0 }).send('orders', Array.from({ length: 10 }, (_, i) => ({ value: `r${i}`, partition: 0 })))
    const sub = client.consumer({ groupId: G, autoCommit: false, lifecycle: null, sessionTimeoutMs: 60_000 }).subscribe('orders', { fromBeginning: true })
    const it = sub[Symbol.asyncIterator]()
    const next = async () => {
      const r = await it.next()
      if (r.done === true) throw new Error('the subscription ended')
      return r.value
    }
    expect((await next()).offset).toBe(0)
    await sub.commit()
    expect(sub.committed({ topic: 'orders', partition: 0 })?.offset).toBe(1)
    const epoch = sub.memberEpoch
    const inHand = await next() // offset 1: its commit is made after the stop

    await cluster.stopNode(first)
    await sub.commit() // bounded by the test's timeout, well below the 60 s request timeout
    expect(sub.committed({ topic: 'orders', partition: 0 })?.offset).toBe(inHand.offset + 1)
    expect(sub.memberEpoch).toBe(epoch)

    const survivor = [...cluster.nodes.keys()][0]!
    const now = await coordinator(await cluster.open(survivor), first)
    const read = await (await cluster.open(now)).request(exchanges.offsetFetch, { groupId: G, memberId: '', memberEpoch: -1, topics: [{ topic: 'orders', partitions: [0] }] })
    expect(read).toMatchObject({ ok: true, value: { topics: [{ partitions: [{ partition: 0, offset: inHand.offset + 1 }] }] } })
  }, 45_000)
})
