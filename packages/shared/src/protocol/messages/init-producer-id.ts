/**
 * @module initProducerId: gives an idempotent producer its (producerId, producerEpoch).
 * With producerId −1 the broker allocates a new id at epoch 0. With an id and its current epoch (the pair its holder
 * was given) it answers the same id at the next epoch, fencing any instance still on an older one (KIP-360); any
 * other epoch gets INVALID_PRODUCER_EPOCH, an id it never gave out or that expired UNKNOWN_PRODUCER_ID.
 *
 * Request:  producerId i64, producerEpoch i16
 * Response: producerId i64, producerEpoch i16
 */
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'

export interface InitProducerIdRequest {
  readonly producerId: number
  readonly producerEpoch: number
}

export interface InitProducerIdResponse {
  readonly producerId: number
  readonly producerEpoch: number
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const initProducerIdClientSide: ClientExchange<InitProducerIdRequest, InitProducerIdResponse> = {
  apiKey: ApiKeys.INIT_PRODUCER_ID,
  name: 'initProducerId',
  encodeRequest: (w, q) => void w.i64(q.producerId).i16(q.producerEpoch),
  decodeResponse: (r) => {
    const s = { producerId: r.i64(), producerEpoch: r.i16() }
    r.end()
    return s
  },
}

export const initProducerId: Exchange<InitProducerIdRequest, InitProducerIdResponse> = /* @__PURE__ */ withBrokerSide(initProducerIdClientSide, {
  decodeRequest: (r) => {
    const q = { producerId: r.i64(), producerEpoch: r.i16() }
    r.end()
    return q
  },
  encodeResponse: (w, s) => void w.i64(s.producerId).i16(s.producerEpoch),
})
