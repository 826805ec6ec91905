/**
 * @module createTopic: creates one topic with N partitions. In a cluster the topic is a metadata-log record proposed
 * by the active controller (a broker forwards a client's request to it); `replicationFactor` places that many
 * replicas of each partition on distinct brokers, `minInsyncReplicas` is the ISR size acks=all needs. A client that
 * omits them gets the cluster's defaults (replication factor: every broker up to 3; min.insync.replicas: 2 for three
 * or more replicas, else 1). A single node accepts only replication factor 1.
 *
 * `configs` are per-topic configs by Kafka's names (topic-configs.ts: cleanup.policy, delete.retention.ms); an unknown
 * name or a bad value is INVALID_CONFIG.
 *
 * Request:  name string, partitions i32, [replicationFactor i16, minInsyncReplicas i16, [configCount u32, [name string, value string]…]]
 *           (each bracketed tail is optional; replicationFactor −1 = the default, minInsyncReplicas −1 = the default
 *           for the replication factor; configs need the replication tail before them)
 * Response: name string, partitions i32
 */
import { ProtocolError } from '../../errors.js'
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'

export interface CreateTopicRequest {
  readonly name: string
  readonly partitions: number
  /** Absent: the cluster's default. */
  readonly replicationFactor?: number
  /** Absent or −1: the default for the replication factor. Only sent with replicationFactor. */
  readonly minInsyncReplicas?: number
  /** Per-topic configs by name (absent names take their defaults). */
  readonly configs?: Readonly<Record<string, string>>
}

export interface CreateTopicResponse {
  readonly name: string
  readonly partitions: number
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const createTopicClientSide: ClientExchange<CreateTopicRequest, CreateTopicResponse> = {
  apiKey: ApiKeys.CREATE_TOPIC,
  name: 'createTopic',
  encodeRequest: (w, q) => {
    w.string(q.name).i32(q.partitions)
    const configs = Object.entries(q.configs ?? {})
    if (q.replicationFactor !== undefined || configs.length > 0) w.i16(q.replicationFactor ?? -1).i16(q.minInsyncReplicas ?? -1)
    if (configs.length === 0) return
    w.u32(configs.length)
    for (const [name, value] of configs) w.string(name).string(value)
  },
  decodeResponse: (r) => {
    const s = { name: r.string(), partitions: r.i32() }
    r.end()
    return s
  },
}

export const createTopic: Exchange<CreateTopicRequest, CreateTopicResponse> = /* @__PURE__ */ withBrokerSide(createTopicClientSide, {
  decodeRequest: (r) => {
    const q: { name: string; partitions: number; replicationFactor?: number; minInsyncReplicas?: number; configs?: Record<string, string> } = { name: r.string(), partitions: r.i32() }
    if (r.remaining > 0) {
      const replicationFactor = r.i16()
      const minInsyncReplicas = r.i16()
      if (replicationFactor !== -1) Object.assign(q, { replicationFactor, minInsyncReplicas })
    }
    if (r.remaining > 0) {
      const n = r.u32()
      if (n > r.remaining) throw new ProtocolError(`createTopic carries ${n} configs in ${r.remaining} bytes`)
      const configs: [string, string][] = []
      for (let i = 0; i < n; i++) configs.push([r.string(), r.string()])
      q.configs = Object.fromEntries(configs) // own properties only, whatever the names (even __proto__)
    }
    r.end()
    return q
  },
  encodeResponse: (w, s) => void w.string(s.name).i32(s.partitions),
})
