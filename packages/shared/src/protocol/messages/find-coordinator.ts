/**
 * @module findCoordinator: which broker coordinates a consumer group. The coordinator of group G is the leader of
 * partition `groupPartition(G, n)` of the internal compacted topic `__consumer_offsets` (n partitions), so it moves
 * with that partition's leadership on failover. Any broker answers; COORDINATOR_NOT_AVAILABLE (retriable) while the
 * topic does not exist yet or its partition has no leader. A client sends every group request to the broker named
 * here and asks again on NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE.
 *
 * Request:  groupId string
 * Response: brokerId i32, url string (the broker's advertised WebSocket URL)
 */
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'

export interface FindCoordinatorRequest {
  readonly groupId: string
}

export interface FindCoordinatorResponse {
  readonly brokerId: number
  readonly url: string
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const findCoordinatorClientSide: ClientExchange<FindCoordinatorRequest, FindCoordinatorResponse> = {
  apiKey: ApiKeys.FIND_COORDINATOR,
  name: 'findCoordinator',
  encodeRequest: (w, q) => void w.string(q.groupId),
  decodeResponse: (r) => {
    const s = { brokerId: r.i32(), url: r.string() }
    r.end()
    return s
  },
}

export const findCoordinator: Exchange<FindCoordinatorRequest, FindCoordinatorResponse> = /* @__PURE__ */ withBrokerSide(findCoordinatorClientSide, {
  decodeRequest: (r) => {
    const q = { groupId: r.string() }
    r.end()
    return q
  },
  encodeResponse: (w, s) => void w.i32(s.brokerId).string(s.url),
})
