/**
 * @module The one wording of OFFSET_OUT_OF_RANGE for a topic-partition (fetches and subscriptions alike). A position
 * is valid when logStartOffset ≤ offset ≤ logEndOffset; details always carry both bounds.
 */
import { ErrorMessages, SamsaError } from '@samsa/shared'
import type { PartitionLog } from '../log/partition-log.js'

/**
 * OFFSET_OUT_OF_RANGE, naming the topic-partition, unless logStartOffset ≤ offset ≤ logEndOffset. A position above
 * the high watermark but in the log is valid (a new leader's high watermark may lag what consumers read from the
 * former one): reads there wait for the high watermark.
 */
export function assertOffsetInRange(log: PartitionLog, offset: number, topic: string, partition: number): void {
  if (!Number.isSafeInteger(offset) || offset < log.logStartOffset || offset > log.logEndOffset) {
    throw offsetOutOfRange(topic, partition, offset, log.logStartOffset, log.logEndOffset)
  }
}

export function offsetOutOfRange(topic: string, partition: number, offset: number, logStartOffset: number, logEndOffset: number): SamsaError {
  return new SamsaError('OFFSET_OUT_OF_RANGE', ErrorMessages.offsetOutOfRange(topic, partition, offset, logStartOffset, logEndOffset), { logStartOffset, logEndOffset })
}

/** A partition log's own OFFSET_OUT_OF_RANGE (it does not know its topic) reworded to name the topic-partition; other errors unchanged. */
export function inTopicPartition(err: unknown, topic: string, partition: number, offset: number): unknown {
  if (!(err instanceof SamsaError) || err.errorName !== 'OFFSET_OUT_OF_RANGE') return err
  return offsetOutOfRange(topic, partition, offset, err.details.logStartOffset ?? -1, err.details.logEndOffset ?? -1)
}
