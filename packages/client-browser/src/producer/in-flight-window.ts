/**
 * @module The rules of one partition's in-flight window, pure (no sockets, clock, storage or timers): whether a batch
 * goes out behind an unacknowledged one, and, once every request of a round has settled, what becomes of each batch
 * of the window (`planRecovery`). PartitionSender applies the plan.
 *
 * Invariants of a plan:
 * - INVALID_PRODUCER_EPOCH or a closed client anywhere in the window is fatal: nothing is resent or re-sequenced;
 * - a batch that may have been appended (lost connection, timeout, storage error, a leader that moved) is resent with
 *   its sequence, never given up: giving up would hand that sequence to the next batch, which the broker would answer
 *   as a duplicate of this one (a lost acknowledgement);
 * - OUT_OF_ORDER_SEQUENCE_NUMBER behind an earlier batch that failed, or that was unacknowledged when this one went
 *   out, is not this batch's failure (Kafka's rule: only the sequence after the last acknowledged one can be out of
 *   order for good): it is resent after the earlier one without spending an attempt of its own;
 * - OUT_OF_ORDER_SEQUENCE_NUMBER naming an expected sequence below the batch's, with every earlier batch acknowledged
 *   and this one not sent behind any: the leader lost acknowledged batches; this batch and the ones after it continue
 *   at the leader's sequence;
 * - a batch that fails for good gives its sequences to the failed or outstanding batches after it, up to the next
 *   acknowledged batch: the broker continues from an acknowledged sequence, so nothing moves down over it.
 */
import type { ProduceResponse, SamsaError } from '@samsa/shared'

/** A request's answer; a failure names the leader and epoch the request went to when it got that far (null: it did not). */
export type Outcome = { readonly ok: ProduceResponse | undefined } | { readonly error: SamsaError; readonly sentTo?: { readonly leader: number; readonly leaderEpoch: number } | null }

/** What the rules read of one batch of the window. */
export interface WindowBatch {
  readonly baseSequence: number
  readonly recordCount: number
  /** null while a request for it is outstanding. */
  readonly outcome: Outcome | null
  /** Requests sent for it so far. */
  readonly attempts: number
  /** Its last request went out while an earlier batch of the window was unacknowledged. */
  readonly sentBehind?: boolean
  /** When its unbroken run of UNKNOWN_TOPIC_OR_PARTITION answers began (clock ms); null or absent: none. */
  readonly unknownSinceMs?: number | null
}

/** What becomes of one batch of the window; `baseSequence` differs from the batch's when it is re-sequenced. */
export type BatchVerdict =
  /** Acknowledged (leaves at the head, in order) or still outstanding. */
  | { readonly action: 'keep'; readonly baseSequence: number }
  /** Sent again once the round is over; `unknownSinceMs` is its new value. */
  | { readonly action: 'resend'; readonly baseSequence: number; readonly refreshMetadata: boolean; readonly lostSequences: number; readonly unknownSinceMs: number | null | undefined }
  /** Failed for good: its records are rejected with `error`. */
  | { readonly action: 'fail'; readonly baseSequence: number; readonly refreshMetadata: boolean; readonly error: SamsaError }

export type RecoveryPlan =
  | { readonly fatal: SamsaError }
  | {
      readonly fatal?: undefined
      /** verdicts[i] is the window's batch i. */
      readonly verdicts: readonly BatchVerdict[]
      /** How far the partition's next sequence moves down. */
      readonly removedRecords: number
      /** The leader lost acknowledged batches: sequences were moved down to the one it expects. */
      readonly resequenced: boolean
      /** The resend waits a backoff delay (some failure was neither a lost connection nor caused by an earlier batch). */
      readonly backoff: boolean
    }

export interface RecoveryRules {
  /** Attempts per batch for retriable errors that cannot have appended the batch. */
  readonly maxRetries: number
  readonly nowMs: number
  /** While metadata may be propagating, how long UNKNOWN_TOPIC_OR_PARTITION is retried per batch; undefined: not retried. */
  readonly unknownTopicRetryMs?: () => number | undefined
}

/** Errors of a closed client: NETWORK_EXCEPTION marked not retriable. */
export const isClientClosed = (e: SamsaError) => e.errorName === 'NETWORK_EXCEPTION' && !e.retriable
/** The broker this batch went to is not (or no longer) the partition's leader: refresh metadata and resend to the new one. */
const staleLeader = (e: SamsaError) => e.errorName === 'NOT_LEADER_OR_FOLLOWER' || e.errorName === 'FENCED_LEADER_EPOCH' || e.errorName === 'LEADER_NOT_AVAILABLE'
/** Retriable errors raised after the batch may already be in the log (a slow or failed fsync, a lost response). */
const mayHaveBeenAppended = (e: SamsaError) => e.retriable && (e.errorName === 'REQUEST_TIMED_OUT' || e.errorName === 'KAFKA_STORAGE_ERROR')
const isFatal = (e: SamsaError) => isClientClosed(e) || e.errorName === 'INVALID_PRODUCER_EPOCH'

/** True when a batch of `window` before `batch` has no acknowledgement yet (`batch` is about to be sent). */
export function sentBehind(window: readonly WindowBatch[], batch: WindowBatch): boolean {
  for (const b of window) {
    if (b === batch) return false
    if (b.outcome === null || !('ok' in b.outcome)) return true
  }
  return false
}

/** Every request of the round has settled (no outcome is null but those never sent): what becomes of each batch. */
export function planRecovery(window: readonly WindowBatch[], rules: RecoveryRules): RecoveryPlan {
  for (const b of window) if (b.outcome !== null && 'error' in b.outcome && isFatal(b.outcome.error)) return { fatal: b.outcome.error }
  const verdicts: BatchVerdict[] = []
  let removedRecords = 0
  let earlierFailed = false
  let backoff = false
  let resequenced = false
  for (const b of window) {
    const outcome = b.outcome
    // Appended at its sequence (a broker with no state for this producer accepts any first sequence): the broker
    // continues from it, so nothing after it moves down over the failed batches before it.
    if (outcome !== null && 'ok' in outcome) removedRecords = 0
    let baseSequence = b.baseSequence - removedRecords
    if (outcome === null || 'ok' in outcome) {
      verdicts.push({ action: 'keep', baseSequence })
      continue
    }
    const e = outcome.error
    const network = e.errorName === 'NETWORK_EXCEPTION' && e.retriable
    // A request that timed out may have gone to a broker that is gone or cut off: ask metadata where the leader is now.
    const refreshMetadata = network || staleLeader(e) || e.errorName === 'UNKNOWN_TOPIC_OR_PARTITION' || e.errorName === 'REQUEST_TIMED_OUT'
    const ambiguous = network || mayHaveBeenAppended(e) || staleLeader(e)
    const causedByEarlier = (earlierFailed || b.sentBehind === true) && e.errorName === 'OUT_OF_ORDER_SEQUENCE_NUMBER'
    const lost = !earlierFailed && b.sentBehind !== true ? lostSequences(e, baseSequence) : 0
    if (lost > 0) {
      baseSequence -= lost
      removedRecords += lost
      resequenced = true
    }
    let unknownSinceMs = b.unknownSinceMs
    let propagating = false
    if (e.errorName === 'UNKNOWN_TOPIC_OR_PARTITION') {
      const propagationMs = rules.unknownTopicRetryMs?.()
      if (propagationMs !== undefined) {
        unknownSinceMs ??= rules.nowMs
        propagating = rules.nowMs - unknownSinceMs <= propagationMs
      }
    } else unknownSinceMs = null
    const retriable = ambiguous || propagating || causedByEarlier || lost > 0 || (e.retriable && b.attempts <= rules.maxRetries)
    earlierFailed = true
    if (!retriable) {
      verdicts.push({ action: 'fail', baseSequence, refreshMetadata, error: e })
      removedRecords += b.recordCount
      continue
    }
    if (!network && !causedByEarlier) backoff = true
    verdicts.push({ action: 'resend', baseSequence, refreshMetadata, lostSequences: lost, unknownSinceMs })
  }
  return { verdicts, removedRecords, resequenced, backoff }
}

/**
 * How many sequences below `baseSequence` the partition leader lacks, per its OUT_OF_ORDER_SEQUENCE_NUMBER answer
 * naming the sequence it expects (0 for any other error, or when it expects this sequence or a later one).
 */
export function lostSequences(e: SamsaError, baseSequence: number): number {
  const expected = e.details.expectedSequence
  if (e.errorName !== 'OUT_OF_ORDER_SEQUENCE_NUMBER' || expected === undefined || !Number.isSafeInteger(expected) || expected < 0) return 0
  return expected < baseSequence ? baseSequence - expected : 0
}
