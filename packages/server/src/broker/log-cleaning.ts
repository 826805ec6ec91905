/**
 * @module LogCleaning: the broker's background log cleaner. Every `logCleanerIntervalMs` on the injected clock it runs
 * one pass (log/log-cleaner.ts) over each local partition of a topic whose cleanup.policy compacts, one partition at a
 * time, all behind one CleanerThrottle (`logCleanerBytesPerSecond`), so the cleaner's disk traffic is bounded
 * whatever the partition count. A partition is passed over (nothing read) while nothing new was sealed below its high
 * watermark since its last pass and no tombstone can have come due (delete.retention.ms since that pass). A failed pass is
 * logged and retried at the next interval; it never fails the partition (the log is unchanged or fully swapped).
 */
import { compacts, type TopicConfigs } from '@samsa/shared'
import type { Clock, Logger, Timer } from '../clock.js'
import { CleanerThrottle } from '../log/cleaner-throttle.js'
import type { BrokerMetrics } from '../observability/broker-metrics.js'
import type { LocalLogs } from './local-logs.js'

export interface LogCleaningDeps {
  readonly logs: LocalLogs
  /** The topic's configs (topic-operations.ts topicConfigsOf: the registry's or the cluster metadata's). */
  readonly topicConfigs: (topic: string) => TopicConfigs
  readonly clock: Clock
  readonly logger: Logger
  readonly metrics: BrokerMetrics
  readonly intervalMs: number
  readonly bytesPerSecond: number
  readonly indexIntervalBytes: number
}

interface PartitionState {
  /** Offsets below it were reached by the last pass; null before the first. */
  cleanedTo: number | null
  lastPassMs: number
}

export class LogCleaning {
  readonly #deps: LogCleaningDeps
  readonly #throttle: CleanerThrottle
  readonly #state = new Map<string, PartitionState>()
  #timer: Timer | null = null
  #stopped = false
  #running: Promise<void> | null = null

  constructor(deps: LogCleaningDeps) {
    this.#deps = deps
    this.#throttle = new CleanerThrottle(deps.clock, deps.bytesPerSecond)
  }

  start(): void {
    if (this.#stopped || this.#timer !== null) return
    this.#timer = this.#deps.clock.setTimeout(() => {
      this.#timer = null
      this.#running = this.runOnce()
        .catch((err: unknown) => this.#deps.logger.error({ err: String(err) }, 'log cleaner pass failed'))
        .finally(() => {
          this.#running = null
          this.start()
        })
    }, this.#deps.intervalMs)
  }

  /** Stops scheduling and waits for a pass in progress (partitions close after it). */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer !== null) this.#deps.clock.clearTimeout(this.#timer)
    this.#timer = null
    await this.#running
  }

  /** One pass over every compacted partition that may have something to clean. */
  async runOnce(): Promise<void> {
    const { logs, clock, logger, metrics } = this.#deps
    let lag = 0
    const seen = new Set<string>()
    for (const { topic, partition, log } of [...logs.logs()]) {
      const configs = this.#deps.topicConfigs(topic)
      if (!compacts(configs) || this.#stopped) continue
      const key = `${topic}/${partition}`
      seen.add(key)
      const state = this.#state.get(key) ?? { cleanedTo: null, lastPassMs: -Infinity }
      // A tombstone a pass reached can come due delete.retention.ms after it: then pass again even with nothing new.
      const due = clock.nowMs() - state.lastPassMs >= configs.deleteRetentionMs
      try {
        const skip = due || state.cleanedTo === null ? {} : { skipUnlessPast: state.cleanedTo }
        const r = await log.clean({ deleteRetentionMs: configs.deleteRetentionMs, indexIntervalBytes: this.#deps.indexIntervalBytes, throttle: this.#throttle, ...skip })
        metrics.logCleaned(r.bytesRead, r.bytesWritten, r.bytesRemoved)
        if (r.bytesRead > 0) this.#state.set(key, { cleanedTo: r.cleanedTo, lastPassMs: clock.nowMs() })
        if (r.segmentsCleaned > 0) logger.info({ topic, partition, ...r }, 'log cleaner compacted segments')
      } catch (err) {
        logger.warn({ topic, partition, err: String(err) }, 'log cleaner pass over a partition failed; retried at the next interval')
      }
      lag += log.highWatermark - (this.#state.get(key)?.cleanedTo ?? log.logStartOffset)
    }
    for (const key of this.#state.keys()) if (!seen.has(key)) this.#state.delete(key)
    metrics.compactionLagOffsets(lag)
  }
}
