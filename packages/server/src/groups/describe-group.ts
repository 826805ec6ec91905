/**
 * @module A group's description (describeGroups, REST, the CLI): its members with what they own and their target,
 * and per partition the committed offset, the high watermark and the lag. lag = highWatermark − committed; for a
 * partition of a subscribed topic with no commit, the whole readable log (highWatermark − logStartOffset); −1 where
 * the high watermark is unknown to this broker.
 */
import type { DescribeGroupsResponse, GroupOffsetDescription } from '@samsa/shared'
import type { ConsumerGroup } from './consumer-group.js'
import type { CoordinatorPorts } from './coordinator-ports.js'
import { partitionKey, toTopicPartitions } from './partition-set.js'

export function describeGroup(group: ConsumerGroup, ports: Pick<CoordinatorPorts, 'partitionCount' | 'partitionOffsets'>): DescribeGroupsResponse {
  const members = [...group.members.values()]
    .sort((a, b) => (a.memberId < b.memberId ? -1 : 1))
    .map((m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId,
      memberEpoch: m.memberEpoch,
      clientHost: m.clientHost,
      subscribedTopicNames: m.subscribedTopics,
      assignment: toTopicPartitions([...m.assigned, ...m.pendingRevocation]),
      targetAssignment: toTopicPartitions(group.targetOf(m.memberId)),
    }))
  const offsets: GroupOffsetDescription[] = []
  const seen = new Set<string>()
  const lagOf = (topic: string, partition: number, committed: number) => {
    const o = ports.partitionOffsets(topic, partition)
    if (!o) return { highWatermark: -1, lag: -1 }
    return { highWatermark: o.highWatermark, lag: committed >= 0 ? Math.max(0, o.highWatermark - committed) : o.highWatermark - o.logStartOffset }
  }
  for (const c of group.offsets.all()) {
    seen.add(partitionKey(c.topic, c.partition))
    offsets.push({ topic: c.topic, partition: c.partition, committedOffset: c.value.offset, committedLeaderEpoch: c.value.leaderEpoch, ...lagOf(c.topic, c.partition, c.value.offset) })
  }
  const subscribed = [...new Set([...group.members.values()].flatMap((m) => m.subscribedTopics))].sort()
  for (const topic of subscribed) {
    const n = ports.partitionCount(topic) ?? 0
    for (let p = 0; p < n; p++) {
      if (!seen.has(partitionKey(topic, p))) offsets.push({ topic, partition: p, committedOffset: -1, committedLeaderEpoch: -1, ...lagOf(topic, p, -1) })
    }
  }
  offsets.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
  return { groupId: group.groupId, state: group.state, groupEpoch: group.groupEpoch, assignmentEpoch: group.assignmentEpoch, assignor: group.assignor, members, offsets }
}
