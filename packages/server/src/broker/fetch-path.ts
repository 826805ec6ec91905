/**
 * @module The read side of the broker over one partition's log, once the broker has decided it serves it: a
 * consumer's fetch (long poll up to the high watermark), a follower's replica fetch (up to the log end), and
 * listOffsets.
 *
 * Invariants: a consumer never reads at or above the high watermark; a fetch reserves room in its connection's
 * output budget before it reads and holds none while it waits; no wait outlives the requester's connection; every
 * wait is bounded by requestTimeoutMs.
 */
import { SamsaError, type FetchRequest, type FetchResponse, type ListOffsetsRequest, type ListOffsetsResponse } from '@samsa/shared'
import type { Clock } from '../clock.js'
import type { PartitionLog, ReadResult } from '../log/partition-log.js'
import type { BrokerMetrics } from '../observability/broker-metrics.js'
import type { BrokerConfig } from './broker-config.js'
import { readEnd, waitForBytes, waitForLogEnd } from './fetch-wait.js'
import { assertOffsetInRange, inTopicPartition, offsetOutOfRange } from './offset-range.js'
import type { PartitionLeadership } from './partition-leadership.js'

/** Room in the requesting connection's output budget for a fetch reply: reserved before records are read. */
export interface FetchOutput {
  /** Waits for room for `bytes`; rejects once the connection is closed. */
  reserve(bytes: number): Promise<void>
  /** Gives back what reserve took (no-op when nothing is held). */
  release(): void
}

/** Registers a callback for when the requester's connection closes; returns the unregister function. */
export type OnGone = (cancel: () => void) => () => void

/** What the read paths need of the broker. */
export interface FetchContext {
  readonly config: Pick<BrokerConfig, 'maxPushBytes' | 'requestTimeoutMs'>
  readonly clock: Clock
  readonly metrics: BrokerMetrics
}

/** Frame header, error code and the two offsets in front of a fetch reply's records. */
const FETCH_RESPONSE_OVERHEAD_BYTES = 8 + 2 + 8 + 8

/**
 * Reads whole batches from offset. Waits up to maxWaitMs (bounded by requestTimeoutMs) until minBytes (at most
 * maxBytes) are readable above offset; minBytes 0 answers at once. A read that stops below the high watermark
 * (maxBytes or a segment end) answers at once: more is there. `onGone`: the wait ends at once when the requester's
 * connection closes (no timer or listener outlives the connection) and the fetch fails, since nobody is left to
 * answer. `output` reserves room in the connection's output budget before records are read, and releases it while
 * the fetch waits, so a long poll holds none.
 */
export async function consumerFetch(ctx: FetchContext, req: FetchRequest, log: PartitionLog, onGone?: OnGone, output?: FetchOutput): Promise<FetchResponse> {
  assertOffsetInRange(log, req.offset, req.topic, req.partition)
  const { clock, config } = ctx
  const started = clock.monotonicMs()
  const maxBytes = Math.max(1, Math.min(req.maxBytes, config.maxPushBytes))
  const minBytes = Math.min(req.minBytes, maxBytes)
  const waitMs = Math.min(req.maxWaitMs, config.requestTimeoutMs)
  const read = async () => {
    await output?.reserve(maxBytes + FETCH_RESPONSE_OVERHEAD_BYTES)
    return log.read(req.offset, maxBytes).catch((e: unknown) => {
      throw inTopicPartition(e, req.topic, req.partition, req.offset)
    })
  }
  // Bytes known readable above offset, as of high watermark position `mark`.
  let have = 0
  let mark = log.highWatermarkPosition
  if (req.offset < log.highWatermark || minBytes === 0 || waitMs === 0) {
    const r = await read()
    if (minBytes === 0 || waitMs === 0 || r.records.length >= minBytes || readEnd(r.records, req.offset) < r.highWatermark) return fetched(ctx, r, started)
    output?.release()
    have = r.records.length
    mark = r.highWatermarkPosition
  }
  const remainingMs = have > 0 ? waitMs - (clock.monotonicMs() - started) : waitMs
  if (remainingMs > 0 && !(await waitForBytes(clock, log, mark, minBytes - have, remainingMs, onGone))) {
    throw new SamsaError('NETWORK_EXCEPTION', 'the connection closed during the fetch wait')
  }
  return fetched(ctx, await read(), started)
}

function fetched(ctx: FetchContext, r: ReadResult, startedMs: number): FetchResponse {
  ctx.metrics.fetchLatencyMs(ctx.clock.monotonicMs() - startedMs)
  return { highWatermark: r.highWatermark, logStartOffset: r.logStartOffset, records: r.records }
}

/**
 * A follower's fetch (its connection's hello named it peer `replicaId`, checked by the session): checks the leader
 * epoch it follows, records its log end (= offset) with the leader, then reads up to the leader's log end (not only
 * its durable end: the follower copies while the leader fsyncs), waiting up to maxWaitMs for the log to grow past
 * offset. `log`: this broker's replica of the partition, whatever its role.
 */
export async function replicaFetch(
  ctx: FetchContext,
  req: FetchRequest,
  log: PartitionLog,
  leadership: PartitionLeadership | undefined,
  onGone?: OnGone,
  output?: FetchOutput,
): Promise<FetchResponse> {
  if (!leadership) throw new SamsaError('INVALID_REQUEST', 'this broker does not replicate: a replica fetch needs a cluster')
  const { clock, config } = ctx
  const replicaId = req.replicaId ?? -1
  const leader = leadership.leader(req.topic, req.partition, req.currentLeaderEpoch)
  if (!leader.isReplica(replicaId)) throw new SamsaError('NOT_LEADER_OR_FOLLOWER', `broker ${req.replicaId} is not a follower of ${req.topic}/${req.partition}`)
  const started = clock.monotonicMs()
  if (!Number.isSafeInteger(req.offset) || req.offset < log.logStartOffset || req.offset > log.logEndOffset) {
    throw offsetOutOfRange(req.topic, req.partition, req.offset, log.logStartOffset, log.logEndOffset)
  }
  leadership.replicaFetched(req.topic, req.partition, replicaId, req.offset)
  const maxBytes = Math.max(1, Math.min(req.maxBytes, config.maxPushBytes))
  const waitMs = Math.min(req.maxWaitMs, config.requestTimeoutMs)
  if (log.logEndOffset <= req.offset && waitMs > 0 && !(await waitForLogEnd(clock, log, req.offset, waitMs, onGone))) {
    throw new SamsaError('NETWORK_EXCEPTION', 'the connection closed during the fetch wait')
  }
  await output?.reserve(maxBytes + FETCH_RESPONSE_OVERHEAD_BYTES)
  const records = await log.readForReplica(req.offset, maxBytes)
  ctx.metrics.fetchLatencyMs(clock.monotonicMs() - started)
  return { highWatermark: log.highWatermark, logStartOffset: log.logStartOffset, records }
}

/** -2: the log start; -1: the high watermark; a time: the first offset at or after it below the high watermark, else the high watermark. */
export async function listOffsets(req: ListOffsetsRequest, log: PartitionLog): Promise<ListOffsetsResponse> {
  if (req.timestamp === -2) return { offset: log.logStartOffset, timestamp: -1, leaderEpoch: log.leaderEpoch }
  if (req.timestamp === -1) return { offset: log.highWatermark, timestamp: -1, leaderEpoch: log.leaderEpoch }
  if (req.timestamp < 0) throw new SamsaError('INVALID_REQUEST', `timestamp must be -2 (earliest), -1 (latest) or ms since the epoch, got ${req.timestamp}`)
  const found = await log.offsetForTimestamp(req.timestamp)
  if (!found || found.offset >= log.highWatermark) return { offset: log.highWatermark, timestamp: -1, leaderEpoch: log.leaderEpoch }
  return { offset: found.offset, timestamp: found.timestamp, leaderEpoch: log.leaderEpoch }
}
