/**
 * @module Subscription: pushes one partition's batches to one connection from an offset, within byte credit.
 * Invariants: pushes are in offset order; nextOffset only grows; at most one read is in flight; nothing is
 * pushed while credit ≤ 0, above the high watermark, or without room reserved in the connection's output budget
 * (reserved before the read, released once the push is handed to the socket). Reads go through the partition's
 * PushReads, so subscriptions at the same position share one read and one frame.
 */
import { ErrorMessages, PUSH_RECORDS_OVERHEAD, SamsaError, encodePushEnded } from '@samsa/shared'
import { inTopicPartition } from '../broker/offset-range.js'
import type { PartitionLog } from '../log/partition-log.js'
import type { Resignation } from '../broker/partition-leadership.js'
import { toSamsaError } from './to-samsa-error.js'
import type { PreparedPush, PushReads } from './push-reads.js'

export interface SubscriptionHost {
  readonly apiVersion: number
  readonly maxPushBytes: number
  readonly maxCreditBytes: number
  send(frame: Uint8Array): void
  /** Reserves room in the connection's output budget; false while it is spent (the host pumps again when it drains). */
  tryReserve(bytes: number): boolean
  release(bytes: number): void
  recordsOut(topic: string, records: number, bytes: number): void
  /** Called once when the subscription ends by itself (error); the host forgets it. */
  ended(id: number): void
}

export class Subscription {
  readonly id: number
  readonly topic: string
  readonly partition: number
  readonly #log: PartitionLog
  readonly #reads: PushReads
  readonly #host: SubscriptionHost
  /** Next offset to deliver; only grows. */
  #nextOffset: number
  /** Bytes the client still accepts; ≤ host.maxCreditBytes. */
  #credit: number
  #reading = false
  #closed = false
  readonly #offHighWatermark: () => void

  constructor(id: number, topic: string, partition: number, log: PartitionLog, reads: PushReads, offset: number, creditBytes: number, host: SubscriptionHost) {
    this.id = id
    this.topic = topic
    this.partition = partition
    this.#log = log
    this.#reads = reads
    this.#host = host
    this.#nextOffset = offset
    this.#credit = Math.min(creditBytes, host.maxCreditBytes)
    this.#offHighWatermark = log.onHighWatermark(() => this.pump())
  }

  get nextOffset(): number {
    return this.#nextOffset
  }

  addCredit(bytes: number): void {
    this.#credit = Math.min(this.#credit + bytes, this.#host.maxCreditBytes)
    this.pump()
  }

  /** Sends whatever is visible and allowed; safe to call at any time. */
  pump(): void {
    if (this.#reading || this.#closed) return
    if (this.#credit <= 0 || this.#nextOffset >= this.#log.highWatermark) return
    const maxBytes = Math.max(1, Math.min(this.#credit - PUSH_RECORDS_OVERHEAD, this.#host.maxPushBytes))
    const reserved = maxBytes + PUSH_RECORDS_OVERHEAD
    if (!this.#host.tryReserve(reserved)) return
    this.#reading = true
    this.#reads.read(this.#nextOffset, maxBytes, (push, err) => this.#onRead(push, err, reserved))
  }

  /** The read's outcome (called once per pump that started a read): push it, or end on a read error. */
  #onRead(push: PreparedPush | null, err: unknown, reserved: number): void {
    let more = false
    try {
      if (err !== undefined) throw err
      if (!this.#closed && push !== null) {
        const frame = push.frame(this.#host.apiVersion, this.id)
        this.#host.send(frame)
        push.count(this.#countOut)
        // A push spends its whole frame (PUSH_RECORDS_OVERHEAD + records), as the client counts it.
        this.#credit -= frame.length
        this.#nextOffset = push.nextOffset
        more = true
      }
    } catch (e) {
      this.#host.release(reserved)
      this.#reading = false
      this.end(toSamsaError(inTopicPartition(e, this.topic, this.partition, this.#nextOffset)))
      return
    }
    this.#host.release(reserved)
    this.#reading = false
    if (more) this.pump()
  }

  readonly #countOut = (records: number, bytes: number): void => this.#host.recordsOut(this.topic, records, bytes)

  /** Ends the subscription from the broker side and tells the client why. */
  end(error: SamsaError): void {
    if (this.#closed) return
    this.close()
    this.#host.send(encodePushEnded(this.#host.apiVersion, this.id, error))
    this.#host.ended(this.id)
  }

  close(): void {
    this.#closed = true
    this.#offHighWatermark()
  }
}

export function topicDeletedError(topic: string): SamsaError {
  return new SamsaError('TOPIC_DELETED', ErrorMessages.topicDeleted(topic))
}

/** The subscription's broker stopped leading its partition; details name the new leader when known (retriable). */
export function notLeaderError(brokerId: number, r: Resignation): SamsaError {
  const next = r.leaderId !== undefined && r.leaderId >= 0 && r.leaderId !== brokerId ? `; broker ${r.leaderId} leads it now` : ''
  const details: Record<string, number> = r.leaderId !== undefined && r.leaderEpoch !== undefined ? { leaderId: r.leaderId, leaderEpoch: r.leaderEpoch } : {}
  return new SamsaError('NOT_LEADER_OR_FOLLOWER', `broker ${brokerId} no longer leads ${r.topic}/${r.partition}${next}`, details)
}
