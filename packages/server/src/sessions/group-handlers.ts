/**
 * @module The consumer-group exchanges of one connection, onto the broker's GroupCoordinator (groups/).
 * Authorization: joining (a heartbeat naming its subscriptions) needs read of every subscribed topic, a commit read of
 * every topic it commits, an offset fetch describe of every topic it names; listGroups leaves out groups whose
 * committed topics the principal may not describe. A cluster peer may do everything.
 */
import type { Broker } from '../broker/broker.js'
import type { Principal } from '../security/principal.js'
import type { RequestHandlers } from './request-handlers.js'

type GroupExchange = 'findCoordinator' | 'consumerGroupHeartbeat' | 'offsetCommit' | 'offsetFetch' | 'listGroups' | 'describeGroups'

export interface GroupConnection {
  principal(): Principal
  remoteAddress(): string
}

export function groupHandlers(broker: Broker, conn: GroupConnection): Pick<RequestHandlers, GroupExchange> {
  const groups = broker.groups
  const authorize = (op: 'read' | 'describe', topic: string) => broker.access.authorize(conn.principal(), op, topic, 'ws')
  return {
    findCoordinator: (q) => groups.findCoordinator(q.groupId),
    consumerGroupHeartbeat: (q) => {
      for (const t of q.subscribedTopicNames ?? []) authorize('read', t)
      return groups.heartbeat(q, conn.remoteAddress())
    },
    offsetCommit: (q) => {
      for (const t of q.topics) authorize('read', t.topic)
      return groups.commit(q)
    },
    offsetFetch: (q) => {
      for (const t of q.topics ?? []) authorize('describe', t.topic)
      return groups.fetchOffsets(q)
    },
    listGroups: async () => ({ groups: await groups.listGroups() }),
    describeGroups: (q) => groups.describeGroup(q.groupId),
  }
}
