/**
 * Consumer groups in a cluster: the coordinator of a group is the leader of its `__consumer_offsets` partition
 * (replicated on three in-process brokers). When that broker stops, another becomes leader, loads the group from its
 * replica of the partition, and the member carries on at its epoch: its commits continue and no acknowledged
 * commit is lost.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { exchanges, type TopicPartitions } from '@samsa/shared'
import { InProcessCluster } from '../support/in-process-cluster.js'
import type { RawConnection } from '../support/raw-connection.js'
import { until } from '../support/until.js'

const G = 'billing'

describe('consumer groups in a cluster', () => {
  let cluster: InProcessCluster
  afterAll(async () => {
    await cluster?.close()
  })

  it('the coordinator moves with the leader of the group\'s offsets partition; commits continue and none acknowledged is lost', async () => {
    cluster = await InProcessCluster.start({ dirPrefix: 'samsa-groups-cluster', config: { offsetsTopicPartitions: 3, groupHeartbeatIntervalMs: 50, groupSessionTimeoutMs: 20_000 } })
    await until(async () => (await cluster.metadataOf(1, null)).brokers.length === 3, { timeoutMs: 30_000, what: 'three live brokers' })
    const admin = await cluster.open(1)
    expect(await admin.request(exchanges.createTopic, { name: 'orders', partitions: 6, replicationFactor: 3 })).toMatchObject({ ok: true })

    const findCoordinator = async (via: RawConnection, not?: number) => until(async () => {
      const r = await via.request(exchanges.findCoordinator, { groupId: G })
      return r.ok && r.value.brokerId !== not && cluster.nodes.has(r.value.brokerId) ? r.value : null
    }, { timeoutMs: 30_000, what: 'the group coordinator' })
    const first = await findCoordinator(admin)
    const offsets = (await cluster.metadataOf(1, ['__consumer_offsets'])).topics[0]!
    expect(offsets.partitions.length).toBe(3)
    expect(offsets.partitions.every((p) => p.replicas?.length === 3)).toBe(true)

    let conn = await cluster.open(first.brokerId)
    let epoch = 0
    let owned: readonly TopicPartitions[] = []
    const heartbeat = async (memberEpoch = epoch) => {
      const r = await conn.request(exchanges.consumerGroupHeartbeat, {
        groupId: G, memberId: 'member-1', memberEpoch, instanceId: null, rebalanceTimeoutMs: 10_000,
        subscribedTopicNames: memberEpoch === 0 ? ['orders'] : null, serverAssignor: null, ownedPartitions: owned,
      })
      if (!r.ok) throw r.error
      epoch = r.value.memberEpoch
      owned = r.value.assignment ?? owned
    }
    await until(async () => {
      await heartbeat(0)
      return owned.length > 0
    }, { timeoutMs: 20_000, what: 'the member\'s assignment' })
    expect(owned[0]!.partitions.length).toBe(6)
    const joinedEpoch = epoch

    let acknowledged = 0
    const commit = async (offset: number) => {
      const r = await conn.request(exchanges.offsetCommit, { groupId: G, memberId: 'member-1', memberEpoch: epoch, topics: [{ topic: 'orders', partitions: [{ partition: 0, offset, leaderEpoch: 0, metadata: null }] }] })
      if (r.ok && r.value.topics[0]!.partitions[0]!.errorCode === 0) acknowledged = offset
      return r
    }
    for (let i = 1; i <= 20; i++) expect(await commit(i)).toMatchObject({ ok: true })

    // The coordinator stops (as a crash looks to the others); another broker takes the partition and loads the group.
    const stopped = Date.now()
    await cluster.stopNode(first.brokerId)
    const survivor = [...cluster.nodes.keys()][0]!
    const next = await findCoordinator(await cluster.open(survivor), first.brokerId)
    conn = await cluster.open(next.brokerId)
    const readBack = async () => {
      const r = await conn.request(exchanges.offsetFetch, { groupId: G, memberId: '', memberEpoch: -1, topics: [{ topic: 'orders', partitions: [0] }] })
      return r.ok ? r.value.topics[0]!.partitions[0]!.offset : null
    }
    // Before anything new is committed: the last commit acknowledged by the old coordinator is there.
    expect(await until(readBack, { timeoutMs: 30_000, what: 'committed offsets from the new coordinator' })).toBe(acknowledged)
    await until(async () => (await commit(acknowledged + 1)).ok, { timeoutMs: 30_000, what: 'a commit to the new coordinator' })
    const failoverMs = Date.now() - stopped
    for (let i = 0; i < 10; i++) expect(await commit(acknowledged + 1)).toMatchObject({ ok: true })
    await heartbeat()
    expect(epoch).toBe(joinedEpoch) // the member was loaded as it was: no rebalance, same epoch

    expect(await readBack()).toBe(acknowledged)
    console.info(`consumer groups, cluster: coordinator failover to the first acknowledged commit ${failoverMs} ms`)
  }, 120_000)
})
