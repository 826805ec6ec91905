/**
 * @module REST for consumer groups: `GET /v1/groups` (the groups this broker coordinates: in a cluster, ask every
 * broker and merge, as `samsa groups list` does) and `GET /v1/groups/:id` (members, assignments, committed offsets,
 * high watermarks and lag, from the group's coordinator: elsewhere 421 NOT_COORDINATOR naming the coordinator's
 * id (details.coordinatorId) and URL (in the message)). Translation only (groups/ holds the rules). Authorization: describe
 * of the group (403 otherwise; the list leaves out the groups the principal may not describe).
 */
import type { Context, Hono } from 'hono'
import { SamsaError, type DescribeGroupsResponse } from '@samsa/shared'
import type { Broker } from '../broker/broker.js'
import type { Principal } from '../security/principal.js'

type ErrorResponse = (c: Context, err: unknown) => Response

export function mountGroupRoutes(app: Hono, broker: Broker, principalOf: (c: Context) => Promise<Principal>, errorResponse: ErrorResponse): void {
  const { access, groups } = broker
  app.get('/v1/groups', async (c) => {
    try {
      const principal = await principalOf(c)
      return c.json({ groups: (await groups.listGroups()).filter((g) => access.mayGroup(principal, 'describe', g.groupId)) })
    } catch (e) {
      return errorResponse(c, e)
    }
  })
  app.get('/v1/groups/:id', async (c) => {
    try {
      const id = c.req.param('id')
      access.authorizeGroup(await principalOf(c), 'describe', id, 'http')
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
      return c.json(d)
    } catch (e) {
      return errorResponse(c, e)
    }
  })
}
