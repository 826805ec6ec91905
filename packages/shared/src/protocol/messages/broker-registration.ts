/**
 * @module brokerRegistration: a broker process registers with the active controller and gets a broker epoch, unique
 * across the cluster's history; it starts fenced. Sent only over a cluster-peer connection (hello with the peer tail);
 * a node that is not the active controller answers NOT_CONTROLLER (retriable) with details.leaderId when it knows it.
 *
 * Request:  brokerId i32, clusterId string, advertisedUrl string, rack nullableString, previousBrokerEpoch i64
 *           (previousBrokerEpoch: the epoch this process last held, −1 for a process that never registered)
 * Response: brokerEpoch i64
 */
import { ApiKeys } from '../api-keys.js'
import type { Exchange } from '../exchange.js'

export interface BrokerRegistrationRequest {
  readonly brokerId: number
  readonly clusterId: string
  readonly advertisedUrl: string
  readonly rack: string | null
  readonly previousBrokerEpoch: number
}

export interface BrokerRegistrationResponse {
  readonly brokerEpoch: number
}

export const brokerRegistration: Exchange<BrokerRegistrationRequest, BrokerRegistrationResponse> = {
  apiKey: ApiKeys.BROKER_REGISTRATION,
  name: 'brokerRegistration',
  encodeRequest: (w, q) => void w.i32(q.brokerId).string(q.clusterId).string(q.advertisedUrl).nullableString(q.rack).i64(q.previousBrokerEpoch),
  decodeRequest: (r) => {
    const q = { brokerId: r.i32(), clusterId: r.string(), advertisedUrl: r.string(), rack: r.nullableString(), previousBrokerEpoch: r.i64() }
    r.end()
    return q
  },
  encodeResponse: (w, s) => void w.i64(s.brokerEpoch),
  decodeResponse: (r) => {
    const s = { brokerEpoch: r.i64() }
    r.end()
    return s
  },
}
