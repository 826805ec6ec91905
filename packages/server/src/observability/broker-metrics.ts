/** @module BrokerMetrics: the port the core reports to; the node adapter implements it with prom-client. */
import type { QuotaName } from '../security/quotas/broker-quotas.js'

export interface BrokerMetrics {
  recordsIn(topic: string, records: number, bytes: number): void
  recordsOut(topic: string, records: number, bytes: number): void
  connectionOpened(): void
  connectionClosed(): void
  produceLatencyMs(ms: number): void
  fetchLatencyMs(ms: number): void
  requestError(apiKey: string, errorName: string): void
  /** Segment files holding an OS handle now (≤ maxOpenSegmentFiles). */
  segmentFilesOpen(count: number): void
  /** A segment file's handle was closed to make room for another. */
  segmentFileEvicted(): void
  /** The OS refused a file handle and no idle one could be closed: the operation failed with a retriable storage error. */
  fileHandlesExhausted(): void
  /** Topics and partitions (over all topics) on the broker after a create, delete or start; on a cluster node, those it holds replicas of. */
  topicsChanged(topics: number, partitions: number): void
  /** A connection's output went over its budget and reading from it was paused (true), or it drained and reading resumed (false). */
  connectionReadingPaused(paused: boolean): void
  /** Producer ids whose bumped epoch the broker remembers (≤ its bound; past it the oldest expire). */
  producerEpochsTracked(count: number): void
  /**
   * A browser-hygiene refusal before anything was served: a WebSocket upgrade (`ws`) or HTTP request (`http`) from a
   * foreign origin, to a foreign Host, or a REST write that is not JSON.
   */
  requestRefused(via: 'ws' | 'http', reason: 'origin' | 'host' | 'content-type'): void
  /** A connection was throttled for `ms` by `quota`: its response held and its reading paused that long. */
  quotaThrottled(quota: QuotaName, ms: number): void
  /** A quota refused a request or a connection, or closed a connection (QUOTA_EXCEEDED). */
  quotaExceeded(quota: QuotaName): void
  /** The broker closed a connection, with this close code's name (QUOTA_EXCEEDED, HELLO_TIMEOUT, IDLE_TIMEOUT, …). */
  connectionClosedByBroker(code: string): void
  /** A hello, reauthenticate or HTTP request was refused for its credential (`kind`: a client's token or a peer's), with the refusal reason. */
  authenticationRefused(kind: 'user' | 'peer', reason: string): void
  /** A request refused by authorization (security/authorization), by operation (read, write, …, producerId). */
  authorizationRefused(operation: string): void
  /** A log-cleaner pass over one partition (log/log-cleaner.ts): bytes it read, wrote, and freed. */
  logCleaned(bytesRead: number, bytesWritten: number, bytesRemoved: number): void
  /** Compaction lag: offsets of compacted partitions written since the cleaner last reached them, summed over the broker. */
  compactionLagOffsets(offsets: number): void
  /** A consumer group's target assignment was recomputed (a member joined, left or timed out, subscriptions changed). */
  groupRebalanced(): void
  /** A consumer group bound refused a request: a member over maxMembersPerGroup, a group over maxGroups. */
  groupRefused(bound: 'members' | 'groups'): void
}

export const noopMetrics: BrokerMetrics = {
  recordsIn() {},
  recordsOut() {},
  connectionOpened() {},
  connectionClosed() {},
  produceLatencyMs() {},
  fetchLatencyMs() {},
  requestError() {},
  segmentFilesOpen() {},
  segmentFileEvicted() {},
  fileHandlesExhausted() {},
  topicsChanged() {},
  connectionReadingPaused() {},
  producerEpochsTracked() {},
  requestRefused() {},
  quotaThrottled() {},
  quotaExceeded() {},
  connectionClosedByBroker() {},
  authenticationRefused() {},
  authorizationRefused() {},
  logCleaned() {},
  compactionLagOffsets() {},
  groupRebalanced() {},
  groupRefused() {},
}
