/** @module BrokerMetrics on prom-client, plus log-offset gauges read from the broker at scrape time. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Broker } from '../../broker/broker.js'
import type { BrokerMetrics } from '../../observability/broker-metrics.js'

export interface PromMetrics extends BrokerMetrics {
  readonly registry: Registry
  /** Gauges that read the broker's partitions when scraped. */
  attach(broker: Broker): void
}

const LATENCY_BUCKETS_MS = [0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000]

export function createPromMetrics(): PromMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'samsa_process_' })
  const recordsIn = new Counter({ name: 'samsa_records_in_total', help: 'Records appended', labelNames: ['topic'], registers: [registry] })
  const bytesIn = new Counter({ name: 'samsa_bytes_in_total', help: 'Batch bytes appended', labelNames: ['topic'], registers: [registry] })
  const recordsOut = new Counter({ name: 'samsa_records_out_total', help: 'Records pushed to subscribers', labelNames: ['topic'], registers: [registry] })
  const bytesOut = new Counter({ name: 'samsa_bytes_out_total', help: 'Batch bytes pushed to subscribers', labelNames: ['topic'], registers: [registry] })
  const connections = new Gauge({ name: 'samsa_connections', help: 'Open WebSocket connections', registers: [registry] })
  const produceLatency = new Histogram({ name: 'samsa_produce_latency_ms', help: 'Produce request latency until durable', buckets: LATENCY_BUCKETS_MS, registers: [registry] })
  const fetchLatency = new Histogram({ name: 'samsa_fetch_latency_ms', help: 'Fetch request latency (including long-poll wait)', buckets: LATENCY_BUCKETS_MS, registers: [registry] })
  const readingPaused = new Gauge({ name: 'samsa_connections_reading_paused', help: 'Connections whose output is over maxBufferedBytes, so the broker stopped reading from them', registers: [registry] })
  const readingPauses = new Counter({ name: 'samsa_connection_reading_pauses_total', help: 'Times a connection was paused for having more than maxBufferedBytes queued', registers: [registry] })
  const errors = new Counter({ name: 'samsa_request_errors_total', help: 'Requests that failed (answered with an error, or dropped unanswered for acks=0)', labelNames: ['api', 'error'], registers: [registry] })
  return {
    registry,
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
    produceLatencyMs: (ms) => produceLatency.observe(ms),
    fetchLatencyMs: (ms) => fetchLatency.observe(ms),
    requestError: (api, error) => errors.inc({ api, error }),
    connectionReadingPaused: (paused) => {
      if (paused) readingPauses.inc()
      paused ? readingPaused.inc() : readingPaused.dec()
    },
    attach(broker) {
      const offsets = (name: string, help: string, pick: (log: { logStartOffset: number; highWatermark: number; logEndOffset: number }) => number) =>
        new Gauge({
          name,
          help,
          labelNames: ['topic', 'partition'],
          registers: [registry],
          collect() {
            this.reset()
            for (const t of broker.topics.list()) t.partitions.forEach((log, p) => this.set({ topic: t.name, partition: String(p) }, pick(log)))
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
      offsets('samsa_log_end_offset', 'Log end offset per partition', (l) => l.logEndOffset)
      offsets('samsa_high_watermark', 'High watermark per partition', (l) => l.highWatermark)
      offsets('samsa_log_start_offset', 'Log start offset per partition', (l) => l.logStartOffset)
    },
  }
}
