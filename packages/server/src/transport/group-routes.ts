/**
 * @module REST for consumer groups: `GET /v1/groups` (the groups this broker coordinates: in a cluster, ask every
 * broker and merge, as `samsa groups list` does) and `GET /v1/groups/:id` (members, assignments, committed offsets,
 * high watermarks and lag, from the group's coordinator: elsewhere 421 NOT_COORDINATOR naming the coordinator's
 * id (details.coordinatorId) and URL (in the message)). Translation only (groups/ holds the rules). Authorization: a group is shown only to a
 * principal that may describe every topic it subscribes to or has committed (403 otherwise; the list leaves it out).
 */
import type { Context, Hono } from 'hono'
import { SamsaError, type DescribeGroupsResponse } from '@samsa/shared'
import type { Broker } from '../broker/broker.js'
import type { Principal } from '../security/principal.js'

type ErrorResponse = (c: Context, err: unknown) => Response

function topicsOf(d: DescribeGroupsResponse): string[] {
  return [...new Set([...d.offsets.map((o) => o.topic), ...d.members.flatMap((m) => m.subscribedTopicNames)])]
}

export function mountGroupRoutes(app: Hono, broker: Broker, principalOf: (c: Context) => Promise<Principal>, errorResponse: ErrorResponse): void {
  const { access, groups } = broker
  app.get('/v1/groups', async (c) => {
    try {
      const principal = await principalOf(c)
      const listed = await groups.listGroups()
      const visible = []
      for (const g of listed) {
        const d = await groups.describeGroup(g.groupId).catch(() => null)
        if (d === null || topicsOf(d).every((t) => access.may(principal, 'describe', t))) visible.push(g)
      }
      return c.json({ groups: visible })
    } catch (e) {
      return errorResponse(c, e)
    }
  })
  app.get('/v1/groups/:id', async (c) => {
    try {
      const principal = await principalOf(c)
      const id = c.req.param('id')
      let d: DescribeGroupsResponse
      try {
        d = await groups.describeGroup(id)
      } catch (e) {
        if (e instanceof SamsaError && e.code === 16) {
          const coordinator = await groups.findCoordinator(id).catch(() => null)
          throw coordinator ? new SamsaError('NOT_COORDINATOR', `${e.message}: it is broker ${coordinator.brokerId} at ${coordinator.url}`, { coordinatorId: coordinator.brokerId }) : e
        }
        throw e
      }
      for (const t of topicsOf(d)) access.authorize(principal, 'describe', t, 'http')
      return c.json(d)
    } catch (e) {
      return errorResponse(c, e)
    }
  })
}
