/**
 * @module initProducerId: gives an idempotent producer its (producerId, producerEpoch).
 * With producerId −1 the broker allocates a new id at epoch 0; with a known id it bumps the epoch,
 * fencing any older instance that still uses the previous epoch.
 *
 * Request:  producerId i64, producerEpoch i16
 * Response: producerId i64, producerEpoch i16
 */
import { ApiKeys } from '../api-keys.js'
import type { Exchange } from '../exchange.js'

export interface InitProducerIdRequest {
  readonly producerId: number
  readonly producerEpoch: number
}

export interface InitProducerIdResponse {
  readonly producerId: number
  readonly producerEpoch: number
}

export const initProducerId: Exchange<InitProducerIdRequest, InitProducerIdResponse> = {
  apiKey: ApiKeys.INIT_PRODUCER_ID,
  name: 'initProducerId',
  encodeRequest: (w, q) => void w.i64(q.producerId).i16(q.producerEpoch),
  decodeRequest: (r) => {
    const q = { producerId: r.i64(), producerEpoch: r.i16() }
    r.end()
    return q
  },
  encodeResponse: (w, s) => void w.i64(s.producerId).i16(s.producerEpoch),
  decodeResponse: (r) => {
    const s = { producerId: r.i64(), producerEpoch: r.i16() }
    r.end()
    return s
  },
}
