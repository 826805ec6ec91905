/**
 * @module Topic changes on behalf of a principal, over `/ws` and the REST API alike: the authorization check before
 * the change (for a name; a value that is no name is refused by createTopic itself, and a delete is refused whether
 * or not the topic exists), the change, and its audit line. A peer's forwarded change is audited by the broker its
 * client asked. `__consumer_offsets` is internal: only the group coordinator creates it, and no client deletes it.
 */
import type { Broker, TopicSummary } from '../../broker/broker.js'
import type { CreateTopicOptions } from '../../broker/topic-operations.js'
import type { Principal } from '../principal.js'
import type { Via } from './access-control.js'
import { refuseInternalTopic } from '../../groups/internal-topic.js'

export async function createTopicAs(broker: Broker, principal: Principal, via: Via, name: unknown, partitions: unknown, opts: CreateTopicOptions = {}): Promise<TopicSummary> {
  if (typeof name === 'string') broker.access.authorize(principal, 'create', name, via, 'topic.create')
  if (principal.kind !== 'peer') refuseInternalTopic(name, 'created')
  const created = await broker.createTopic(name, partitions, opts)
  if (principal.kind !== 'peer') broker.access.changed(principal, 'topic.create', created.name, via)
  return created
}

export async function deleteTopicAs(broker: Broker, principal: Principal, via: Via, name: string, opts: { fromPeer?: boolean } = {}): Promise<void> {
  broker.access.authorize(principal, 'delete', name, via, 'topic.delete')
  if (principal.kind !== 'peer') refuseInternalTopic(name, 'deleted')
  await broker.deleteTopic(name, opts)
  if (principal.kind !== 'peer') broker.access.changed(principal, 'topic.delete', name, via)
}
