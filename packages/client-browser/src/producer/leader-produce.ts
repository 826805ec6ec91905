/**
 * @module One produce request of a partition's batch, sent to the leader metadata names now, and its answer as an
 * Outcome. Follows leaders: it asks `route` for every request (never a connection kept from an earlier one), stops
 * waiting once metadata names a newer leader epoch than the one the request went to, and turns an
 * OUT_OF_ORDER_SEQUENCE_NUMBER answered by a former leader into NOT_LEADER_OR_FOLLOWER (resent to the current one).
 * An OUT_OF_ORDER_SEQUENCE_NUMBER stands only when the leader and leader epoch metadata names after a refresh are the
 * ones the request went to, or when the leader is unknown (nothing says the answer came from a former one).
 */
import { SamsaError, produceClientSide as produce, type ProduceRequest } from '@samsa/shared'
import type { Connection } from '../connection/connection.js'
import type { Logger } from '../ports.js'
import type { Outcome } from './in-flight-window.js'

export interface LeaderRef {
  readonly leader: number
  readonly leaderEpoch: number
}

/** How a partition's requests find its leader (metadata-cache.ts). */
export interface LeaderLookup {
  /**
   * The connection to the partition's leader now and the leader and epoch it was chosen by (metadata-cache.ts route;
   * null: unknown); asked again for every send and resend.
   */
  readonly route: (topic: string, partition: number) => Promise<{ readonly conn: Connection; readonly leader: LeaderRef | null }>
  /**
   * The partition's leader and leader epoch as cached now (after a refresh: whether the leader a request went to still
   * leads); absent: an OUT_OF_ORDER_SEQUENCE_NUMBER is taken as coming from the current leader.
   */
  readonly leader?: (topic: string, partition: number) => Promise<LeaderRef | null>
  /**
   * Calls `onMoved` once metadata names a leader epoch above `pastEpoch` (metadata-cache.ts, leader watch); returns
   * the cancel function. Absent: a request waits for its own answer or timeout.
   */
  readonly onLeaderMoved?: (topic: string, partition: number, pastEpoch: number, onMoved: () => void) => () => void
  /**
   * Called when an error says the cached metadata may be stale; `sentTo`: the leader the failed request went to (the
   * cache keeps an answer that already names a newer leader epoch, e.g. from the leader watch).
   */
  readonly onStaleMetadata: (topic: string, partition?: number, sentTo?: LeaderRef) => void
  readonly logger: Logger
}

/**
 * Sends `request` to the partition's leader once `written` resolves (the batch is in the outbox); resolves with its
 * outcome, never rejects (a failed `written` is the outcome's error).
 */
export function produceToLeader(lookup: LeaderLookup, request: ProduceRequest, written: Promise<void>): Promise<Outcome> {
  const { topic, partition, acks, timeoutMs } = request
  let sentTo: LeaderRef | null = null
  return written
    .then(() => lookup.route(topic, partition))
    .then((routed) => {
      const { conn } = routed
      // The leader the connection was chosen by: the cache may name a newer one by now (the leader watch).
      sentTo = lookup.leader === undefined ? null : routed.leader
      const answer = conn.request(produce, request, { noResponse: acks === 0, timeoutMs: timeoutMs + 5_000 })
      if (sentTo === null || lookup.onLeaderMoved === undefined || acks === 0) return answer
      // A leader cut off from its followers and the controller accepts the batch and never commits it; once another
      // broker leads at a newer epoch, stop waiting and resend there (same sequence: the new leader deduplicates,
      // and what the old one appended is truncated when it follows again).
      const past = sentTo
      let cancel = () => {}
      const moved = new Promise<never>((_, reject) => {
        cancel = lookup.onLeaderMoved!(topic, partition, past.leaderEpoch, () =>
          reject(new SamsaError('NOT_LEADER_OR_FOLLOWER', `${topic}/${partition}: a newer leader than broker ${past.leader} (leader epoch ${past.leaderEpoch}) was elected while the batch waited`)))
      })
      return Promise.race([answer, moved]).finally(cancel)
    })
    .then(
      (ok): Outcome => ({ ok }),
      async (error: unknown): Promise<Outcome> => {
        const e = error instanceof SamsaError ? error : new SamsaError('UNKNOWN_SERVER_ERROR', String(error))
        return { error: e.errorName === 'OUT_OF_ORDER_SEQUENCE_NUMBER' && sentTo !== null ? await fromFormerLeader(lookup, topic, partition, e, sentTo) : e, sentTo }
      },
    )
}

/**
 * An OUT_OF_ORDER_SEQUENCE_NUMBER stands only if the broker that answered it leads the partition now: refreshes the
 * metadata and, when the leader or its epoch moved on from `sentTo`, turns it into NOT_LEADER_OR_FOLLOWER (resent).
 */
async function fromFormerLeader(lookup: LeaderLookup, topic: string, partition: number, error: SamsaError, sentTo: LeaderRef): Promise<SamsaError> {
  lookup.onStaleMetadata(topic)
  let now: LeaderRef | null
  try {
    now = (await lookup.leader?.(topic, partition)) ?? null
  } catch {
    return error // the leader is not known now: nothing says the answer came from a former one
  }
  const former = formerLeaderError(`${topic}/${partition}`, error, sentTo, now)
  if (former !== error) lookup.logger.info({ topic, partition, sentTo, leader: now }, 'OUT_OF_ORDER_SEQUENCE_NUMBER from a former leader: resending to the current one')
  return former
}

/** The pure rule of fromFormerLeader: `error` stands unless metadata now names another leader or leader epoch than `sentTo`. */
export function formerLeaderError(topicPartition: string, error: SamsaError, sentTo: LeaderRef, now: LeaderRef | null): SamsaError {
  if (now === null || (now.leader === sentTo.leader && now.leaderEpoch === sentTo.leaderEpoch)) return error
  return new SamsaError(
    'NOT_LEADER_OR_FOLLOWER',
    `${topicPartition}: broker ${sentTo.leader} (leader epoch ${sentTo.leaderEpoch}) answered OUT_OF_ORDER_SEQUENCE_NUMBER but broker ${now.leader} leads at epoch ${now.leaderEpoch}: ${error.message}`,
  )
}
