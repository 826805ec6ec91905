/**
 * @module metadata: brokers, topics and, per partition, its leader and offsets. A request names at most
 * MAX_METADATA_TOPICS (1,000) topics (more: INVALID_REQUEST); a name given twice is answered once.
 *
 * Request:  topicCount i32 (−1 = all topics), [name string]…
 *           [maxWaitMs i32, for each topic above: epochCount u32, [leaderEpoch i32]…]
 *           (the bracketed tail is optional: a leader watch, a long poll. The broker holds the answer until one of
 *           the named topics differs from what the client knows — a partition's leader epoch above the one given,
 *           another partition count, the topic created or deleted — or maxWaitMs (≤ MAX_METADATA_WAIT_MS) passes,
 *           then answers as without the tail. Only with named topics.)
 * Response: brokerCount u32, [brokerId i32, url string]…,
 *           topicCount u32, [name string, errorCode i16, partitionCount u32,
 *             [partition i32, leader i32, leaderEpoch i32, logStartOffset i64, highWatermark i64, logEndOffset i64]…]…,
 *           [for each topic above, for each of its partitions: replicaCount u32, [replica i32]…, isrCount u32, [isr i32]…]
 *           (the bracketed tail only from a cluster, where every partition carries its replicas and ISR; a single
 *           node omits it, and a client that stops at the topics reads the single-node layout)
 */
import type { ByteReader } from '../../bytes/byte-reader.js'
import { ProtocolError } from '../../errors.js'
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'

/** Most topic names one metadata request may carry; checked before any name is decoded. */
export const MAX_METADATA_TOPICS = 1000
/** Longest a leader watch may hold its answer. */
export const MAX_METADATA_WAIT_MS = 30_000

/** What the client knows of each named topic: the leader epoch per partition (an empty list: it knows no such topic). */
export interface MetadataWait {
  readonly maxWaitMs: number
  /** One list per named topic, in request order. */
  readonly leaderEpochs: readonly (readonly number[])[]
}

export interface MetadataRequest {
  /** null = every topic. */
  readonly topics: readonly string[] | null
  /** Hold the answer until the named topics differ from this (a leader watch); absent: answer at once. */
  readonly wait?: MetadataWait
}

export interface PartitionMetadata {
  readonly partition: number
  readonly leader: number
  readonly leaderEpoch: number
  readonly logStartOffset: number
  readonly highWatermark: number
  readonly logEndOffset: number
  /** The brokers holding the partition, the preferred leader first (cluster only). */
  readonly replicas?: readonly number[]
  /** The in-sync replicas (cluster only). */
  readonly isr?: readonly number[]
}

export interface TopicMetadata {
  readonly name: string
  /** UNKNOWN_TOPIC_OR_PARTITION (3) for a requested topic that does not exist. */
  readonly errorCode: number
  readonly partitions: readonly PartitionMetadata[]
}

export interface MetadataResponse {
  readonly brokers: readonly { readonly brokerId: number; readonly url: string }[]
  readonly topics: readonly TopicMetadata[]
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const metadataClientSide: ClientExchange<MetadataRequest, MetadataResponse> = {
  apiKey: ApiKeys.METADATA,
  name: 'metadata',
  encodeRequest: (w, q) => {
    if (q.topics === null) w.i32(-1)
    else {
      w.i32(q.topics.length)
      for (const t of q.topics) w.string(t)
    }
    if (q.wait === undefined) return
    if (q.topics === null || q.wait.leaderEpochs.length !== q.topics.length) throw new RangeError('a metadata wait names one list of leader epochs per named topic')
    w.i32(q.wait.maxWaitMs)
    for (const epochs of q.wait.leaderEpochs) {
      w.u32(epochs.length)
      for (const e of epochs) w.i32(e)
    }
  },
  decodeResponse: (r) => {
    const brokers = Array.from({ length: r.count(6) }, () => ({ brokerId: r.i32(), url: r.string() }))
    const topics = Array.from({ length: r.count(8) }, () => ({
      name: r.string(),
      errorCode: r.i16(),
      partitions: Array.from({ length: r.count(36) }, () => ({
        partition: r.i32(),
        leader: r.i32(),
        leaderEpoch: r.i32(),
        logStartOffset: r.i64(),
        highWatermark: r.i64(),
        logEndOffset: r.i64(),
      })) as PartitionMetadata[],
    }))
    if (r.remaining > 0) {
      for (const t of topics) {
        t.partitions = t.partitions.map((p) => ({ ...p, replicas: int32s(r), isr: int32s(r) }))
      }
    }
    r.end()
    return { brokers, topics }
  },
}

export const metadata: Exchange<MetadataRequest, MetadataResponse> = /* @__PURE__ */ withBrokerSide(metadataClientSide, {
  decodeRequest: (r) => {
    const n = r.i32()
    if (n < -1) throw new ProtocolError(`topic count ${n}`)
    if (n === -1) {
      r.end()
      return { topics: null }
    }
    if (n > MAX_METADATA_TOPICS) throw new ProtocolError(`${n} topics named; at most ${MAX_METADATA_TOPICS} per request`)
    if (n * 2 > r.remaining) throw new ProtocolError(`${n} topics cannot fit in ${r.remaining} bytes`)
    const topics: string[] = []
    for (let i = 0; i < n; i++) topics.push(r.string())
    if (r.remaining === 0) return { topics }
    const maxWaitMs = r.i32()
    if (maxWaitMs < 0 || maxWaitMs > MAX_METADATA_WAIT_MS) throw new ProtocolError(`maxWaitMs ${maxWaitMs} is outside [0, ${MAX_METADATA_WAIT_MS}]`)
    const leaderEpochs = topics.map(() => Array.from({ length: r.count(4) }, () => r.i32()))
    r.end()
    return { topics, wait: { maxWaitMs, leaderEpochs } }
  },
  encodeResponse: (w, s) => {
    w.u32(s.brokers.length)
    for (const b of s.brokers) w.i32(b.brokerId).string(b.url)
    w.u32(s.topics.length)
    for (const t of s.topics) {
      w.string(t.name).i16(t.errorCode).u32(t.partitions.length)
      for (const p of t.partitions) w.i32(p.partition).i32(p.leader).i32(p.leaderEpoch).i64(p.logStartOffset).i64(p.highWatermark).i64(p.logEndOffset)
    }
    // The replica tail: all partitions carry replicas or none do.
    if (!s.topics.some((t) => t.partitions.some((p) => p.replicas !== undefined))) return
    for (const t of s.topics) {
      for (const p of t.partitions) {
        const replicas = p.replicas ?? []
        const isr = p.isr ?? []
        w.u32(replicas.length)
        for (const r of replicas) w.i32(r)
        w.u32(isr.length)
        for (const r of isr) w.i32(r)
      }
    }
  },
})

function int32s(r: ByteReader): number[] {
  const out: number[] = []
  for (let n = r.count(4); n > 0; n--) out.push(r.i32())
  return out
}
