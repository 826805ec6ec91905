/** @module The broker's limits and defaults; every number has a unit in its name. */
import type { PartitionLogConfig } from '../log/partition-log.js'
import { defaultPartitionLogConfig } from '../log/partition-log.js'

export interface BrokerConfig {
  readonly brokerId: number
  readonly clusterId: string
  /** The base URL clients use to reach this broker (ws://host:port). */
  readonly advertisedUrl: string
  /** Largest WebSocket frame accepted; larger frames close the connection with 1009. */
  readonly maxFrameBytes: number
  /** Largest record batch accepted in one produce. */
  readonly maxBatchBytes: number
  /** Largest single record (its encoded size in the batch). */
  readonly maxRecordBytes: number
  readonly maxConnections: number
  readonly maxSubscriptionsPerConnection: number
  /** Requests a connection may have awaiting a response (long polls, produces waiting for fsync); more get TOO_MANY_REQUESTS. */
  readonly maxInFlightRequestsPerConnection: number
  readonly maxPartitionsPerTopic: number
  /** Upper bound for a produce's timeoutMs and a fetch's maxWaitMs. */
  readonly requestTimeoutMs: number
  /** A connection must send hello within this time. */
  readonly helloTimeoutMs: number
  /**
   * A connection with no subscription and no request in flight that sends no frame (a ping counts) for this
   * long is closed with IDLE_TIMEOUT (4010); 0 disables. Frees the slots of abandoned and half-open connections.
   */
  readonly idleTimeoutMs: number
  /** Largest metadata response the broker builds; a larger one is refused with RESPONSE_TOO_LARGE before anything is allocated. */
  readonly maxResponseBytes: number
  /** Upper bound on a subscription's outstanding credit. */
  readonly maxCreditBytes: number
  /** Largest records payload in one push frame (a single larger batch is still sent whole). */
  readonly maxPushBytes: number
  /** Above this many bytes queued on a socket, pushes pause. */
  readonly maxBufferedBytes: number
  /** A socket that stays above maxBufferedBytes this long is closed with SLOW_CONSUMER. */
  readonly slowConsumerTimeoutMs: number
  readonly retentionCheckIntervalMs: number
  readonly log: PartitionLogConfig
}

const MiB = 1024 * 1024

export const defaultBrokerConfig: BrokerConfig = {
  brokerId: 0,
  clusterId: 'samsa-local',
  advertisedUrl: 'ws://127.0.0.1:8080',
  maxFrameBytes: 2 * MiB,
  maxBatchBytes: 1 * MiB,
  maxRecordBytes: 1 * MiB,
  maxConnections: 10_000,
  maxSubscriptionsPerConnection: 1_000,
  maxInFlightRequestsPerConnection: 4_096,
  maxPartitionsPerTopic: 1_000,
  requestTimeoutMs: 30_000,
  helloTimeoutMs: 10_000,
  // Kafka's connections.max.idle.ms; 40 times the SDK's 15 s heartbeat, so a live SDK client is never closed.
  idleTimeoutMs: 10 * 60_000,
  maxResponseBytes: 4 * MiB,
  maxCreditBytes: 64 * MiB,
  maxPushBytes: 1 * MiB,
  maxBufferedBytes: 16 * MiB,
  slowConsumerTimeoutMs: 30_000,
  retentionCheckIntervalMs: 60_000,
  log: defaultPartitionLogConfig,
}

export function brokerConfig(overrides: Partial<Omit<BrokerConfig, 'log'>> & { log?: Partial<PartitionLogConfig> } = {}): BrokerConfig {
  return { ...defaultBrokerConfig, ...overrides, log: { ...defaultBrokerConfig.log, ...overrides.log } }
}
