import { describe, expect, it } from 'vitest'
import type { ConsumerGroupHeartbeatRequest } from '@samsa/shared'
import { ManualClock } from '../log/testing/manual-clock.js'
import { GroupCoordinator } from './group-coordinator.js'
import { groupPartition } from './group-partition.js'
import { MemoryOffsetsLogs } from './testing/memory-coordinator-ports.js'

const join = (memberId: string, extra: Partial<ConsumerGroupHeartbeatRequest> = {}): ConsumerGroupHeartbeatRequest => ({
  groupId: 'g', memberId, memberEpoch: 0, instanceId: null, rebalanceTimeoutMs: 5_000, subscribedTopicNames: ['orders'], serverAssignor: null, ownedPartitions: [], ...extra,
})
const beat = (memberId: string, memberEpoch: number, owned: ConsumerGroupHeartbeatRequest['ownedPartitions'] = null): ConsumerGroupHeartbeatRequest => ({
  groupId: 'g', memberId, memberEpoch, instanceId: null, rebalanceTimeoutMs: 5_000, subscribedTopicNames: null, serverAssignor: null, ownedPartitions: owned,
})

function setup() {
  const clock = new ManualClock()
  const logs = new MemoryOffsetsLogs(3)
  logs.topics.set('orders', 4)
  const coordinator = new GroupCoordinator(logs.ports(clock))
  coordinator.start()
  return { clock, logs, coordinator, p: groupPartition('g', 3) }
}

/** Lets the coordinator's sweep (a timer callback that loads and writes asynchronously) run to its end. */
async function advance(clock: ManualClock, ms: number) {
  clock.advance(ms)
  for (let i = 0; i < 100; i++) await Promise.resolve()
}

describe('GroupCoordinator', () => {
  it('answers a heartbeat only once its records are in the log, and a coordinator loading that log later serves the member as it was (failover)', async () => {
    const { clock, logs, coordinator, p } = setup()
    const a = await coordinator.heartbeat(join('a'), 'host-a')
    expect(a.memberEpoch).toBe(1)
    expect(logs.endOffset(p)).toBeGreaterThan(0)
    expect(await coordinator.commit({ groupId: 'g', memberId: 'a', memberEpoch: 1, topics: [{ topic: 'orders', partitions: [{ partition: 2, offset: 9, leaderEpoch: 0, metadata: null }] }] }))
      .toEqual({ topics: [{ topic: 'orders', partitions: [{ partition: 2, errorCode: 0 }] }] })
    coordinator.stop()

    logs.resign(p, 1) // a new leader epoch: another coordinator takes the partition
    const next = new GroupCoordinator(logs.ports(clock))
    next.start()
    const again = await next.heartbeat(beat('a', 1, a.assignment), 'host-a')
    expect(again).toMatchObject({ memberEpoch: 1, assignment: a.assignment })
    expect(await next.fetchOffsets({ groupId: 'g', memberId: 'a', memberEpoch: 1, topics: [{ topic: 'orders', partitions: [2] }] }))
      .toEqual({ topics: [{ topic: 'orders', partitions: [{ partition: 2, offset: 9, leaderEpoch: 0, metadata: null, errorCode: 0 }] }] })
    next.stop()
  })

  it('removes a silent member on its sweep after the session timeout (ManualClock) and writes its tombstone', async () => {
    const { clock, logs, coordinator, p } = setup()
    await coordinator.heartbeat(join('a'), 'h')
    const b = await coordinator.heartbeat(join('b'), 'h')
    await advance(clock, 9_000)
    await coordinator.heartbeat(beat('b', b.memberEpoch, []), 'h')
    const before = logs.endOffset(p)
    await advance(clock, 1_000)
    await advance(clock, 1_000)
    expect(logs.endOffset(p)).toBeGreaterThan(before)
    expect((await coordinator.listGroups())[0]).toMatchObject({ groupId: 'g', memberCount: 1 })
    await expect(coordinator.heartbeat(beat('a', 1), 'h')).rejects.toMatchObject({ errorName: 'UNKNOWN_MEMBER_ID' })
    coordinator.stop()
  })

  it('answers NOT_COORDINATOR once it stopped leading the partition, and COORDINATOR_NOT_AVAILABLE when an append fails (then reloads from the log)', async () => {
    const { logs, coordinator, p } = setup()
    const a = await coordinator.heartbeat(join('a'), 'h')
    logs.failAppends = true
    await expect(coordinator.heartbeat(join('b'), 'h')).rejects.toMatchObject({ errorName: 'COORDINATOR_NOT_AVAILABLE' })
    logs.failAppends = false
    // The refused join left no trace: the group is as the log says.
    expect((await coordinator.describeGroup('g')).members.map((m) => m.memberId)).toEqual(['a'])
    expect(await coordinator.heartbeat(beat('a', a.memberEpoch, a.assignment), 'h')).toMatchObject({ memberEpoch: 1 })
    logs.resign(p, null)
    await expect(coordinator.heartbeat(beat('a', 1), 'h')).rejects.toMatchObject({ errorName: 'NOT_COORDINATOR' })
    coordinator.stop()
  })

  it('refuses an invalid group id', async () => {
    const { coordinator } = setup()
    await expect(coordinator.heartbeat({ ...join('a'), groupId: '' }, 'h')).rejects.toMatchObject({ errorName: 'INVALID_GROUP_ID' })
    coordinator.stop()
  })
})
