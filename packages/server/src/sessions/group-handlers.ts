/**
 * @module The consumer-group exchanges of one connection, onto the broker's GroupCoordinator (groups/).
 * Authorization (security/authorization, a `group` resource as Kafka's): findCoordinator and describeGroups need
 * describe of the group; a heartbeat, a commit and a member's offset fetch read of the group; an admin offset fetch
 * (member "") describe. A heartbeat naming its subscriptions also needs read of every subscribed topic, a commit read
 * of every topic it commits, an offset fetch describe of every topic it names. listGroups leaves out the groups the
 * principal may not describe. A cluster peer may do everything.
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
  const { groups, access } = broker
  const topic = (op: 'read' | 'describe', t: string) => access.authorize(conn.principal(), op, t, 'ws')
  const group = (op: 'read' | 'describe', g: string) => access.authorizeGroup(conn.principal(), op, g, 'ws')
  return {
    findCoordinator: (q) => {
      group('describe', q.groupId)
      return groups.findCoordinator(q.groupId)
    },
    consumerGroupHeartbeat: (q) => {
      group('read', q.groupId)
      for (const t of q.subscribedTopicNames ?? []) topic('read', t)
      return groups.heartbeat(q, conn.remoteAddress())
    },
    offsetCommit: (q) => {
      group('read', q.groupId)
      for (const t of q.topics) topic('read', t.topic)
      return groups.commit(q)
    },
    offsetFetch: (q) => {
      group(q.memberId === '' ? 'describe' : 'read', q.groupId)
      for (const t of q.topics ?? []) topic('describe', t.topic)
      return groups.fetchOffsets(q)
    },
    listGroups: async () => ({ groups: (await groups.listGroups()).filter((g) => access.mayGroup(conn.principal(), 'describe', g.groupId)) }),
    describeGroups: (q) => {
      group('describe', q.groupId)
      return groups.describeGroup(q.groupId)
    },
  }
}
