/**
 * @module offsetForLeaderEpoch: where a leader epoch ends on the partition leader (Kafka's OffsetsForLeaderEpoch,
 * KIP-101/279). A follower, or a replica that was leader before, asks with the epoch of its last batch and truncates
 * its log to min(endOffset, its own end for the answered epoch): never to the high watermark.
 * The answer is the largest epoch ≤ leaderEpoch the leader knows and the offset after its last batch (the start of
 * the next epoch, or the leader's log end for its latest epoch); leaderEpoch −1 and endOffset −1 when the leader knows
 * no epoch that old. Sent by brokers on a cluster-peer connection (replicaId = the asking broker), and by consumers on
 * any connection (replicaId −1, KIP-320): a consumer resuming from a position (offset, epoch of the record before it)
 * asks for that epoch, and an endOffset below its position means the log it read was truncated there. FENCED_LEADER_EPOCH
 * / UNKNOWN_LEADER_EPOCH when currentLeaderEpoch (−1: unchecked) is older / newer than the leader's,
 * NOT_LEADER_OR_FOLLOWER from a non-leader, CLUSTER_AUTHORIZATION_FAILED for a replicaId ≥ 0 from any but that peer.
 *
 * Request:  topic string, partition i32, replicaId i32, currentLeaderEpoch i32, leaderEpoch i32
 * Response: leaderEpoch i32, endOffset i64
 */
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'

/** The replicaId of a consumer (not a replica) asking offsetForLeaderEpoch, as in Kafka. */
export const CONSUMER_REPLICA_ID = -1

export interface OffsetForLeaderEpochRequest {
  readonly topic: string
  readonly partition: number
  /** The asking follower's broker id; CONSUMER_REPLICA_ID (−1) for a consumer. */
  readonly replicaId: number
  /** The leader epoch the asker follows (from its metadata); −1 skips the check. */
  readonly currentLeaderEpoch: number
  /** The epoch whose end is asked for: the epoch of the follower's last batch, or of the consumer's last record. */
  readonly leaderEpoch: number
}

export interface OffsetForLeaderEpochResponse {
  /** The largest epoch ≤ the requested one that the leader knows; −1 when none. */
  readonly leaderEpoch: number
  /** The offset after that epoch's last batch on the leader; −1 when no epoch. */
  readonly endOffset: number
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const offsetForLeaderEpochClientSide: ClientExchange<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> = {
  apiKey: ApiKeys.OFFSET_FOR_LEADER_EPOCH,
  name: 'offsetForLeaderEpoch',
  encodeRequest: (w, q) => void w.string(q.topic).i32(q.partition).i32(q.replicaId).i32(q.currentLeaderEpoch).i32(q.leaderEpoch),
  decodeResponse: (r) => {
    const s = { leaderEpoch: r.i32(), endOffset: r.i64() }
    r.end()
    return s
  },
}

export const offsetForLeaderEpoch: Exchange<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> = /* @__PURE__ */ withBrokerSide(offsetForLeaderEpochClientSide, {
  decodeRequest: (r) => {
    const q = { topic: r.string(), partition: r.i32(), replicaId: r.i32(), currentLeaderEpoch: r.i32(), leaderEpoch: r.i32() }
    r.end()
    return q
  },
  encodeResponse: (w, s) => void w.i32(s.leaderEpoch).i64(s.endOffset),
})
