/**
 * @module alterPartition: a partition leader asks the active controller to change the partition's ISR (Kafka's
 * AlterPartition). The controller accepts it only from the current leader (broker epoch), at the current leader epoch
 * and partition epoch (INVALID_UPDATE_VERSION when another change came first), with an ISR that holds the leader and
 * adds only unfenced replicas (INELIGIBLE_REPLICA). The answer is the partition's committed registration. Sent only
 * over a cluster-peer connection; NOT_CONTROLLER (retriable, details.leaderId) from a node that is not the active
 * controller.
 *
 * Request:  brokerId i32, brokerEpoch i64, topic string, partition i32, leaderEpoch i32, partitionEpoch i32,
 *           isrCount u32, [isr i32]…
 * Response: leader i32, leaderEpoch i32, partitionEpoch i32, replicaCount u32, [replica i32]…, isrCount u32, [isr i32]…
 */
import { ApiKeys } from '../api-keys.js'
import type { ByteReader } from '../../bytes/byte-reader.js'
import type { Exchange } from '../exchange.js'

export interface AlterPartitionExchangeRequest {
  readonly brokerId: number
  readonly brokerEpoch: number
  readonly topic: string
  readonly partition: number
  readonly leaderEpoch: number
  readonly partitionEpoch: number
  readonly newIsr: readonly number[]
}

export interface AlterPartitionExchangeResponse {
  readonly leader: number
  readonly leaderEpoch: number
  readonly partitionEpoch: number
  readonly replicas: readonly number[]
  readonly isr: readonly number[]
}

export const alterPartition: Exchange<AlterPartitionExchangeRequest, AlterPartitionExchangeResponse> = {
  apiKey: ApiKeys.ALTER_PARTITION,
  name: 'alterPartition',
  encodeRequest: (w, q) => {
    w.i32(q.brokerId).i64(q.brokerEpoch).string(q.topic).i32(q.partition).i32(q.leaderEpoch).i32(q.partitionEpoch).u32(q.newIsr.length)
    for (const id of q.newIsr) w.i32(id)
  },
  decodeRequest: (r) => {
    const head = { brokerId: r.i32(), brokerEpoch: r.i64(), topic: r.string(), partition: r.i32(), leaderEpoch: r.i32(), partitionEpoch: r.i32() }
    const q = { ...head, newIsr: int32s(r) }
    r.end()
    return q
  },
  encodeResponse: (w, s) => {
    w.i32(s.leader).i32(s.leaderEpoch).i32(s.partitionEpoch).u32(s.replicas.length)
    for (const id of s.replicas) w.i32(id)
    w.u32(s.isr.length)
    for (const id of s.isr) w.i32(id)
  },
  decodeResponse: (r) => {
    const head = { leader: r.i32(), leaderEpoch: r.i32(), partitionEpoch: r.i32() }
    const replicas = int32s(r)
    const s = { ...head, replicas, isr: int32s(r) }
    r.end()
    return s
  },
}

function int32s(r: ByteReader): number[] {
  const out: number[] = []
  for (let n = r.count(4); n > 0; n--) out.push(r.i32())
  return out
}
