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
import type { RequestHandlers, SessionView } from './request-handlers.js'

type GroupExchange = 'findCoordinator' | 'consumerGroupHeartbeat' | 'offsetCommit' | 'offsetFetch' | 'listGroups' | 'describeGroups'

/** The broker's group handlers (built once per broker, as the others); `principalOf` names who a connection speaks for. */
export function groupHandlers(broker: Broker, principalOf: (session: SessionView) => Principal): Pick<RequestHandlers, GroupExchange> {
  const { groups, access } = broker
  const topic = (session: SessionView, op: 'read' | 'describe', t: string) => access.authorize(principalOf(session), op, t, 'ws')
  const group = (session: SessionView, op: 'read' | 'describe', g: string) => access.authorizeGroup(principalOf(session), op, g, 'ws')
  return {
    findCoordinator: (q, session) => {
      group(session, 'describe', q.groupId)
      return groups.findCoordinator(q.groupId)
    },
    consumerGroupHeartbeat: (q, session) => {
      group(session, 'read', q.groupId)
      for (const t of q.subscribedTopicNames ?? []) topic(session, 'read', t)
      return groups.heartbeat(q, session.remoteAddress)
    },
    offsetCommit: (q, session) => {
      group(session, 'read', q.groupId)
      for (const t of q.topics) topic(session, 'read', t.topic)
      return groups.commit(q)
    },
    offsetFetch: (q, session) => {
      group(session, q.memberId === '' ? 'describe' : 'read', q.groupId)
      for (const t of q.topics ?? []) topic(session, 'describe', t.topic)
      return groups.fetchOffsets(q)
    },
    listGroups: async (_q, session) => ({ groups: (await groups.listGroups()).filter((g) => access.mayGroup(principalOf(session), 'describe', g.groupId)) }),
    describeGroups: (q, session) => {
      group(session, 'describe', q.groupId)
      return groups.describeGroup(q.groupId)
    },
  }
}
