/**
 * @module brokerRegistration: a broker process registers with the active controller and gets a broker epoch, unique
 * across the cluster's history; it starts fenced. Sent only over a cluster-peer connection (hello with the peer tail);
 * a node that is not the active controller answers NOT_CONTROLLER (retriable) with details.leaderId when it knows it.
 *
 * Request:  brokerId i32, clusterId string, advertisedUrl string, rack nullableString, previousBrokerEpoch i64,
 *           incompleteReplicas u32 count + (topic string, partition i32) each
 *           (previousBrokerEpoch: the epoch this process last held, −1 for a process that never registered;
 *           incompleteReplicas: the local replicas whose log recovery, when this process started, found committed
 *           records missing or damaged; the controller takes the broker out of their ISRs)
 * Response: brokerEpoch i64
 */
import type { ByteReader } from '../../bytes/byte-reader.js'
import { ApiKeys } from '../api-keys.js'
import type { Exchange } from '../exchange.js'

export interface BrokerRegistrationRequest {
  readonly brokerId: number
  readonly clusterId: string
  readonly advertisedUrl: string
  readonly rack: string | null
  readonly previousBrokerEpoch: number
  readonly incompleteReplicas: readonly { readonly topic: string; readonly partition: number }[]
}

export interface BrokerRegistrationResponse {
  readonly brokerEpoch: number
}

export const brokerRegistration: Exchange<BrokerRegistrationRequest, BrokerRegistrationResponse> = {
  apiKey: ApiKeys.BROKER_REGISTRATION,
  name: 'brokerRegistration',
  encodeRequest: (w, q) => {
    w.i32(q.brokerId).string(q.clusterId).string(q.advertisedUrl).nullableString(q.rack).i64(q.previousBrokerEpoch).u32(q.incompleteReplicas.length)
    for (const p of q.incompleteReplicas) w.string(p.topic).i32(p.partition)
  },
  decodeRequest: (r) => {
    const head = { brokerId: r.i32(), clusterId: r.string(), advertisedUrl: r.string(), rack: r.nullableString(), previousBrokerEpoch: r.i64() }
    const q = { ...head, incompleteReplicas: topicPartitions(r) }
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

/** A list of (topic, partition); a string is at least its 2-byte length, so an element is at least 6 bytes. */
export function topicPartitions(r: ByteReader): { topic: string; partition: number }[] {
  const out: { topic: string; partition: number }[] = []
  for (let n = r.count(6); n > 0; n--) out.push({ topic: r.string(), partition: r.i32() })
  return out
}
