/**
 * @module The position of one partition of a subscription as a pure reducer: (state, event) → (state, effects).
 * The state is where the partition starts, what the broker confirmed, the next offset to deliver with the leader
 * epoch of the record before it, and (with `until: 'end'`) where it stops. Effects are what the subscription must
 * do about a change: report a gap, store a position (`from: 'stored'` only; ignored otherwise), re-subscribe, fail.
 *
 * Invariant (the start is chosen once): a symbolic start (−2 earliest, −1 latest) is sent to the broker only while
 * no offset is known. The first offset the broker answers for it — in a current response, or in a response that
 * arrives after its request timed out — becomes `position`, and every later (re)subscribe asks for `position`. So a
 * reconnect never resolves 'latest' again once the broker has resolved it, and records appended after that point
 * are delivered (or reported as a `Gap`), never skipped silently.
 *
 * Invariant (ready): `confirmed` turns true at the first subscribe response the partition accepts and never turns
 * false. Before it, the start may still be symbolic: if the broker never answered (the connection dropped with the
 * request unanswered, or the response was lost), nothing was chosen and the next subscribe resolves 'latest' anew,
 * at that later time. Records appended between `subscribe()` and `ready` are therefore not promised to a 'latest'
 * subscription; every record appended after `ready` resolves is.
 *
 * Invariant (no silent skip): a position the broker cannot serve (out of range) or that the leader's history no
 * longer has (diverged, KIP-320) either fails the subscription or moves the position with a `gap` effect naming the
 * offsets not delivered; a position moved anywhere but forward past delivered records loses its epoch (−1) unless
 * the leader named it.
 */
import { SamsaError } from '@samsa/shared'
import { gapForOutOfRange, type Gap } from './gap.js'
import type { Divergence } from './position-validation.js'

export type SeekTarget = number | 'earliest' | 'latest'

/** What the partition is and what its subscription does about gaps; fixed for the partition's life. */
export interface PositionRules {
  readonly topic: string
  readonly partition: number
  /** Whether this partition stops at its end (`until: 'end'`). */
  readonly untilEnd: boolean
  /**
   * Where delivery continues after a gap below the log start ('earliest' | 'latest'); null: a gap fails the
   * subscription instead (neither `from: 'stored'` nor a `reset` policy).
   */
  readonly reset: 'earliest' | 'latest' | null
}

export interface PartitionPosition {
  readonly rules: PositionRules
  /** The offset asked for while `position` is null: −2 earliest, −1 latest, or exact. */
  readonly start: number
  /** The next offset to deliver (after the last record handed to the application); null until the broker resolves the start. */
  readonly position: number | null
  /** Leader epoch of the record before the position (the last delivered, or the stored one); −1 when unknown. */
  readonly positionEpoch: number
  /** The broker has answered a subscribe for this partition at least once. */
  readonly confirmed: boolean
  /** With `until: 'end'`: the high watermark when the partition was confirmed; delivery stops before it. */
  readonly endOffset: number | null
  /** A stored position whose leader epoch is newer than the broker's: that offset, reported as a truncation gap once the start resolves. */
  readonly truncatedFrom: number | null
  /** A seek to 'earliest'/'latest': the position the broker resolves for it is stored. */
  readonly storeOnResolve: boolean
}

export type PositionEvent =
  /** A subscribe response this partition accepted. */
  | { readonly kind: 'subscribed'; readonly offset: number; readonly highWatermark: number }
  /** A subscribe response that came after its request timed out: its offset is the start the broker chose. */
  | { readonly kind: 'late-subscribed'; readonly offset: number }
  /** The application took the record at `offset`, read under `leaderEpoch`. */
  | { readonly kind: 'delivered'; readonly offset: number; readonly leaderEpoch: number }
  /** The application moved the position (`sub.seek`). */
  | { readonly kind: 'seek'; readonly to: SeekTarget }
  /** The broker answered OFFSET_OUT_OF_RANGE for the position (its details name the log's range when it knows it). */
  | { readonly kind: 'out-of-range'; readonly error: SamsaError }
  /** Validation found the leader's log for the position's epoch ending below the position. */
  | { readonly kind: 'diverged'; readonly divergence: Divergence }

export type PositionEffect =
  | { readonly type: 'gap'; readonly gap: Gap }
  /** Store the position: 'skipped' forwards past a retention gap, 'truncated' a forced (backwards) write, 'sought' per the commit policy of a seek. */
  | { readonly type: 'store'; readonly how: 'skipped' | 'truncated' | 'sought'; readonly offset: number; readonly leaderEpoch: number }
  /** Subscribe again from the new position (dropping what is buffered). */
  | { readonly type: 'resubscribe' }
  | { readonly type: 'fail'; readonly error: SamsaError }
  | { readonly type: 'warn'; readonly message: string; readonly fields: Readonly<Record<string, unknown>> }

export interface PositionStep {
  readonly state: PartitionPosition
  readonly effects: readonly PositionEffect[]
}

/** Where a partition starts: its start offset, and what a stored position brought (its epoch, a truncation found at start). */
export function initialPosition(rules: PositionRules, start: number, resumed: { readonly positionEpoch?: number; readonly truncatedFrom?: number } = {}): PartitionPosition {
  const truncatedFrom = resumed.truncatedFrom ?? null
  // A truncated stored position's epoch names a history the broker does not have.
  const positionEpoch = truncatedFrom === null ? (resumed.positionEpoch ?? -1) : -1
  return { rules, start, position: null, positionEpoch, confirmed: false, endOffset: null, truncatedFrom, storeOnResolve: false }
}

const step = (state: PartitionPosition, ...effects: PositionEffect[]): PositionStep => ({ state, effects })

export function reducePosition(s: PartitionPosition, e: PositionEvent): PositionStep {
  switch (e.kind) {
    case 'subscribed': {
      const endOffset = s.rules.untilEnd && s.endOffset === null ? e.highWatermark : s.endOffset
      const next = { ...s, position: s.position ?? e.offset, confirmed: true, endOffset }
      return s.position === null ? startResolved(next, e.offset) : step(next)
    }
    case 'late-subscribed':
      return step(s.position === null ? { ...s, position: e.offset } : s)
    case 'delivered':
      return step({ ...s, position: e.offset + 1, positionEpoch: e.leaderEpoch })
    case 'seek': {
      // The record before the new position is not one this partition delivered.
      const moved = { ...s, positionEpoch: -1, truncatedFrom: null, storeOnResolve: typeof e.to !== 'number' }
      if (e.to === 'earliest') return step({ ...moved, start: -2, position: null }, { type: 'resubscribe' })
      if (e.to === 'latest') return step({ ...moved, start: -1, position: null }, { type: 'resubscribe' })
      return step({ ...moved, start: e.to, position: e.to }, { type: 'store', how: 'sought', offset: e.to, leaderEpoch: -1 }, { type: 'resubscribe' })
    }
    case 'out-of-range':
      return outOfRange(s, e.error)
    case 'diverged':
      return diverged(s, e.divergence)
  }
}

/** The broker resolved the start (the first time, or after a symbolic seek): report a truncation found at start, store a sought position. */
function startResolved(s: PartitionPosition, offset: number): PositionStep {
  const effects: PositionEffect[] = []
  const old = s.truncatedFrom
  if (old !== null) {
    const { topic, partition } = s.rules
    effects.push({ type: 'gap', gap: { topic, partition, from: Math.min(offset, old), to: old, reason: 'truncation' } })
    effects.push({ type: 'store', how: 'truncated', offset, leaderEpoch: -1 })
  }
  if (s.storeOnResolve) effects.push({ type: 'store', how: 'sought', offset, leaderEpoch: -1 })
  return { state: { ...s, truncatedFrom: null, storeOnResolve: false }, effects }
}

/**
 * A position the broker cannot serve: below logStartOffset (retention) or above logEndOffset (truncation). With a
 * reset policy, a gap and a re-subscribe where delivery continues; otherwise (or when the broker did not name its
 * range, or the position is in range after all) the error fails the subscription.
 */
function outOfRange(s: PartitionPosition, error: SamsaError): PositionStep {
  const { topic, partition, reset } = s.rules
  const { logStartOffset, logEndOffset } = error.details
  if (reset === null || logStartOffset === undefined || logEndOffset === undefined) return step(s, { type: 'fail', error })
  const decided = gapForOutOfRange(topic, partition, requestOffset(s), { logStartOffset, logEndOffset }, reset)
  if (decided === null) return step(s, { type: 'fail', error })
  const { resume, gap } = decided
  return step(
    { ...s, start: resume, position: resume, positionEpoch: -1 }, // the record before `resume` was never delivered here
    { type: 'warn', message: 'position out of range: reporting a gap and continuing', fields: { ...gap, logStartOffset, logEndOffset } },
    { type: 'store', how: gap.reason === 'truncation' ? 'truncated' : 'skipped', offset: resume, leaderEpoch: -1 },
    { type: 'gap', gap },
    { type: 'resubscribe' },
  )
}

/**
 * The leader's log for the position's epoch ends below the position (KIP-320): with a reset policy, [end, position)
 * is a truncation gap and the position (and the stored one) moves back to the end, under the answered epoch;
 * otherwise the subscription fails with OFFSET_OUT_OF_RANGE, as an out-of-range position would.
 */
function diverged(s: PartitionPosition, d: Divergence): PositionStep {
  const { topic, partition, reset } = s.rules
  const { gap } = d
  if (reset === null) {
    const message = `${topic}/${partition}: leader epoch ${d.leaderEpoch} ends at offset ${d.resume} on the leader, below the position ${gap.to}: the log was truncated`
    return step(s, { type: 'fail', error: new SamsaError('OFFSET_OUT_OF_RANGE', message, { divergentOffset: d.resume, leaderEpoch: d.leaderEpoch }) })
  }
  return step(
    { ...s, start: d.resume, position: d.resume, positionEpoch: d.leaderEpoch },
    { type: 'warn', message: 'position above the end of its leader epoch: reporting a truncation gap and continuing there', fields: { ...gap, leaderEpoch: d.leaderEpoch } },
    { type: 'store', how: 'truncated', offset: d.resume, leaderEpoch: d.leaderEpoch },
    { type: 'gap', gap },
    { type: 'resubscribe' },
  )
}

/** The offset the next subscribe request asks for. */
export function requestOffset(s: PartitionPosition): number {
  return s.position ?? s.start
}

/** The offset the partition continues at when it is known: the position, or an exact start; null while symbolic. */
export function exactOffset(s: PartitionPosition): number | null {
  const offset = requestOffset(s)
  return offset >= 0 ? offset : null
}

/** With `until: 'end'`: every record below the end has been delivered. */
export function atEnd(s: PartitionPosition): boolean {
  return s.endOffset !== null && s.position !== null && s.position >= s.endOffset
}

/** Whether a record at `offset` is beyond what this partition delivers (at or above its end). */
export function beyondEnd(s: PartitionPosition, offset: number): boolean {
  return s.endOffset !== null && offset >= s.endOffset
}
