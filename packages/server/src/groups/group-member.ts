/**
 * @module A consumer group member as the coordinator holds it (KIP-848). `assigned` is what the member was told it
 * owns at `memberEpoch`; `pendingRevocation` what it was told to give up and has not yet acknowledged (it still owns
 * those). Both count as owned: a partition is never in two members' owned sets.
 *
 * states: stable (owns its whole target at the assignment epoch); unrevoked (must give up pendingRevocation first;
 * its epoch stays until it does); unreleased (at the new epoch, waiting for partitions others still own).
 * `left`: a static member that left with epoch −2 keeps everything until its session timeout or its return.
 * `reportedOwned`: what the member last said it owns (a request's null ownedPartitions means "unchanged since the last
 * request"); null until it says (after a load from a log written before it said anything).
 */
import type { PartitionKey } from './partition-set.js'

export type MemberState = 'stable' | 'unrevoked' | 'unreleased'

export interface GroupMember {
  readonly memberId: string
  instanceId: string | null
  clientHost: string
  subscribedTopics: string[]
  serverAssignor: string | null
  rebalanceTimeoutMs: number
  memberEpoch: number
  previousMemberEpoch: number
  state: MemberState
  assigned: Set<PartitionKey>
  pendingRevocation: Set<PartitionKey>
  left: boolean
  reportedOwned: Set<PartitionKey> | null
  /** Volatile (not persisted): when the member is removed without a heartbeat (monotonic ms). */
  sessionDeadlineMs: number
  /** Volatile: when an unrevoked member is removed for not giving its partitions up. */
  revocationDeadlineMs: number | null
}

/** The persisted part of a member (the `member` record of __consumer_offsets). */
export type PersistedMember = Omit<GroupMember, 'sessionDeadlineMs' | 'revocationDeadlineMs'>

export function newMember(memberId: string, fields: Pick<GroupMember, 'instanceId' | 'clientHost' | 'subscribedTopics' | 'serverAssignor' | 'rebalanceTimeoutMs'>, nowMs: number, sessionTimeoutMs: number): GroupMember {
  return { memberId, ...fields, memberEpoch: 0, previousMemberEpoch: 0, state: 'stable', assigned: new Set(), pendingRevocation: new Set(), left: false, reportedOwned: null, sessionDeadlineMs: nowMs + sessionTimeoutMs, revocationDeadlineMs: null }
}
