/**
 * @module createTopic: creates one topic with N partitions. In a cluster the topic is a metadata-log record proposed
 * by the active controller (a broker forwards a client's request to it); `replicationFactor` places that many
 * replicas of each partition on distinct brokers, `minInsyncReplicas` is the ISR size acks=all needs. A client that
 * omits them gets the cluster's defaults (replication factor: every broker up to 3; min.insync.replicas: 2 for three
 * or more replicas, else 1). A single node accepts only replication factor 1.
 *
 * Request:  name string, partitions i32, [replicationFactor i16, minInsyncReplicas i16]
 *           (the bracketed tail is optional; minInsyncReplicas −1 = the default for the replication factor)
 * Response: name string, partitions i32
 */
import { ApiKeys } from '../api-keys.js'
import type { Exchange } from '../exchange.js'

export interface CreateTopicRequest {
  readonly name: string
  readonly partitions: number
  /** Absent: the cluster's default. */
  readonly replicationFactor?: number
  /** Absent or −1: the default for the replication factor. Only sent with replicationFactor. */
  readonly minInsyncReplicas?: number
}

export interface CreateTopicResponse {
  readonly name: string
  readonly partitions: number
}

export const createTopic: Exchange<CreateTopicRequest, CreateTopicResponse> = {
  apiKey: ApiKeys.CREATE_TOPIC,
  name: 'createTopic',
  encodeRequest: (w, q) => {
    w.string(q.name).i32(q.partitions)
    if (q.replicationFactor !== undefined) w.i16(q.replicationFactor).i16(q.minInsyncReplicas ?? -1)
  },
  decodeRequest: (r) => {
    const q: { name: string; partitions: number; replicationFactor?: number; minInsyncReplicas?: number } = { name: r.string(), partitions: r.i32() }
    if (r.remaining > 0) {
      q.replicationFactor = r.i16()
      q.minInsyncReplicas = r.i16()
    }
    r.end()
    return q
  },
  encodeResponse: (w, s) => void w.string(s.name).i32(s.partitions),
  decodeResponse: (r) => {
    const s = { name: r.string(), partitions: r.i32() }
    r.end()
    return s
  },
}
