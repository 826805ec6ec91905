/** @module BrokerMetrics: the port the core reports to; the node adapter implements it with prom-client. */

export interface BrokerMetrics {
  recordsIn(topic: string, records: number, bytes: number): void
  recordsOut(topic: string, records: number, bytes: number): void
  connectionOpened(): void
  connectionClosed(): void
  produceLatencyMs(ms: number): void
  fetchLatencyMs(ms: number): void
  requestError(apiKey: string, errorName: string): void
  /** A connection's output went over its budget and reading from it was paused (true), or it drained and reading resumed (false). */
  connectionReadingPaused(paused: boolean): void
}

export const noopMetrics: BrokerMetrics = {
  recordsIn() {},
  recordsOut() {},
  connectionOpened() {},
  connectionClosed() {},
  produceLatencyMs() {},
  fetchLatencyMs() {},
  requestError() {},
  connectionReadingPaused() {},
}
