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

  it('answers COORDINATOR_LOAD_IN_PROGRESS while its partition loads longer than the load wait, and serves once loaded', async () => {
    const { clock, logs, coordinator } = setup()
    const first = await coordinator.heartbeat(join('a'), 'h')
    coordinator.stop()
    let release = () => {}
    logs.readsHeld = new Promise<void>((r) => (release = r))
    const next = new GroupCoordinator(logs.ports(clock))
    const waiting = next.heartbeat(beat('a', 1, first.assignment), 'h')
    await advance(clock, 2_000)
    await expect(waiting).rejects.toMatchObject({ errorName: 'COORDINATOR_LOAD_IN_PROGRESS' })
    release()
    expect(await next.heartbeat(beat('a', 1, first.assignment), 'h')).toMatchObject({ memberEpoch: 1 })
  })

  it('deletes a group once its last member left and it has no commits (a tombstone), so it counts no more against maxGroups', async () => {
    const { clock, logs, coordinator, p } = setup()
    const a = await coordinator.heartbeat(join('a'), 'h')
    expect(coordinator.stats.groups).toBe(1)
    await coordinator.heartbeat(beat('a', -1), 'h')
    expect(coordinator.stats.groups).toBe(0)
    await expect(coordinator.describeGroup('g')).rejects.toMatchObject({ errorName: 'GROUP_ID_NOT_FOUND' })
    expect(a.memberEpoch).toBe(1)
    coordinator.stop()
    // A coordinator loading the log finds no group either.
    logs.resign(p, 1)
    const next = new GroupCoordinator(logs.ports(clock))
    expect(await next.listGroups()).toEqual([])
  })

  it('refuses a member\'s commit of a partition it does not own (STALE_MEMBER_EPOCH for that partition), so a late commit cannot move the new owner\'s offset back', async () => {
    const { coordinator } = setup()
    const a = await coordinator.heartbeat(join('a'), 'h')
    const b = await coordinator.heartbeat(join('b'), 'h')
    const a1 = await coordinator.heartbeat(beat('a', a.memberEpoch, a.assignment), 'h') // told to give up half
    const a2 = await coordinator.heartbeat(beat('a', 1, a1.assignment), 'h') // gave them up
    const b1 = await coordinator.heartbeat(beat('b', b.memberEpoch, []), 'h')
    const mine = a2.assignment![0]!.partitions[0]!
    const theirs = b1.assignment![0]!.partitions[0]!
    const commit = (memberId: string, memberEpoch: number, partition: number, offset: number) =>
      coordinator.commit({ groupId: 'g', memberId, memberEpoch, topics: [{ topic: 'orders', partitions: [{ partition, offset, leaderEpoch: 0, metadata: null }] }] })
    expect(await commit('b', b1.memberEpoch, theirs, 50)).toEqual({ topics: [{ topic: 'orders', partitions: [{ partition: theirs, errorCode: 0 }] }] })
    expect(await commit('a', a2.memberEpoch, theirs, 10)).toEqual({ topics: [{ topic: 'orders', partitions: [{ partition: theirs, errorCode: 113 }] }] })
    expect(await commit('a', a2.memberEpoch, mine, 7)).toEqual({ topics: [{ topic: 'orders', partitions: [{ partition: mine, errorCode: 0 }] }] })
    const fetched = await coordinator.fetchOffsets({ groupId: 'g', memberId: '', memberEpoch: -1, topics: [{ topic: 'orders', partitions: [theirs] }] })
    expect(fetched.topics[0]!.partitions[0]!.offset).toBe(50)
    coordinator.stop()
  })

  it('refuses an invalid group id', async () => {
    const { coordinator } = setup()
    await expect(coordinator.heartbeat({ ...join('a'), groupId: '' }, 'h')).rejects.toMatchObject({ errorName: 'INVALID_GROUP_ID' })
    coordinator.stop()
  })
})
