/**
 * @module brokerHeartbeat: a registered broker renews its session with the active controller about every third of the
 * session timeout. A fenced broker that has applied the metadata log up to its own registration is unfenced; one
 * asking to shut down is fenced and its partition leadership moved (controlled shutdown). Sent only over a
 * cluster-peer connection; NOT_CONTROLLER (retriable, details.leaderId) from a node that is not the active controller,
 * STALE_BROKER_EPOCH or BROKER_ID_NOT_REGISTERED when the broker must register again.
 *
 * Request:  brokerId i32, brokerEpoch i64, metadataOffset i64, wantShutDown bool,
 *           incompleteReplicas u32 count + (topic string, partition i32) each
 *           (metadataOffset: the last metadata log offset this broker has applied; incompleteReplicas: local replicas a
 *           read found damaged since the last accepted heartbeat, reopened through recovery without committed records
 *           they had; the controller takes the broker out of their ISRs and elects another leader where it led, as
 *           for a registration's incompleteReplicas)
 * Response: isFenced bool, shouldShutDown bool
 */
import { ApiKeys } from '../api-keys.js'
import type { Exchange } from '../exchange.js'
import { topicPartitions } from './broker-registration.js'

export interface BrokerHeartbeatRequest {
  readonly brokerId: number
  readonly brokerEpoch: number
  readonly metadataOffset: number
  readonly wantShutDown: boolean
  readonly incompleteReplicas: readonly { readonly topic: string; readonly partition: number }[]
}

export interface BrokerHeartbeatResponse {
  readonly isFenced: boolean
  readonly shouldShutDown: boolean
}

export const brokerHeartbeat: Exchange<BrokerHeartbeatRequest, BrokerHeartbeatResponse> = {
  apiKey: ApiKeys.BROKER_HEARTBEAT,
  name: 'brokerHeartbeat',
  encodeRequest: (w, q) => {
    w.i32(q.brokerId).i64(q.brokerEpoch).i64(q.metadataOffset).bool(q.wantShutDown).u32(q.incompleteReplicas.length)
    for (const p of q.incompleteReplicas) w.string(p.topic).i32(p.partition)
  },
  decodeRequest: (r) => {
    const head = { brokerId: r.i32(), brokerEpoch: r.i64(), metadataOffset: r.i64(), wantShutDown: r.bool() }
    const q = { ...head, incompleteReplicas: topicPartitions(r) }
    r.end()
    return q
  },
  encodeResponse: (w, s) => void w.bool(s.isFenced).bool(s.shouldShutDown),
  decodeResponse: (r) => {
    const s = { isFenced: r.bool(), shouldShutDown: r.bool() }
    r.end()
    return s
  },
}
