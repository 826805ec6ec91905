/**
 * @module The position of one partition of a subscription as a pure reducer: where it starts, what the broker
 * confirmed, the next offset to deliver, and (with `until: 'end'`) where it stops.
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
 */

export type SeekTarget = number | 'earliest' | 'latest'

export interface PartitionPosition {
  /** The offset asked for while `position` is null: −2 earliest, −1 latest, or exact. */
  readonly start: number
  /** The next offset to deliver (after the last record handed to the application); null until the broker resolves the start. */
  readonly position: number | null
  /** The broker has answered a subscribe for this partition at least once. */
  readonly confirmed: boolean
  /** With `until: 'end'`: the high watermark when the partition was confirmed; delivery stops before it. */
  readonly endOffset: number | null
  /** Whether this partition stops at its end (`until: 'end'`). */
  readonly untilEnd: boolean
}

export type PositionEvent =
  /** A subscribe response this partition accepted. */
  | { readonly kind: 'subscribed'; readonly offset: number; readonly highWatermark: number }
  /** A subscribe response that came after its request timed out: its offset is the start the broker chose. */
  | { readonly kind: 'late-subscribed'; readonly offset: number }
  /** The application took the record at `offset`. */
  | { readonly kind: 'delivered'; readonly offset: number }
  /** The application moved the position (`sub.seek`). */
  | { readonly kind: 'seek'; readonly to: SeekTarget }
  /** The position was out of range and continues at `offset` (a gap was reported). */
  | { readonly kind: 'reset'; readonly offset: number }

export function initialPosition(start: number, untilEnd: boolean): PartitionPosition {
  return { start, position: null, confirmed: false, endOffset: null, untilEnd }
}

export function reducePosition(s: PartitionPosition, e: PositionEvent): PartitionPosition {
  switch (e.kind) {
    case 'subscribed':
      return {
        ...s,
        position: s.position ?? e.offset,
        confirmed: true,
        endOffset: s.untilEnd && s.endOffset === null ? e.highWatermark : s.endOffset,
      }
    case 'late-subscribed':
      return s.position === null ? { ...s, position: e.offset } : s
    case 'delivered':
      return { ...s, position: e.offset + 1 }
    case 'seek':
      if (e.to === 'earliest') return { ...s, start: -2, position: null }
      if (e.to === 'latest') return { ...s, start: -1, position: null }
      return { ...s, start: e.to, position: e.to }
    case 'reset':
      return { ...s, start: e.offset, position: e.offset }
  }
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
