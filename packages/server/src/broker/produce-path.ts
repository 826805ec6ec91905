/**
 * @module The write side of the broker over one partition's log, once the broker has decided it leads it: checks a
 * produced batch, appends it, and answers once it satisfies its acks (produce-acks.ts).
 *
 * Invariants: nothing is appended unless the batch is exactly one whole batch within maxBatchBytes and
 * maxRecordBytes whose CRC holds, and (acks=all) the ISR is at least min.insync.replicas; the answer comes within
 * the produce's timeout (bounded by requestTimeoutMs) or the produce fails REQUEST_TIMED_OUT, and no ack wait
 * outlives it.
 */
import {
  ProtocolError, RecordTooLargeError, SamsaError, batchTotalBytes, verifyBatch, type Crc32cFn, type ProduceRequest, type ProduceResponse,
} from '@samsa/shared'
import type { Clock } from '../clock.js'
import type { PartitionLog } from '../log/partition-log.js'
import type { BrokerMetrics } from '../observability/broker-metrics.js'
import type { BrokerConfig } from './broker-config.js'
import type { LeaderHandle } from './partition-leadership.js'
import { awaitAcks, checkAcksBeforeAppend } from './produce-acks.js'
import { withTimeout } from './with-timeout.js'

/** What the produce path needs of the broker. */
export interface ProduceContext {
  readonly config: Pick<BrokerConfig, 'maxBatchBytes' | 'maxRecordBytes' | 'requestTimeoutMs'>
  readonly clock: Clock
  readonly metrics: BrokerMetrics
  /** CRC-32C for verifying produced batches; undefined: the pure-JS one in @samsa/shared. */
  readonly crc32c: Crc32cFn | undefined
}

/**
 * MESSAGE_TOO_LARGE or CORRUPT_MESSAGE unless `batch` is exactly one valid record batch within the limits; its
 * record count otherwise.
 */
export function checkProducedBatch(ctx: ProduceContext, batch: Uint8Array): number {
  const { maxBatchBytes, maxRecordBytes } = ctx.config
  if (batch.length > maxBatchBytes) {
    throw new SamsaError('MESSAGE_TOO_LARGE', `batch of ${batch.length} bytes exceeds maxBatchBytes ${maxBatchBytes}`, { batchBytes: batch.length, maxBatchBytes })
  }
  try {
    const header = verifyBatch(batch, 0, batch.length, ctx.crc32c ? { maxRecordBytes, crc32c: ctx.crc32c } : { maxRecordBytes })
    if (batchTotalBytes(header) !== batch.length) throw new ProtocolError(`${batch.length - batchTotalBytes(header)} bytes follow the batch; a produce carries exactly one batch`)
    return header.recordCount
  } catch (e) {
    if (e instanceof RecordTooLargeError) throw new SamsaError('MESSAGE_TOO_LARGE', e.message, { recordBytes: e.recordBytes, maxRecordBytes })
    if (e instanceof ProtocolError) throw new SamsaError('CORRUPT_MESSAGE', `invalid record batch: ${e.message}`)
    throw e
  }
}

/** Checks and appends one batch to the partition this broker leads (`leader`: its in-sync view, with replication). */
export async function appendProduced(ctx: ProduceContext, req: ProduceRequest, log: PartitionLog, leader: LeaderHandle | undefined): Promise<ProduceResponse> {
  const { clock, config, metrics } = ctx
  const recordCount = checkProducedBatch(ctx, req.batch)
  checkAcksBeforeAppend(req.acks, leader)
  const started = clock.monotonicMs()
  const timeoutMs = Math.min(req.timeoutMs || config.requestTimeoutMs, config.requestTimeoutMs)
  let cancelAcks = () => {}
  const appended = log.append(req.batch).then(async (r) => {
    const acks = awaitAcks(req.acks, log, r.lastOffset + 1, leader)
    cancelAcks = acks.cancel
    await acks.done
    return r
  })
  const result = await withTimeout(clock, appended, timeoutMs, () =>
    new SamsaError('REQUEST_TIMED_OUT', `the batch was not durable within ${timeoutMs} ms; resend it with the same sequence to learn its offset`),
  ).finally(() => cancelAcks())
  metrics.produceLatencyMs(clock.monotonicMs() - started)
  if (!result.duplicate) metrics.recordsIn(req.topic, recordCount, req.batch.length)
  return { baseOffset: result.baseOffset, logAppendTimeMs: result.logAppendTimeMs, logStartOffset: result.logStartOffset, duplicate: result.duplicate }
}
