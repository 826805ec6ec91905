/**
 * @module Server-side assignors (KIP-848): from the members' subscriptions, the subscribed topics' partition counts
 * and the current target assignment, the next target assignment. Both are sticky: a member keeps the partitions it
 * has where balance allows, so a join or a leave moves as few partitions as it can.
 *
 * Invariants (both): every partition of a subscribed topic goes to exactly one member subscribed to that topic (none
 * when nobody subscribes); no partition twice; deterministic for the same input (members are taken in memberId order).
 * - uniform: over all the group's partitions, with identical subscriptions every member holds ⌊P/M⌋ or ⌈P/M⌉; kept
 *   partitions first (members keeping the most get the ⌈P/M⌉ places), the rest to the least loaded eligible member.
 * - range: per topic, each subscribed member holds ⌊n/k⌋ or ⌈n/k⌉ of its n partitions; a fresh assignment is
 *   contiguous ranges in memberId order (co-partitioned topics line up), kept partitions stay within those counts.
 */
import { GROUP_ASSIGNORS, type GroupAssignorName } from '@samsa/shared'
import { partitionKey, type PartitionKey } from './partition-set.js'

export interface AssignorMember {
  readonly memberId: string
  readonly subscribedTopics: readonly string[]
}

export interface AssignorInput {
  readonly members: readonly AssignorMember[]
  /** Partition count of each subscribed topic that exists. */
  readonly partitionCounts: ReadonlyMap<string, number>
  /** The current target assignment by member id (members absent from `members` are ignored). */
  readonly current: ReadonlyMap<string, ReadonlySet<PartitionKey>>
}

export type Assignment = Map<string, Set<PartitionKey>>

export const isAssignor = (s: string): s is GroupAssignorName => (GROUP_ASSIGNORS as readonly string[]).includes(s)

/** The assignor most members ask for (ties: the first in GROUP_ASSIGNORS); uniform when none asks. */
export function chooseAssignor(members: Iterable<{ readonly serverAssignor: string | null }>): GroupAssignorName {
  const votes = new Map<GroupAssignorName, number>()
  for (const m of members) if (m.serverAssignor !== null && isAssignor(m.serverAssignor)) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1)
  let best: GroupAssignorName = 'uniform'
  for (const a of GROUP_ASSIGNORS) if ((votes.get(a) ?? 0) > (votes.get(best) ?? 0)) best = a
  return best
}

export function assign(name: GroupAssignorName, input: AssignorInput): Assignment {
  return name === 'range' ? rangeAssign(input) : uniformAssign(input)
}

const byId = (members: readonly AssignorMember[]) => [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))

function emptyAssignment(members: readonly AssignorMember[]): Assignment {
  return new Map(members.map((m) => [m.memberId, new Set<PartitionKey>()]))
}

/** Every partition of the group's subscribed topics, with the members that may take it. */
function eligibility(members: readonly AssignorMember[], counts: ReadonlyMap<string, number>): Map<PartitionKey, string[]> {
  const out = new Map<PartitionKey, string[]>()
  const topics = [...new Set(members.flatMap((m) => m.subscribedTopics))].sort()
  for (const topic of topics) {
    const n = counts.get(topic) ?? 0
    const subscribers = members.filter((m) => m.subscribedTopics.includes(topic)).map((m) => m.memberId)
    for (let p = 0; p < n; p++) out.set(partitionKey(topic, p), subscribers)
  }
  return out
}

export function uniformAssign({ members: unsorted, partitionCounts, current }: AssignorInput): Assignment {
  const members = byId(unsorted)
  const out = emptyAssignment(members)
  if (members.length === 0) return out
  const eligible = eligibility(members, partitionCounts)
  const floor = Math.floor(eligible.size / members.length)
  let ceilPlaces = eligible.size % members.length
  // Kept partitions: still subscribed and existing, each claimed once.
  const kept = new Map<string, PartitionKey[]>()
  const claimed = new Set<PartitionKey>()
  for (const m of members) {
    const mine = [...(current.get(m.memberId) ?? [])].filter((k) => !claimed.has(k) && (eligible.get(k) ?? []).includes(m.memberId)).sort()
    mine.forEach((k) => claimed.add(k))
    kept.set(m.memberId, mine)
  }
  // Quotas: the members keeping the most get the ⌈P/M⌉ places first (they then lose least).
  const byKept = [...members].sort((a, b) => kept.get(b.memberId)!.length - kept.get(a.memberId)!.length)
  for (const m of byKept) {
    let quota = floor
    if (ceilPlaces > 0 && kept.get(m.memberId)!.length > floor) {
      quota++
      ceilPlaces--
    }
    for (const k of kept.get(m.memberId)!.slice(0, quota)) out.get(m.memberId)!.add(k)
  }
  const taken = new Set([...out.values()].flatMap((s) => [...s]))
  for (const [k, subscribers] of eligible) {
    if (taken.has(k) || subscribers.length === 0) continue
    let best: string | undefined
    for (const id of subscribers) if (best === undefined || out.get(id)!.size < out.get(best)!.size) best = id
    out.get(best!)!.add(k)
  }
  return out
}

export function rangeAssign({ members: unsorted, partitionCounts, current }: AssignorInput): Assignment {
  const members = byId(unsorted)
  const out = emptyAssignment(members)
  const topics = [...new Set(members.flatMap((m) => m.subscribedTopics))].sort()
  for (const topic of topics) {
    const n = partitionCounts.get(topic) ?? 0
    const subscribers = members.filter((m) => m.subscribedTopics.includes(topic)).map((m) => m.memberId)
    if (n === 0 || subscribers.length === 0) continue
    const floor = Math.floor(n / subscribers.length)
    let ceilPlaces = n % subscribers.length
    const keptOf = (id: string) => [...(current.get(id) ?? [])].filter((k) => k.startsWith(`${topic}:`) && Number(k.slice(topic.length + 1)) < n)
    const claimed = new Set<PartitionKey>()
    const kept = new Map(subscribers.map((id) => {
      const mine = keptOf(id).filter((k) => !claimed.has(k))
      mine.forEach((k) => claimed.add(k))
      return [id, mine.sort((a, b) => Number(a.slice(topic.length + 1)) - Number(b.slice(topic.length + 1)))] as const
    }))
    const quota = new Map<string, number>()
    // Without kept partitions the first n % k members in id order get the larger ranges (Kafka's range rule).
    const order = [...subscribers].sort((a, b) => kept.get(b)!.length - kept.get(a)!.length || (a < b ? -1 : 1))
    const anyKept = order.some((id) => kept.get(id)!.length > 0)
    for (const id of anyKept ? order : subscribers) {
      let q = floor
      if (ceilPlaces > 0 && (!anyKept || kept.get(id)!.length > floor)) {
        q++
        ceilPlaces--
      }
      quota.set(id, q)
    }
    // Places still free go to the first members in id order.
    for (const id of subscribers) {
      if (ceilPlaces === 0) break
      if (quota.get(id) === floor) {
        quota.set(id, floor + 1)
        ceilPlaces--
      }
    }
    const taken = new Set<PartitionKey>()
    for (const id of subscribers) {
      for (const k of kept.get(id)!.slice(0, quota.get(id)!)) {
        out.get(id)!.add(k)
        taken.add(k)
      }
    }
    let next = 0
    for (const id of subscribers) {
      while (countOf(out.get(id)!, topic) < quota.get(id)!) {
        while (taken.has(partitionKey(topic, next))) next++
        out.get(id)!.add(partitionKey(topic, next))
        taken.add(partitionKey(topic, next))
      }
    }
  }
  return out
}

function countOf(set: ReadonlySet<PartitionKey>, topic: string): number {
  let n = 0
  for (const k of set) if (k.startsWith(`${topic}:`)) n++
  return n
}
