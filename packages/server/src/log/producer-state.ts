/**
 * @module ProducerStateTable: idempotent-producer state per partition (producerId → epoch and its last 5 batches),
 * Kafka's duplicate and sequence rules, and expiry: an id with no batch appended for the expiration time is dropped
 * (Kafka's producer.id.expiration.ms), after which the partition treats it as any id it does not know. Entries are
 * plain data, so the table is saved in the recovery point (recovery-point.ts) and restored from it unchanged.
 */
import { SamsaError, type BatchHeader } from '@samsa/shared'

/** Kafka keeps the last 5 batches per producer: the dedupe window must cover max.in.flight (5). */
export const PRODUCER_BATCH_WINDOW = 5
const INT32_MAX = 0x7fff_ffff

export interface ProducerBatch {
  readonly firstSeq: number
  readonly lastSeq: number
  readonly baseOffset: number
  readonly lastOffset: number
  /** The batch's CRC-32C (over attributes..records, so it covers producer id, epoch, sequence and every record): a resend of the same bytes has the same CRC. */
  readonly crc: number
}

export interface ProducerEntry {
  readonly epoch: number
  /** Oldest first; at most PRODUCER_BATCH_WINDOW; consecutive in sequence. */
  readonly batches: readonly ProducerBatch[]
  /** The broker's clock when its last batch was appended here (or replayed at recovery): what expiry measures from. */
  readonly lastAppendMs: number
}

export type ProducerCheck = { kind: 'append' } | { kind: 'duplicate'; baseOffset: number; lastOffset: number }

type Header = Pick<BatchHeader, 'producerId' | 'producerEpoch' | 'baseSequence' | 'lastOffsetDelta' | 'crc'>

/** Last sequence of a batch: baseSequence + lastOffsetDelta, wrapping past int32 max to 0 like Kafka. */
export function lastSequence(baseSequence: number, lastOffsetDelta: number): number {
  return baseSequence > INT32_MAX - lastOffsetDelta ? lastOffsetDelta - (INT32_MAX - baseSequence) - 1 : baseSequence + lastOffsetDelta
}

export function nextSequence(seq: number): number {
  return seq === INT32_MAX ? 0 : seq + 1
}

/** Whether the batch takes part in idempotence (producerId −1 or no sequence = plain producer). */
export function isIdempotent(h: Pick<BatchHeader, 'producerId' | 'baseSequence'>): boolean {
  return h.producerId >= 0 && h.baseSequence >= 0
}

export class ProducerStateTable {
  /** producerId → its current epoch and last batches; only ids that appended an idempotent batch. */
  #producers = new Map<number, ProducerEntry>()

  get size(): number {
    return this.#producers.size
  }

  get(producerId: number): ProducerEntry | undefined {
    return this.#producers.get(producerId)
  }

  /**
   * Decides what to do with a batch before it is appended. Throws SamsaError INVALID_PRODUCER_EPOCH for a
   * stale epoch, OUT_OF_ORDER_SEQUENCE_NUMBER (details expectedSequence, receivedSequence) for a gap, and
   * DUPLICATE_SEQUENCE_CONFLICT when the sequences match a stored batch but the bytes (CRC) do not: that is
   * another batch reusing the sequence, and answering it as a duplicate would claim an offset holding other records.
   */
  check(h: Header): ProducerCheck {
    if (!isIdempotent(h)) return { kind: 'append' }
    const entry = this.#producers.get(h.producerId)
    if (!entry) return { kind: 'append' }
    if (h.producerEpoch < entry.epoch) {
      throw new SamsaError('INVALID_PRODUCER_EPOCH', `producer ${h.producerId} epoch ${h.producerEpoch} is older than the current epoch ${entry.epoch}`, {
        producerId: h.producerId,
        producerEpoch: h.producerEpoch,
        currentEpoch: entry.epoch,
      })
    }
    if (h.producerEpoch > entry.epoch) {
      if (h.baseSequence !== 0) throw outOfOrder(h, 0, `a new epoch ${h.producerEpoch} must start at sequence 0`)
      return { kind: 'append' }
    }
    const last = lastSequence(h.baseSequence, h.lastOffsetDelta)
    for (const b of entry.batches) {
      if (b.firstSeq !== h.baseSequence || b.lastSeq !== last) continue
      if (b.crc !== h.crc) throw conflict(h, b)
      return { kind: 'duplicate', baseOffset: b.baseOffset, lastOffset: b.lastOffset }
    }
    const tail = entry.batches.at(-1)
    if (tail === undefined) return { kind: 'append' }
    const expected = nextSequence(tail.lastSeq)
    if (h.baseSequence !== expected) throw outOfOrder(h, expected, `expected sequence ${expected}`)
    return { kind: 'append' }
  }

  /**
   * Records an appended batch (after check() said append and the write succeeded, or while rebuilding from the log)
   * at `nowMs` on the broker's clock.
   */
  update(h: Header, baseOffset: number, nowMs: number): void {
    if (!isIdempotent(h)) return
    const entry = this.#producers.get(h.producerId)
    const batch: ProducerBatch = { firstSeq: h.baseSequence, lastSeq: lastSequence(h.baseSequence, h.lastOffsetDelta), baseOffset, lastOffset: baseOffset + h.lastOffsetDelta, crc: h.crc }
    const keep = entry && entry.epoch === h.producerEpoch ? entry.batches.slice(-(PRODUCER_BATCH_WINDOW - 1)) : []
    this.#producers.set(h.producerId, { epoch: h.producerEpoch, batches: [...keep, batch], lastAppendMs: Math.max(nowMs, entry?.lastAppendMs ?? nowMs) })
  }

  /** Drops every id whose last batch was appended `expirationMs` or longer before `nowMs`; returns how many. */
  expire(nowMs: number, expirationMs: number): number {
    let dropped = 0
    for (const [id, entry] of this.#producers) {
      if (nowMs - entry.lastAppendMs >= expirationMs) {
        this.#producers.delete(id)
        dropped++
      }
    }
    return dropped
  }

  /** Every entry, for a snapshot (the entries are immutable: later updates replace them). */
  entries(): [number, ProducerEntry][] {
    return [...this.#producers]
  }

  /** A table holding exactly `entries` (a snapshot read back). */
  static of(entries: Iterable<readonly [number, ProducerEntry]>): ProducerStateTable {
    const table = new ProducerStateTable()
    for (const [id, entry] of entries) table.#producers.set(id, entry)
    return table
  }
}

function outOfOrder(h: Header, expected: number, why: string): SamsaError {
  return new SamsaError('OUT_OF_ORDER_SEQUENCE_NUMBER', `producer ${h.producerId} epoch ${h.producerEpoch}: sequence ${h.baseSequence} is out of order (${why})`, {
    expectedSequence: expected,
    receivedSequence: h.baseSequence,
  })
}

function conflict(h: Header, b: ProducerBatch): SamsaError {
  return new SamsaError(
    'DUPLICATE_SEQUENCE_CONFLICT',
    `producer ${h.producerId} epoch ${h.producerEpoch}: sequences ${h.baseSequence}..${b.lastSeq} were already appended at offset ${b.baseOffset} with different bytes`,
    { producerId: h.producerId, producerEpoch: h.producerEpoch, baseSequence: h.baseSequence, baseOffset: b.baseOffset },
  )
}
