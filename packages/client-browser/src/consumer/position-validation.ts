/**
 * @module Position validation by leader epoch (Kafka's KIP-320), as pure rules: when a partition's position must be
 * checked against the leader before subscribing, and what the leader's offsetForLeaderEpoch answer means for it.
 *
 * A position is (offset, leader epoch of the record before it). If the leader's history for that epoch ends below
 * the offset, the log the consumer read was truncated there (an unclean leader change, or a tail the broker lost)
 * and new records may already sit at the same offsets: subscribing at the offset would skip them silently, so the
 * partition continues at the epoch's end instead and reports the offsets in between as a truncation gap.
 */
import type { Gap } from './gap.js'

export interface ValidationState {
  /** The next offset to deliver; null while the start is symbolic. */
  readonly position: number | null
  /** Leader epoch of the record before `position`; −1 when unknown (stored without one, after a seek or a reset). */
  readonly positionEpoch: number
  /** The leader epoch (from metadata) under which this position was last found to match the leader's log; null: never. */
  readonly validatedUnder: number | null
  /** The leader epoch metadata names now for the partition. */
  readonly leaderEpoch: number
}

/** Whether to ask the leader before subscribing: a position with an epoch, not yet checked under this leader epoch. */
export function needsValidation(s: ValidationState): boolean {
  return s.position !== null && s.positionEpoch >= 0 && s.validatedUnder !== s.leaderEpoch
}

/** The leader's answer: the largest epoch ≤ the asked one it knows, and the offset after that epoch's last batch. */
export interface EpochEnd {
  readonly leaderEpoch: number
  readonly endOffset: number
}

export interface Divergence {
  /** Where the partition continues: the end of the epoch on the leader. */
  readonly resume: number
  /** The epoch of the record before `resume` (the answered epoch): the new position's epoch. */
  readonly leaderEpoch: number
  readonly gap: Gap
}

/**
 * null when `position` is consistent with the leader (its epoch ends at or after it), or when the leader knows no
 * epoch that old (−1): nothing to compare, and the subscribe's own range check reports a position below the log start.
 */
export function validatePosition(topic: string, partition: number, position: number, answer: EpochEnd): Divergence | null {
  if (answer.leaderEpoch < 0 || answer.endOffset < 0 || answer.endOffset >= position) return null
  const resume = answer.endOffset
  return { resume, leaderEpoch: answer.leaderEpoch, gap: { topic, partition, from: resume, to: position, reason: 'truncation' } }
}
