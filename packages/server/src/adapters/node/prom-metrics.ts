/** @module BrokerMetrics on prom-client, plus log-offset gauges read from the broker at scrape time. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Broker } from '../../broker/broker.js'
import type { BrokerMetrics } from '../../observability/broker-metrics.js'
import { CONNECTION_ERROR_STAGES, type ConnectionErrorStage } from './ws-upgrade.js'

export interface PromMetrics extends BrokerMetrics {
  readonly registry: Registry
  /** A client connection failed at this stage (reset, malformed request, header timeout, bad frame). */
  connectionError(stage: ConnectionErrorStage): void
  /** Gauges that read the broker's partitions when scraped. */
  attach(broker: Broker): void
}

/** Prometheus convention: durations in seconds (0.25 ms … 5 s). */
const LATENCY_BUCKETS_SECONDS = [0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5]

export function createPromMetrics(): PromMetrics {
  const registry = new Registry()
  // Node's own metric names already start with process_ or nodejs_: samsa_process_cpu_seconds_total, samsa_nodejs_heap_size_used_bytes, …
  collectDefaultMetrics({ register: registry, prefix: 'samsa_' })
  const recordsIn = new Counter({ name: 'samsa_records_in_total', help: 'Records appended', labelNames: ['topic'], registers: [registry] })
  const bytesIn = new Counter({ name: 'samsa_bytes_in_total', help: 'Batch bytes appended', labelNames: ['topic'], registers: [registry] })
  const recordsOut = new Counter({ name: 'samsa_records_out_total', help: 'Records pushed to subscribers', labelNames: ['topic'], registers: [registry] })
  const bytesOut = new Counter({ name: 'samsa_bytes_out_total', help: 'Batch bytes pushed to subscribers', labelNames: ['topic'], registers: [registry] })
  const connections = new Gauge({ name: 'samsa_connections', help: 'Open WebSocket connections', registers: [registry] })
  const produceLatency = new Histogram({ name: 'samsa_produce_latency_seconds', help: 'Produce request latency until durable', buckets: LATENCY_BUCKETS_SECONDS, registers: [registry] })
  const fetchLatency = new Histogram({ name: 'samsa_fetch_latency_seconds', help: 'Fetch request latency (including long-poll wait)', buckets: LATENCY_BUCKETS_SECONDS, registers: [registry] })
  const connectionErrors = new Counter({
    name: 'samsa_connection_errors_total',
    help: 'Client connections that failed: stage http (before a complete request: reset, malformed, header timeout), upgrade (during the WebSocket handshake), socket (after it), websocket (invalid or oversized frame)',
    labelNames: ['stage'],
    registers: [registry],
  })
  const readingPaused = new Gauge({ name: 'samsa_connections_reading_paused', help: 'Connections whose output is over maxBufferedBytes, so the broker stopped reading from them', registers: [registry] })
  const readingPauses = new Counter({ name: 'samsa_connection_reading_pauses_total', help: 'Times a connection was paused for having more than maxBufferedBytes queued', registers: [registry] })
  const errors = new Counter({ name: 'samsa_request_errors_total', help: 'Requests that failed (answered with an error, or dropped unanswered for acks=0)', labelNames: ['api', 'error'], registers: [registry] })
  const segmentFilesOpen = new Gauge({ name: 'samsa_segment_files_open', help: 'Segment files holding an OS file handle (at most maxOpenSegmentFiles)', registers: [registry] })
  const segmentFileEvictions = new Counter({ name: 'samsa_segment_file_evictions_total', help: 'Segment file handles closed to make room for another', registers: [registry] })
  const fileHandlesExhausted = new Counter({ name: 'samsa_file_handles_exhausted_total', help: 'Storage operations refused because the OS had no file handle left (answered with a retriable error)', registers: [registry] })
  const cleanerBytes = new Counter({ name: 'samsa_log_cleaner_bytes_total', help: 'Bytes the log cleaner read and wrote (its rate is the cleaner throughput, held under --log-cleaner-bytes-per-second)', labelNames: ['direction'], registers: [registry] })
  const cleanerFreed = new Counter({ name: 'samsa_log_cleaner_freed_bytes_total', help: 'Bytes compaction removed from segments', registers: [registry] })
  const compactionLag = new Gauge({ name: 'samsa_log_cleaner_lag_offsets', help: 'Offsets of compacted partitions written since the cleaner last reached them (the compaction lag), summed', registers: [registry] })
  const groupRebalances = new Counter({ name: 'samsa_group_rebalances_total', help: 'Target assignments computed by the group coordinators of this broker (joins, leaves, session timeouts, subscription changes)', registers: [registry] })
  const groupRefusals = new Counter({ name: 'samsa_group_refusals_total', help: 'Group requests refused by a bound: members (over --max-members-per-group) or groups (over --max-groups)', labelNames: ['bound'], registers: [registry] })
  const topics = new Gauge({ name: 'samsa_topics', help: 'Topics on the broker', registers: [registry] })
  const partitions = new Gauge({ name: 'samsa_partitions', help: 'Partitions over all topics on the broker', registers: [registry] })
  const producerEpochs = new Gauge({ name: 'samsa_producer_epochs_tracked', help: 'Producer ids whose bumped epoch the broker remembers (bounded; past the bound the oldest ids expire)', registers: [registry] })
  const refused = new Counter({
    name: 'samsa_refused_requests_total',
    help: 'Requests refused before being served: via ws (a WebSocket upgrade, answered on the raw socket) or http; reason origin (not the broker\'s own nor in --allowed-origins), host (not a name the broker answers to: DNS rebinding) or content-type (a REST write that is not application/json)',
    labelNames: ['via', 'reason'],
    registers: [registry],
  })
  const quotaThrottles = new Counter({ name: 'samsa_quota_throttles_total', help: 'Times a connection was throttled by a quota (response held, reading paused)', labelNames: ['quota'], registers: [registry] })
  const quotaThrottleSeconds = new Counter({ name: 'samsa_quota_throttle_seconds_total', help: 'Throttle time applied to connections by quotas', labelNames: ['quota'], registers: [registry] })
  const quotaExceeded = new Counter({ name: 'samsa_quota_exceeded_total', help: 'Requests refused, connections refused and connections closed by a quota', labelNames: ['quota'], registers: [registry] })
  const closedByBroker = new Counter({ name: 'samsa_connections_closed_total', help: 'Connections the broker closed, by close code (QUOTA_EXCEEDED, HELLO_TIMEOUT, IDLE_TIMEOUT, SLOW_CONSUMER, TRY_AGAIN_LATER, …)', labelNames: ['code'], registers: [registry] })
  const authRefused = new Counter({
    name: 'samsa_authentication_refused_total',
    help: 'Credentials refused (hello, reauthenticate, HTTP Bearer; kind user or peer), by reason (missing, expired, bad-signature, …)',
    labelNames: ['kind', 'reason'],
    registers: [registry],
  })
  const authorizationRefusals = new Counter({ name: 'samsa_authorization_refusals_total', help: 'Requests refused by authorization (ACLs, token grants, foreign producer ids), by operation', labelNames: ['operation'], registers: [registry] })
  return {
    registry,
    requestRefused: (via, reason) => refused.inc({ via, reason }),
    connectionClosedByBroker: (code) => closedByBroker.inc({ code }),
    quotaThrottled: (quota, ms) => {
      quotaThrottles.inc({ quota })
      quotaThrottleSeconds.inc({ quota }, ms / 1000)
    },
    quotaExceeded: (quota) => quotaExceeded.inc({ quota }),
    authenticationRefused: (kind, reason) => authRefused.inc({ kind, reason }),
    recordsIn: (topic, n, b) => {
      recordsIn.inc({ topic }, n)
      bytesIn.inc({ topic }, b)
    },
    recordsOut: (topic, n, b) => {
      recordsOut.inc({ topic }, n)
      bytesOut.inc({ topic }, b)
    },
    connectionOpened: () => connections.inc(),
    connectionClosed: () => connections.dec(),
    produceLatencyMs: (ms) => produceLatency.observe(ms / 1000),
    fetchLatencyMs: (ms) => fetchLatency.observe(ms / 1000),
    connectionError: (stage) => connectionErrors.inc({ stage }),
    requestError: (api, error) => errors.inc({ api, error }),
    segmentFilesOpen: (n) => segmentFilesOpen.set(n),
    segmentFileEvicted: () => segmentFileEvictions.inc(),
    fileHandlesExhausted: () => fileHandlesExhausted.inc(),
    topicsChanged: (t, p) => {
      topics.set(t)
      partitions.set(p)
    },
    producerEpochsTracked: (n) => producerEpochs.set(n),
    authorizationRefused: (operation) => authorizationRefusals.inc({ operation }),
    logCleaned: (read, written, freed) => {
      cleanerBytes.inc({ direction: 'read' }, read)
      cleanerBytes.inc({ direction: 'written' }, written)
      cleanerFreed.inc(freed)
    },
    compactionLagOffsets: (n) => compactionLag.set(n),
    groupRebalanced: () => groupRebalances.inc(),
    groupRefused: (bound) => groupRefusals.inc({ bound }),
    connectionReadingPaused: (paused) => {
      if (paused) readingPauses.inc()
      paused ? readingPaused.inc() : readingPaused.dec()
    },
    attach(broker) {
      const offsets = (name: string, help: string, pick: (log: { logStartOffset: number; highWatermark: number; logEndOffset: number; producerIds: number }) => number) =>
        new Gauge({
          name,
          help,
          labelNames: ['topic', 'partition'],
          registers: [registry],
          collect() {
            this.reset()
            for (const o of broker.partitionOffsets()) this.set({ topic: o.topic, partition: String(o.partition) }, pick(o))
          },
        })
      new Gauge({
        name: 'samsa_tail_cache_bytes',
        help: 'Bytes of recently written batches the partitions keep in memory for readers (at most tailCacheBytes)',
        registers: [registry],
        collect() {
          this.set(broker.tailCacheBytes)
        },
      })
      new Gauge({
        name: 'samsa_connection_queued_bytes',
        help: 'Bytes queued for all connections: in send buffers, or reserved for pushes and fetch replies being read',
        registers: [registry],
        collect() {
          this.set(broker.queuedOutputBytes)
        },
      })
      new Gauge({
        name: 'samsa_group_members',
        help: 'Members of each consumer group this broker coordinates',
        labelNames: ['group'],
        registers: [registry],
        collect() {
          this.reset()
          for (const g of broker.groups.loadedGroups()) this.set({ group: g.groupId }, g.members.size)
        },
      })
      new Gauge({
        name: 'samsa_group_lag',
        help: 'Records a consumer group has not committed yet per partition: high watermark − committed offset (the readable log where it has no commit)',
        labelNames: ['group', 'topic', 'partition'],
        registers: [registry],
        collect() {
          this.reset()
          for (const g of broker.groups.loadedGroups()) {
            for (const o of broker.groups.describeLoaded(g).offsets) if (o.lag >= 0) this.set({ group: g.groupId, topic: o.topic, partition: String(o.partition) }, o.lag)
          }
        },
      })
      offsets('samsa_log_end_offset', 'Log end offset per partition', (l) => l.logEndOffset)
      offsets('samsa_high_watermark', 'High watermark per partition', (l) => l.highWatermark)
      offsets('samsa_log_start_offset', 'Log start offset per partition', (l) => l.logStartOffset)
      offsets('samsa_producer_ids', 'Idempotent producer ids whose state (epoch, last batches) a partition holds; ids idle past producerIdExpirationMs are dropped', (l) => l.producerIds)
    },
  }
}
