/**
 * @module What a follower accepts from its leader, batch by batch, before writing it unchanged: a whole batch that
 * passes verifyBatch (CRC, framing), starts at the follower's log end and carries a leader epoch not older than the
 * epoch of the follower's last batch. Anything else is CORRUPT_MESSAGE (retriable: the follower fetches again).
 */
import { ProtocolError, SamsaError, verifyBatch, type BatchHeader, type Crc32cFn } from '@samsa/shared'

/** The header of the leader's batch at byte `at` of `batches`, checked against a log ending at `logEndOffset` whose last batch has `lastBatchEpoch` (−1: none). */
export function checkLeaderBatch(batches: Uint8Array, at: number, logEndOffset: number, lastBatchEpoch: number, crc32c: Crc32cFn): BatchHeader {
  let header: BatchHeader
  try {
    header = verifyBatch(batches, at, batches.length, { crc32c, compacted: true })
  } catch (e) {
    if (e instanceof ProtocolError) throw new SamsaError('CORRUPT_MESSAGE', `batch at byte ${at} of the leader's bytes: ${e.message}`)
    throw e
  }
  if (header.baseOffset !== logEndOffset) {
    throw new SamsaError('CORRUPT_MESSAGE', `the leader's batch starts at offset ${header.baseOffset}; this log ends at ${logEndOffset}`)
  }
  if (header.partitionLeaderEpoch < lastBatchEpoch) {
    throw new SamsaError('CORRUPT_MESSAGE', `the leader's batch at offset ${header.baseOffset} has leader epoch ${header.partitionLeaderEpoch}, older than the epoch ${lastBatchEpoch} of this log's last batch`)
  }
  return header
}
