/**
 * @module The broker's limits and defaults (every number has a unit in its name), and the one schema that checks
 * them: `brokerConfig()` (code), the `samsa start` flags and their env vars all report a bad value with the same
 * message, produced here.
 */
import { z } from 'zod'
import type { PartitionLogConfig } from '../log/partition-log.js'
import { defaultPartitionLogConfig } from '../log/partition-log.js'
import { hostEntryProblem, originEntryProblem } from '../security/browser-policy.js'

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
  /** Topics on the broker; a create beyond it fails with POLICY_VIOLATION. */
  readonly maxTopics: number
  /** Partitions over all topics; a create that would pass it fails with POLICY_VIOLATION. */
  readonly maxPartitions: number
  /** Segment files holding an OS file handle at once (an LRU cache; idle partitions hold none). */
  readonly maxOpenSegmentFiles: number
  /** Bytes the partitions' tail caches (their last written batches, served from memory) may hold together. */
  readonly tailCacheBytes: number
  /** Upper bound for a produce's timeoutMs and a fetch's maxWaitMs. */
  readonly requestTimeoutMs: number
  /** An HTTP request (a WebSocket upgrade included) must deliver its complete headers within this time, or it gets 408 and is closed (slowloris). */
  readonly headersTimeoutMs: number
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
  /**
   * One output budget per connection: everything queued for it (pushes of all its subscriptions, fetch replies,
   * responses). Above it pushes pause, fetch replies wait, and the broker stops reading from the connection.
   */
  readonly maxBufferedBytes: number
  /** A connection that stays above maxBufferedBytes this long is closed with SLOW_CONSUMER. */
  readonly slowConsumerTimeoutMs: number
  readonly retentionCheckIntervalMs: number
  /** How often the log cleaner looks at the partitions of compacted topics (cleanup.policy compact). */
  readonly logCleanerIntervalMs: number
  /** Bytes per second the log cleaner may read and write together, over every partition (its throttle). */
  readonly logCleanerBytesPerSecond: number
  /**
   * Origins (scheme://host[:port]) besides the broker's own that browsers may open WebSockets and send REST writes
   * from; `*` for any. Requests without an Origin header (non-browser clients) are never refused for it.
   */
  readonly allowedOrigins: readonly string[]
  /** Host names the broker answers to besides localhost, its bind host and its advertised host (IP literals always); `*` for any. */
  readonly allowedHosts: readonly string[]
  /** Open connections from one client address; more are closed with QUOTA_EXCEEDED (4029) right after the upgrade. */
  readonly maxConnectionsPerIp: number
  /** Open connections speaking for one principal (an anonymous one is its address); more are closed with QUOTA_EXCEEDED. */
  readonly maxConnectionsPerPrincipal: number
  /** Produced bytes per second of one principal; above it its connections are throttled; 0: no limit. */
  readonly produceBytesPerSecondPerPrincipal: number
  /** Produced bytes per second from one client address; 0: no limit. */
  readonly produceBytesPerSecondPerIp: number
  /** Bytes per second sent to one principal's readers (fetch replies and subscription pushes); 0: no limit. */
  readonly fetchBytesPerSecondPerPrincipal: number
  /** Bytes per second sent to one client address's readers; 0: no limit. */
  readonly fetchBytesPerSecondPerIp: number
  /** Requests per second on one connection; above it the connection is throttled; 0: no limit. */
  readonly requestsPerSecondPerConnection: number
  /** Requests per second of one principal over all its connections; 0: no limit. */
  readonly requestsPerSecondPerPrincipal: number
  /** Topic creations per minute of one principal (all at once, then one per 60/n s); more get THROTTLING_QUOTA_EXCEEDED; 0: no limit. */
  readonly topicCreationsPerMinutePerPrincipal: number
  /** A connection whose throttle for what it sent would pass this is closed with QUOTA_EXCEEDED instead; a reader is held at most this long. */
  readonly quotaMaxThrottleMs: number
  /** Where the Durable Streams HTTP protocol is served (transport/durable-streams/), with a slash at both ends. */
  readonly durableStreamsPrefix: string
  /** How long a Durable Streams long poll (or an SSE connection between records) waits for a record. */
  readonly streamLongPollTimeoutMs: number
  /** Durable Streams long polls and SSE connections waiting at once; more are answered 503. */
  readonly maxWaitingStreamReads: number
  /**
   * Clients must authenticate (a JWT in hello, a Bearer token over HTTP). True once any verification key, JWKS file
   * or JWKS URL is configured; the broker is then given an Authenticator (BrokerDeps.authenticator).
   */
  readonly authEnabled: boolean
  /**
   * With authEnabled, a hello without a token is accepted as ANONYMOUS (which gets only what the ACLs grant
   * `anonymous`); without auth, the broker may bind a non-loopback host (it refuses to, open, otherwise).
   */
  readonly allowAnonymous: boolean
  /** Tolerance on a token's exp and nbf for clocks that disagree (at most 60 s). */
  readonly authClockSkewMs: number
  /** How often the ACL file (--acl-file) is checked for changes. */
  readonly aclPollIntervalMs: number
  /** Partitions of the internal `__consumer_offsets` topic, fixed when it is created (a group's partition depends on it). */
  readonly offsetsTopicPartitions: number
  /** Replication factor of `__consumer_offsets` when it is created, capped at the live brokers. */
  readonly offsetsTopicReplicationFactor: number
  /** A group member that does not heartbeat for this long is removed and its partitions reassigned. */
  readonly groupSessionTimeoutMs: number
  /** How often group members are told to heartbeat. */
  readonly groupHeartbeatIntervalMs: number
  /** Members of one consumer group; more get GROUP_MAX_SIZE_REACHED. */
  readonly maxMembersPerGroup: number
  /** Consumer groups one coordinator holds; a new group beyond it gets POLICY_VIOLATION. */
  readonly maxGroups: number
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
  maxTopics: 1_000,
  maxPartitions: 10_000,
  maxOpenSegmentFiles: 1_000,
  tailCacheBytes: 64 * 1024 * 1024,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  helloTimeoutMs: 10_000,
  // Kafka's connections.max.idle.ms; 40 times the SDK's 15 s heartbeat, so a live SDK client is never closed.
  idleTimeoutMs: 10 * 60_000,
  maxResponseBytes: 4 * MiB,
  maxCreditBytes: 64 * MiB,
  maxPushBytes: 1 * MiB,
  maxBufferedBytes: 16 * MiB,
  slowConsumerTimeoutMs: 30_000,
  retentionCheckIntervalMs: 60_000,
  // Kafka's log.cleaner.backoff.ms; the throttle leaves a disk's bandwidth to appends and reads.
  logCleanerIntervalMs: 15_000,
  logCleanerBytesPerSecond: 16 * MiB,
  allowedOrigins: [],
  allowedHosts: [],
  // Byte and request rates are off by default (Kafka's quotas are too): the embedded single node stays as fast as
  // the machine; docs/security.md shows production values. Connection counts and creations have safe bounds.
  maxConnectionsPerIp: 1_000,
  maxConnectionsPerPrincipal: 1_000,
  produceBytesPerSecondPerPrincipal: 0,
  produceBytesPerSecondPerIp: 0,
  fetchBytesPerSecondPerPrincipal: 0,
  fetchBytesPerSecondPerIp: 0,
  requestsPerSecondPerConnection: 0,
  requestsPerSecondPerPrincipal: 0,
  topicCreationsPerMinutePerPrincipal: 600,
  // Below the SDK's 10 s heartbeat timeout: a throttled connection answers its ping late, never too late to stay open.
  quotaMaxThrottleMs: 5_000,
  durableStreamsPrefix: '/v1/stream/',
  streamLongPollTimeoutMs: 20_000,
  maxWaitingStreamReads: 10_000,
  authEnabled: false,
  allowAnonymous: false,
  authClockSkewMs: 30_000,
  aclPollIntervalMs: 5_000,
  // Kafka's offsets.topic.num.partitions, offsets.topic.replication.factor, group.consumer.session.timeout.ms and
  // group.consumer.heartbeat.interval.ms.
  offsetsTopicPartitions: 50,
  offsetsTopicReplicationFactor: 3,
  groupSessionTimeoutMs: 45_000,
  groupHeartbeatIntervalMs: 5_000,
  maxMembersPerGroup: 1_000,
  maxGroups: 10_000,
  log: defaultPartitionLogConfig,
}

/** What a setting counts; also the argument name of its flag (`--max-connections <count>`). */
export type SettingUnit = 'bytes' | 'ms' | 'count'

export interface SettingSpec {
  readonly unit: SettingUnit
  /** Inclusive bounds of an accepted value (always an integer). */
  readonly min: number
  readonly max: number
  /** null is accepted and means "no limit" (the flag is then simply not given). */
  readonly nullable?: boolean
  /** One line for `samsa start --help` and docs/operations.md. */
  readonly help: string
}

const I32 = 2 ** 31 - 1
const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

/**
 * Every tunable number of BrokerConfig, one line each. The schema below, the `samsa start` flags (key maxConnections →
 * `--max-connections <count>`, env `SAMSA_MAX_CONNECTIONS`) and their help come from this table: a new limit needs
 * its interface field, its default and one line here (broker-config.test.ts fails for a numeric field without one).
 */
export const brokerSettings = {
  maxFrameBytes: { unit: 'bytes', min: 1024, max: I32, help: 'largest WebSocket frame; a larger one closes the connection with 1009' },
  maxBatchBytes: { unit: 'bytes', min: 64, max: I32, help: 'largest record batch in one produce (MESSAGE_TOO_LARGE above); below --max-frame-bytes' },
  maxRecordBytes: { unit: 'bytes', min: 16, max: I32, help: 'largest single record (MESSAGE_TOO_LARGE above); at most --max-batch-bytes' },
  maxConnections: { unit: 'count', min: 1, max: 10_000_000, help: 'open WebSocket connections; more are closed with 1013' },
  maxSubscriptionsPerConnection: { unit: 'count', min: 1, max: 1_000_000, help: 'subscriptions on one connection (TOO_MANY_SUBSCRIPTIONS above)' },
  maxInFlightRequestsPerConnection: { unit: 'count', min: 1, max: 1_000_000, help: 'requests awaiting a response on one connection (TOO_MANY_REQUESTS above)' },
  maxPartitionsPerTopic: { unit: 'count', min: 1, max: 1_000_000, help: 'partitions of one topic (INVALID_PARTITIONS above)' },
  maxTopics: { unit: 'count', min: 1, max: 1_000_000, help: 'topics on the broker (POLICY_VIOLATION above)' },
  maxPartitions: { unit: 'count', min: 1, max: 10_000_000, help: 'partitions over all topics (POLICY_VIOLATION above)' },
  maxOpenSegmentFiles: { unit: 'count', min: 1, max: 1_000_000, help: 'segment files holding an OS file handle at once (least recently used idle ones are closed)' },
  tailCacheBytes: { unit: 'bytes', min: 0, max: Number.MAX_SAFE_INTEGER, help: 'memory for the batches last written to every partition (≤ 1 MiB each), read from memory by followers and subscribers; 0 reads them from storage' },
  requestTimeoutMs: { unit: 'ms', min: 1, max: DAY_MS, help: 'upper bound of a produce timeout and a fetch wait' },
  headersTimeoutMs: { unit: 'ms', min: 1, max: DAY_MS, help: 'an HTTP request or WebSocket upgrade must deliver its headers within this (408 after)' },
  helloTimeoutMs: { unit: 'ms', min: 1, max: DAY_MS, help: 'a new connection must send hello within this (closed with 4009)' },
  idleTimeoutMs: { unit: 'ms', min: 0, max: DAY_MS, help: 'a connection with no subscription and no request in flight that sends nothing this long is closed with 4010; 0 disables' },
  maxResponseBytes: { unit: 'bytes', min: 1024, max: I32, help: 'largest metadata response (RESPONSE_TOO_LARGE above)' },
  maxCreditBytes: { unit: 'bytes', min: 1024, max: Number.MAX_SAFE_INTEGER, help: 'outstanding credit of one subscription' },
  maxPushBytes: { unit: 'bytes', min: 64, max: I32, help: 'records payload of one push frame (a larger single batch is still sent whole)' },
  maxBufferedBytes: { unit: 'bytes', min: 1024, max: Number.MAX_SAFE_INTEGER, help: 'bytes queued for one connection (pushes, fetch replies, responses) above which it is paused' },
  slowConsumerTimeoutMs: { unit: 'ms', min: 1, max: DAY_MS, help: 'a socket above --max-buffered-bytes this long is closed with 4008' },
  retentionCheckIntervalMs: { unit: 'ms', min: 1, max: DAY_MS, help: 'how often retention deletes old segments' },
  logCleanerIntervalMs: { unit: 'ms', min: 1, max: DAY_MS, help: 'how often the log cleaner compacts the partitions of topics with cleanup.policy compact' },
  logCleanerBytesPerSecond: { unit: 'bytes', min: 1024, max: Number.MAX_SAFE_INTEGER, help: 'bytes/s the log cleaner may read and write together (its throttle, shared by every partition)' },
  maxConnectionsPerIp: { unit: 'count', min: 1, max: 10_000_000, help: 'open connections from one client address; more are closed with 4029' },
  maxConnectionsPerPrincipal: { unit: 'count', min: 1, max: 10_000_000, help: 'open connections of one principal (an anonymous one is its address); more are closed with 4029' },
  produceBytesPerSecondPerPrincipal: { unit: 'bytes', min: 0, max: Number.MAX_SAFE_INTEGER, help: 'produced bytes/s of one principal, above which its connections are throttled; 0: no limit' },
  produceBytesPerSecondPerIp: { unit: 'bytes', min: 0, max: Number.MAX_SAFE_INTEGER, help: 'produced bytes/s from one client address, above which its connections are throttled; 0: no limit' },
  fetchBytesPerSecondPerPrincipal: { unit: 'bytes', min: 0, max: Number.MAX_SAFE_INTEGER, help: 'bytes/s of fetch replies and pushes to one principal, above which its connections are throttled; 0: no limit' },
  fetchBytesPerSecondPerIp: { unit: 'bytes', min: 0, max: Number.MAX_SAFE_INTEGER, help: 'bytes/s of fetch replies and pushes to one client address, above which they are throttled; 0: no limit' },
  requestsPerSecondPerConnection: { unit: 'count', min: 0, max: 10_000_000, help: 'requests/s on one connection, above which it is throttled; 0: no limit' },
  requestsPerSecondPerPrincipal: { unit: 'count', min: 0, max: 10_000_000, help: 'requests/s of one principal over its connections, above which they are throttled; 0: no limit' },
  topicCreationsPerMinutePerPrincipal: { unit: 'count', min: 0, max: 1_000_000, help: 'topic creations per minute of one principal (THROTTLING_QUOTA_EXCEEDED above, retriable); 0: no limit' },
  quotaMaxThrottleMs: { unit: 'ms', min: 1, max: DAY_MS, help: 'a producer or requester whose quota throttle would pass this is closed with 4029 instead; a reader is held at most this long' },
  streamLongPollTimeoutMs: { unit: 'ms', min: 1, max: HOUR_MS, help: 'how long an HTTP stream long poll (or SSE connection between records) waits for a record' },
  maxWaitingStreamReads: { unit: 'count', min: 1, max: 10_000_000, help: 'HTTP stream long polls and SSE connections waiting at once (503 above)' },
  authClockSkewMs: { unit: 'ms', min: 0, max: 60_000, help: "tolerance on a token's exp and nbf (clock skew between the broker and the token issuer)" },
  aclPollIntervalMs: { unit: 'ms', min: 10, max: HOUR_MS, help: 'how often the --acl-file is checked for changes (a changed file is reloaded; a bad one keeps the previous ACLs)' },
  offsetsTopicPartitions: { unit: 'count', min: 1, max: 1_000, help: 'partitions of __consumer_offsets, set when it is created (a group\'s coordinator is the leader of one of them)' },
  offsetsTopicReplicationFactor: { unit: 'count', min: 1, max: 16, help: 'replication factor of __consumer_offsets when it is created, capped at the live brokers' },
  groupSessionTimeoutMs: { unit: 'ms', min: 100, max: HOUR_MS, help: 'a consumer group member silent this long is removed and its partitions reassigned' },
  groupHeartbeatIntervalMs: { unit: 'ms', min: 10, max: HOUR_MS, help: 'how often consumer group members heartbeat (keep it well below --group-session-timeout-ms)' },
  maxMembersPerGroup: { unit: 'count', min: 1, max: 1_000_000, help: 'members of one consumer group (GROUP_MAX_SIZE_REACHED above)' },
  maxGroups: { unit: 'count', min: 1, max: 10_000_000, help: 'consumer groups one coordinator holds (POLICY_VIOLATION for a new one above)' },
} as const satisfies Partial<Record<keyof BrokerConfig, SettingSpec>>

/** The same for the partition logs (BrokerConfig.log); retentionMs has its flag in hours (--retention-hours). */
export const logSettings = {
  segmentBytes: { unit: 'bytes', min: 64, max: I32, help: 'roll segments at this size' },
  fsyncIntervalMs: { unit: 'ms', min: 1, max: HOUR_MS, help: 'fsync period for --fsync interval' },
  retentionBytes: { unit: 'bytes', min: 1, max: Number.MAX_SAFE_INTEGER, nullable: true, help: 'per-partition size limit' },
  recoveryPointIntervalMs: { unit: 'ms', min: 1, max: DAY_MS, help: 'how often each growing partition records its recovery point and producer state (also on shutdown); after kill -9 only the log written since is verified' },
  producerIdExpirationMs: { unit: 'ms', min: 1, max: Number.MAX_SAFE_INTEGER, help: 'a producer id with no batch appended to a partition for this long is forgotten there (its resends are no longer deduplicated); keep it longer than any topic\'s retention' },
} as const satisfies Partial<Record<keyof PartitionLogConfig, SettingSpec>>

export type BrokerSettingKey = keyof typeof brokerSettings
export type LogSettingKey = keyof typeof logSettings

/** How a rejected value is shown in a message: strings quoted, everything else as JavaScript prints it. */
export function showValue(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v)
}

/** The one message for a value outside a setting's range: `maxConnections must be an integer from 1 to 10000000, got 0`. */
export function settingMessage(key: string, spec: Pick<SettingSpec, 'min' | 'max' | 'nullable'>, value: unknown): string {
  return `${key} must be an integer from ${spec.min} to ${spec.max}${spec.nullable ? ' (or null for no limit)' : ''}, got ${showValue(value)}`
}

function settingSchema(key: string, spec: SettingSpec) {
  const error = (iss: { input?: unknown }) => settingMessage(key, spec, iss.input)
  const n = z.int({ error }).min(spec.min, { error }).max(spec.max, { error })
  return spec.nullable ? n.nullable() : n
}

function settingsSchema<T extends Record<string, SettingSpec>>(table: T) {
  return Object.fromEntries(Object.entries(table).map(([k, s]) => [k, settingSchema(k, s)])) as { [K in keyof T]: ReturnType<typeof settingSchema> }
}

const WS_URL_HINT = 'a ws:// or wss:// base URL without /ws, a query or a fragment, such as ws://broker.example.com:8080'

/** The URL clients are given; they connect to `<url>/ws` themselves. */
export const advertisedUrlSchema = z.string({ error: (iss) => `advertisedUrl must be ${WS_URL_HINT}, got ${showValue(iss.input)}` }).superRefine((s, ctx) => {
  const problem = advertisedUrlProblem(s)
  if (problem) ctx.addIssue({ code: 'custom', message: `advertisedUrl must be ${WS_URL_HINT}, got ${showValue(s)}${problem}` })
})

function advertisedUrlProblem(s: string): string | null {
  let u: URL
  try {
    u = new URL(s)
  } catch {
    return ' (not a URL)'
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') return ` (scheme ${u.protocol.slice(0, -1)})`
  if (u.search || u.hash || s.includes('?') || s.includes('#')) return ' (it has a query or fragment)'
  if (/\/ws\/*$/.test(u.pathname)) return ' (clients add /ws themselves)'
  if (u.username || u.password) return ' (credentials do not belong in it)'
  return null
}

/** A list of strings, each checked by `problem` (the message names the first bad entry). */
function listSchema(key: string, problem: (entry: string) => string | null) {
  return z.array(z.string(), { error: (iss) => `${key} must be a list of strings, got ${showValue(iss.input)}` }).superRefine((list, ctx) => {
    for (const entry of list) {
      const p = problem(entry)
      if (p) return ctx.addIssue({ code: 'custom', message: `${key}: ${p}` })
    }
  })
}

const logSchema = z.looseObject({
  ...settingsSchema(logSettings),
  fsync: z.enum(['always', 'interval', 'never'], { error: (iss) => `fsync must be always, interval or never, got ${showValue(iss.input)}` }),
  retentionMs: settingSchema('retentionMs', { unit: 'ms', min: 1, max: Number.MAX_SAFE_INTEGER, nullable: true, help: '' }),
  indexIntervalBytes: settingSchema('indexIntervalBytes', { unit: 'bytes', min: 1, max: I32, help: '' }),
})

/**
 * The whole BrokerConfig. Loose: a field without a line in the tables still passes through unchecked, so a field
 * added elsewhere never stops a broker from starting (broker-config.test.ts asks for its line instead).
 */
export const brokerConfigSchema = z
  .looseObject({
    brokerId: settingSchema('brokerId', { unit: 'count', min: 0, max: I32, help: '' }),
    clusterId: z.string({ error: (iss) => `clusterId must be a non-empty string, got ${showValue(iss.input)}` }).min(1, { error: 'clusterId must be a non-empty string, got ""' }),
    advertisedUrl: advertisedUrlSchema,
    durableStreamsPrefix: z.string({ error: (iss) => `durableStreamsPrefix must be a path such as /v1/stream/, got ${showValue(iss.input)}` })
      .regex(/^\/([a-zA-Z0-9._-]+\/)+$/, { error: (iss) => `durableStreamsPrefix must be a path of [a-zA-Z0-9._-] segments with a slash at both ends, such as /v1/stream/, got ${showValue(iss.input)}` }),
    ...settingsSchema(brokerSettings),
    allowedOrigins: listSchema('allowedOrigins', originEntryProblem),
    allowedHosts: listSchema('allowedHosts', hostEntryProblem),
    log: logSchema,
  })

/** Rules across fields, checked once every field is good on its own. */
function combinationProblems(c: BrokerConfig): string[] {
  const out: string[] = []
  if (c.maxRecordBytes > c.maxBatchBytes) out.push(`maxRecordBytes (${c.maxRecordBytes}) must be at most maxBatchBytes (${c.maxBatchBytes})`)
  if (c.maxBatchBytes >= c.maxFrameBytes) {
    out.push(`maxBatchBytes (${c.maxBatchBytes}) must be smaller than maxFrameBytes (${c.maxFrameBytes}): a produce frame carries the batch and its header`)
  }
  return out
}

/** A BrokerConfig that failed its schema; the message names each bad field and what it must be. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** The messages of a failed parse, one per field (zod may report a field twice). */
export function issueMessages(error: z.ZodError): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const i of error.issues) {
    const at = i.path.join('.')
    if (seen.has(at)) continue
    seen.add(at)
    out.push(i.message)
  }
  return out
}

/** Checks one value of a table setting; returns the one message for it, or null when it is good. */
export function settingProblem(key: BrokerSettingKey | LogSettingKey, value: unknown): string | null {
  const spec = key in brokerSettings ? brokerSettings[key as BrokerSettingKey] : logSettings[key as LogSettingKey]
  const r = settingSchema(key, spec).safeParse(value)
  return r.success ? null : issueMessages(r.error)[0]!
}

export type BrokerConfigOverrides = Partial<Omit<BrokerConfig, 'log'>> & { log?: Partial<PartitionLogConfig> }

/** The defaults with overrides applied, checked; throws ConfigError naming every bad field. */
export function brokerConfig(overrides: BrokerConfigOverrides = {}): BrokerConfig {
  const merged = { ...defaultBrokerConfig, ...overrides, log: { ...defaultBrokerConfig.log, ...overrides.log } }
  const r = brokerConfigSchema.safeParse(merged)
  const problems = r.success ? combinationProblems(merged) : issueMessages(r.error)
  if (problems.length > 0) throw new ConfigError(problems.join('; '))
  return merged
}
