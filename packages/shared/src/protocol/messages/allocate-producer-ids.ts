/**
 * @module allocateProducerIds: a broker asks the active controller for its next block of producer ids; blocks are
 * records in the metadata log, so no two brokers ever hand out the same id. Sent only over a cluster-peer
 * connection; NOT_CONTROLLER (retriable, details.leaderId) from a node that is not the active controller.
 *
 * Request:  brokerId i32, brokerEpoch i64
 * Response: firstProducerId i64, size i32
 */
import { ApiKeys } from '../api-keys.js'
import type { Exchange } from '../exchange.js'

export interface AllocateProducerIdsRequest {
  readonly brokerId: number
  readonly brokerEpoch: number
}

export interface AllocateProducerIdsResponse {
  readonly firstProducerId: number
  readonly size: number
}

export const allocateProducerIds: Exchange<AllocateProducerIdsRequest, AllocateProducerIdsResponse> = {
  apiKey: ApiKeys.ALLOCATE_PRODUCER_IDS,
  name: 'allocateProducerIds',
  encodeRequest: (w, q) => void w.i32(q.brokerId).i64(q.brokerEpoch),
  decodeRequest: (r) => {
    const q = { brokerId: r.i32(), brokerEpoch: r.i64() }
    r.end()
    return q
  },
  encodeResponse: (w, s) => void w.i64(s.firstProducerId).i32(s.size),
  decodeResponse: (r) => {
    const s = { firstProducerId: r.i64(), size: r.i32() }
    r.end()
    return s
  },
}
