/**
 * @module `__consumer_offsets` belongs to the group coordinators: clients may read it (it is a topic like any other)
 * but not write, create or delete it, so no record the coordinator did not write can reach a group's state.
 */
import { SamsaError } from '@samsa/shared'
import { OFFSETS_TOPIC } from './group-partition.js'

/** Throws POLICY_VIOLATION when a client's request would write, create or delete the internal topic. */
export function refuseInternalTopic(topic: unknown, what: 'written' | 'created' | 'deleted'): void {
  if (topic === OFFSETS_TOPIC) throw new SamsaError('POLICY_VIOLATION', `${OFFSETS_TOPIC} is internal: only the group coordinators write it, and it cannot be ${what} by a client`)
}
