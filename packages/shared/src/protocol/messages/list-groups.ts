/**
 * @module listGroups: the consumer groups this broker coordinates (a client asking the whole cluster asks every
 * broker and merges: each group has exactly one coordinator). Groups the principal may not describe are left out.
 *
 * Request:  (empty)
 * Response: count u32, [groupId string, state string, memberCount i32, groupEpoch i32]…
 */
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'

/** KIP-848 group states: no members; members converging on a new target assignment; every member at the target. */
export const GROUP_STATES = ['empty', 'assigning', 'reconciling', 'stable'] as const
export type GroupState = (typeof GROUP_STATES)[number]

export type ListGroupsRequest = Record<string, never>

export interface GroupListing {
  readonly groupId: string
  readonly state: string
  readonly memberCount: number
  readonly groupEpoch: number
}

export interface ListGroupsResponse {
  readonly groups: readonly GroupListing[]
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const listGroupsClientSide: ClientExchange<ListGroupsRequest, ListGroupsResponse> = {
  apiKey: ApiKeys.LIST_GROUPS,
  name: 'listGroups',
  encodeRequest: () => {},
  decodeResponse: (r) => {
    const groups = Array.from({ length: r.count(12) }, () => ({ groupId: r.string(), state: r.string(), memberCount: r.i32(), groupEpoch: r.i32() }))
    r.end()
    return { groups }
  },
}

export const listGroups: Exchange<ListGroupsRequest, ListGroupsResponse> = /* @__PURE__ */ withBrokerSide(listGroupsClientSide, {
  decodeRequest: (r) => {
    r.end()
    return {}
  },
  encodeResponse: (w, s) => {
    w.u32(s.groups.length)
    for (const g of s.groups) w.string(g.groupId).string(g.state).i32(g.memberCount).i32(g.groupEpoch)
  },
})
