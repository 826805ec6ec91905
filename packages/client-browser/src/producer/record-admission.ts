/**
 * @module Admission of one send()'s records, pure: each record's encoded form, size check and partition, and the
 * abort state of the send. Invariants: a send is admitted whole or not at all (any record over the broker's limits,
 * or aimed at a partition the topic lacks, fails the whole send before one record is batched); records stored in
 * the pending store keep the timestamp and the partition choice fixed at send(); an aborted send whose records are
 * not yet batched is dropped (`recordsDropped: true`), once batched it is delivered whatever its signal says.
 */
import { BATCH_HEADER_BYTES, SamsaError, recordEncodedSize, unknownPartitionMessage, type RecordInput } from '@samsa/shared'
import { AbortError } from '../client-errors.js'
import type { PendingRecord } from '../storage/stores.js'
import type { ProducerRecord } from './producer-options.js'
import { toRecordInput } from './send-group.js'

/** What one send() admits: the caller's records, or records stored in the pending store (timestamps fixed at send()). */
export type AdmitSource = { readonly records: readonly ProducerRecord[]; readonly pending?: undefined } | { readonly records?: undefined; readonly pending: readonly PendingRecord[] }

/** A send()'s abort state, read and written synchronously where its records are appended to a batch. */
export interface AbortControl {
  readonly signal: AbortSignal
  /** Aborted before its records were batched: admission drops them. */
  aborted: boolean
  /** Its records are in a batch (they will be delivered whatever the signal says). */
  admitted: boolean
}

export const droppedError = (signal: AbortSignal) => new AbortError('send aborted before its records were batched: they were dropped, none was sent', signal.reason, true)

export const deliveredAnywayError = (signal: AbortSignal) =>
  new AbortError('send aborted after its records were batched: they will still be delivered (a sent batch cannot be unsent)', signal.reason, false)

export interface AdmissionLimits {
  /** The broker's limit on one record. */
  readonly maxRecordBytes: number
  /** The smaller of the producer's option and the broker's limit. */
  readonly maxBatchBytes: number
  readonly partitionCount: number
  /** Clock ms: the timestamp of records that have none. */
  readonly nowMs: number
}

export interface AdmittedRecords {
  readonly inputs: RecordInput[]
  readonly partitions: number[]
}

/** Each record's input and partition (`choose` picks one for records that name none); throws for the first record that cannot be sent. */
export function admitRecords(topic: string, source: AdmitSource, limits: AdmissionLimits, choose: (key: Uint8Array | null) => number): AdmittedRecords {
  const { pending } = source
  const { maxRecordBytes, maxBatchBytes, partitionCount, nowMs } = limits
  const n = pending?.length ?? source.records!.length
  const inputs = new Array<RecordInput>(n)
  const partitions = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    const stored = pending?.[i]
    const r = stored === undefined ? source.records![i]! : undefined
    const input = stored === undefined ? toRecordInput(r!, nowMs) : { key: stored.key, value: stored.value, headers: stored.headers, timestamp: stored.timestamp }
    const size = recordEncodedSize(input, 0, input.timestamp)
    if (size > maxRecordBytes || BATCH_HEADER_BYTES + size > maxBatchBytes) {
      throw new SamsaError('MESSAGE_TOO_LARGE', `record ${i} is ${size} bytes; the limits are maxRecordBytes ${maxRecordBytes} and maxBatchBytes ${maxBatchBytes}`, {
        recordBytes: size,
        maxRecordBytes,
        maxBatchBytes,
      })
    }
    const partition = (stored === undefined ? r!.partition : (stored.partition ?? undefined)) ?? choose(input.key)
    if (!Number.isInteger(partition) || partition < 0 || partition >= partitionCount) {
      throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', unknownPartitionMessage(topic, partitionCount, partition))
    }
    inputs[i] = input
    partitions[i] = partition
  }
  return { inputs, partitions }
}
