/**
 * @module Consumer-group observations for tests, at the protocol level (RawConnection): the group's coordinator, its
 * description (members, epochs, assignment, lag) and its committed offsets. Each asks any of the given brokers for the
 * coordinator, then the coordinator, and starts over on a retriable error (the coordinator moving with the leadership
 * of its `__consumer_offsets` partition, or still loading it) until its deadline; other errors are thrown.
 */
import { exchanges } from '../../packages/shared/src/index.js'
import type { TopicPartitions } from '../../packages/shared/src/protocol/group-topic-partitions.js'
import type { DescribeGroupsResponse } from '../../packages/shared/src/protocol/messages/describe-groups.js'
import type { FindCoordinatorResponse } from '../../packages/shared/src/protocol/messages/find-coordinator.js'
import { RawConnection, type Outcome } from './raw-connection.js'

const MOVING = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS'])

async function once<T>(url: string, ask: (c: RawConnection) => Promise<Outcome<T>>): Promise<Outcome<T> | null> {
  let c: RawConnection | null = null
  try {
    c = await RawConnection.open(url)
    return await ask(c)
  } catch {
    return null // the broker is down or the connection dropped: another try
  } finally {
    c?.close()
  }
}

/**
 * Asks the group's coordinator `ask` until it answers without a retriable error, trying `brokers` in turn for the
 * coordinator; throws the broker's error for anything else, or names the last answer at the deadline.
 */
export async function askCoordinator<T>(brokers: readonly string[], groupId: string, ask: (c: RawConnection) => Promise<Outcome<T>>, timeoutMs = 15_000): Promise<{ value: T; coordinator: FindCoordinatorResponse }> {
  const deadline = Date.now() + timeoutMs
  let last = 'no broker answered'
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const found = await once(brokers[attempt % brokers.length]!, (c) => c.request(exchanges.findCoordinator, { groupId }))
    if (found?.ok) {
      const r = await once(found.value.url, ask)
      if (r?.ok) return { value: r.value, coordinator: found.value }
      if (r && !MOVING.has(r.error.errorName)) throw r.error
      last = r ? `coordinator ${found.value.brokerId} answered ${r.error.errorName}` : `coordinator ${found.value.brokerId} did not answer`
    } else if (found) {
      if (!MOVING.has(found.error.errorName)) throw found.error
      last = `findCoordinator answered ${found.error.errorName}`
    }
    await new Promise((r) => setTimeout(r, Math.min(20 * 2 ** Math.min(attempt, 4), 250)))
  }
  throw new Error(`group ${groupId}: no coordinator answered within ${timeoutMs} ms (${last})`)
}

/** The group as its coordinator describes it. */
export async function describeGroup(brokers: readonly string[], groupId: string, timeoutMs?: number): Promise<DescribeGroupsResponse & { coordinator: number }> {
  const { value, coordinator } = await askCoordinator(brokers, groupId, (c) => c.request(exchanges.describeGroups, { groupId }), timeoutMs)
  return { ...value, coordinator: coordinator.brokerId }
}

/** The group's committed offset of each partition asked for (−1: none), as an admin reads it (memberId "", epoch −1). */
export async function committedOffsets(brokers: readonly string[], groupId: string, topics: readonly TopicPartitions[], timeoutMs?: number): Promise<{ topic: string; partition: number; offset: number; leaderEpoch: number }[]> {
  const { value } = await askCoordinator(brokers, groupId, (c) => c.request(exchanges.offsetFetch, { groupId, memberId: '', memberEpoch: -1, topics }), timeoutMs)
  const out: { topic: string; partition: number; offset: number; leaderEpoch: number }[] = []
  for (const t of value.topics) {
    for (const p of t.partitions) {
      if (p.errorCode !== 0) throw new Error(`offsetFetch ${groupId} ${t.topic}/${p.partition}: error code ${p.errorCode}`)
      out.push({ topic: t.topic, partition: p.partition, offset: p.offset, leaderEpoch: p.leaderEpoch })
    }
  }
  return out
}
