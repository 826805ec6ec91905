/** @module `samsa start`: run a broker in the foreground until SIGTERM/SIGINT. */
import { resolve } from 'node:path'
import { InvalidArgumentError, Option, type Command } from 'commander'
import { hostEntryProblem, originEntryProblem, parseList } from '../../../security/browser-policy.js'
import { advertisedUrlSchema, brokerConfig, issueMessages, type BrokerConfigOverrides } from '../../../broker/broker-config.js'
import { createPinoLogger, type LogFormat } from '../pino-logger.js'
import { startBroker } from '../start-broker.js'
import { intArg, positiveNumberArg } from './arg-parsers.js'
import { CliError } from './cli-error.js'
import { addSettingOptions, settingOverrides } from './setting-options.js'
import { addAuthOptions, authFromOptions, type AuthOptions } from './auth-options.js'

interface StartOptions extends Record<string, unknown>, AuthOptions {
  port: number
  host: string
  data: string
  advertisedUrl?: string
  fsync: 'always' | 'interval' | 'never'
  retentionHours?: number
  logFormat: LogFormat
  logLevel: string
  nodeId?: number
  controllers?: { id: number; url: string }[]
  sessionTimeoutMs?: number
  replicaLagTimeMaxMs?: number
  processRoles?: ProcessRoles
  allowedOrigins?: string[]
  allowedHosts?: string[]
  tlsCert?: string
  tlsKey?: string
  tlsCa?: string
  aclFile?: string
  protectMetrics?: boolean
}

/** Kafka's process.roles: a broker-only node, or a controller voter that is also a broker (combined mode). */
export type ProcessRoles = 'broker' | 'controller,broker'

function processRolesArg(value: string): ProcessRoles {
  const roles = new Set(value.split(',').map((r) => r.trim()))
  if (roles.size === 1 && roles.has('broker')) return 'broker'
  if (roles.size === 2 && roles.has('broker') && roles.has('controller')) return 'controller,broker'
  throw new InvalidArgumentError(`"${value}" is not broker or controller,broker (a controller-only node does not exist yet)`)
}

/**
 * The roles a node with `--node-id` and `--controllers` takes: a controller voter (and broker) when its id is among
 * the controllers, else a broker-only node; `--process-roles`, when given, must say the same (a typo in either flag
 * is caught instead of starting a node in the wrong role).
 */
export function nodeRoles(nodeId: number, controllers: readonly { id: number }[], declared: ProcessRoles | undefined): ProcessRoles {
  const ids = controllers.map((v) => v.id).join(', ')
  const voter = controllers.some((v) => v.id === nodeId)
  if (declared === 'controller,broker' && !voter) throw new CliError(`--process-roles controller,broker: --node-id ${nodeId} must be among --controllers (${ids})`)
  if (declared === 'broker' && voter) throw new CliError(`--process-roles broker: --node-id ${nodeId} is among --controllers (${ids}), so it would be a controller voter; give a node id that is not`)
  return voter ? 'controller,broker' : 'broker'
}

/** `1@127.0.0.1:8081,2@host:8082` (or `2@ws://host:8082`): the controller voters and their base URLs. */
export function controllersArg(value: string): { id: number; url: string }[] {
  const voters = value.split(',').map((part) => {
    const m = /^(\d+)@(.+)$/.exec(part.trim())
    if (!m) throw new InvalidArgumentError(`"${part}" is not ID@HOST:PORT`)
    const id = Number(m[1])
    if (!Number.isSafeInteger(id) || id < 1 || id > 0x7fff_ffff) throw new InvalidArgumentError(`controller id ${m[1]} must be an integer from 1 to 2147483647`)
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(m[2]!) && !/^wss?:\/\//.test(m[2]!)) throw new InvalidArgumentError(`controller ${id}: "${m[2]}" must be HOST:PORT or a ws:// or wss:// URL`)
    const url = /^wss?:\/\//.test(m[2]!) ? m[2]! : `ws://${m[2]}`
    const r = advertisedUrlSchema.safeParse(url)
    if (!r.success) throw new InvalidArgumentError(`controller ${id}: ${issueMessages(r.error)[0]}`)
    return { id, url: url.replace(/\/+$/, '') }
  })
  if (new Set(voters.map((v) => v.id)).size !== voters.length) throw new InvalidArgumentError('controller ids must be distinct')
  return voters
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const

/** A comma-separated list flag whose entries `problem` checks. */
function listArg(problem: (entry: string) => string | null): (value: string) => string[] {
  return (value) => {
    const list = parseList(value)
    for (const entry of list) {
      const p = problem(entry)
      if (p) throw new InvalidArgumentError(p)
    }
    return list
  }
}

function advertisedUrlArg(value: string): string {
  const r = advertisedUrlSchema.safeParse(value)
  if (!r.success) throw new InvalidArgumentError(issueMessages(r.error)[0]!)
  return value
}

export function registerStart(program: Command): void {
  const start = program
    .command('start')
    .description('start a broker (a single node, or a cluster node with --controllers) serving the demo at http://HOST:PORT/ and WebSocket clients at ws://HOST:PORT/ws (https:// and wss:// with --tls-cert)')
    .addOption(new Option('--port <port>', 'TCP port (0 picks a free one)').env('SAMSA_PORT').argParser(intArg(0, 65535)).default(8080))
    .addOption(new Option('--host <host>', 'interface to bind').env('SAMSA_HOST').default('127.0.0.1'))
    .addOption(new Option('--data <dir>', 'data directory').env('SAMSA_DATA').default('./data'))
    .addOption(
      new Option('--advertised-url <url>', 'the ws:// or wss:// base URL clients are told to use (default ws://HOST:PORT; set it with --host 0.0.0.0 or behind a proxy)')
        .env('SAMSA_ADVERTISED_URL')
        .argParser(advertisedUrlArg),
    )
    .addOption(
      new Option('--fsync <mode>', 'always: acknowledge after fsync (group commit); interval and never are weaker, see docs/operations.md')
        .env('SAMSA_FSYNC')
        .choices(['always', 'interval', 'never'])
        .default('always'),
    )
    .addOption(new Option('--retention-hours <hours>', 'delete segments older than this (default: keep forever)').env('SAMSA_RETENTION_HOURS').argParser(positiveNumberArg))
    .addOption(new Option('--log-format <format>', 'log output (default: pretty on a terminal, else json)').env('SAMSA_LOG_FORMAT').choices(['pretty', 'json']))
    .addOption(new Option('--node-id <id>', 'this node\'s id in a cluster (with --controllers)').env('SAMSA_NODE_ID').argParser(intArg(1, 2147483647)))
    .addOption(
      new Option('--controllers <list>', 'the cluster\'s controller voters, ID@HOST:PORT,...: a node among them is a voter and a broker, any other a broker-only node (default: a single node)')
        .env('SAMSA_CONTROLLERS')
        .argParser(controllersArg),
    )
    .addOption(
      new Option('--process-roles <roles>', 'with --controllers: broker or controller,broker, checked against --node-id (default: what --node-id and --controllers say)')
        .env('SAMSA_PROCESS_ROLES')
        .argParser(processRolesArg),
    )
    .addOption(
      new Option('--session-timeout-ms <ms>', 'with --controllers: a broker not heard from for this long is fenced and loses its partition leadership')
        .env('SAMSA_SESSION_TIMEOUT_MS')
        .argParser(intArg(100, 600_000)),
    )
    .addOption(
      new Option('--replica-lag-time-max-ms <ms>', 'with --controllers: a follower not caught up for this long leaves the ISR (Kafka\'s replica.lag.time.max.ms; default 30000)')
        .env('SAMSA_REPLICA_LAG_TIME_MAX_MS')
        .argParser(intArg(100, 600_000)),
    )
    .addOption(
      new Option('--allowed-origins <origins>', 'comma-separated origins (https://app.example.com) besides the broker\'s own that browsers may connect and write from; * for any (default: only the broker\'s own origin; requests without Origin are never refused for it)')
        .env('SAMSA_ALLOWED_ORIGINS')
        .argParser(listArg(originEntryProblem)),
    )
    .addOption(
      new Option('--allowed-hosts <names>', 'comma-separated host names the broker answers to besides localhost, --host and the advertised host (IP literals always); * for any; other Host headers get 421 (DNS rebinding)')
        .env('SAMSA_ALLOWED_HOSTS')
        .argParser(listArg(hostEntryProblem)),
    )
    .addOption(new Option('--tls-cert <file>', 'PEM certificate (chain): serve https:// and wss:// (with --tls-key; reloaded on SIGHUP; the default advertised URL and --controllers HOST:PORT become wss://)').env('SAMSA_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key of --tls-cert (reloaded on SIGHUP)').env('SAMSA_TLS_KEY'))
    .addOption(new Option('--tls-ca <file>', 'PEM CA bundle trusted on wss:// links to the other cluster nodes (a private CA), besides the system store and NODE_EXTRA_CA_CERTS').env('SAMSA_TLS_CA'))
    .addOption(new Option('--log-level <level>', 'least severe level logged').env('SAMSA_LOG_LEVEL').choices(LOG_LEVELS).default('info'))
    .addOption(new Option('--acl-file <path>', 'JSON allow entries per principal (docs/security.md, Authorization); turns authorization on (default deny); reloaded when it changes').env('SAMSA_ACL_FILE'))
    .addOption(new Option('--protect-metrics', '/metrics answers only a principal with the admin right (with authorization on)').env('SAMSA_PROTECT_METRICS'))
  addSettingOptions(addAuthOptions(start)).action(async (o: StartOptions) => {
    const overrides: BrokerConfigOverrides = settingOverrides(o)
    const auth = await authFromOptions(o, process.env)
    const config: BrokerConfigOverrides = {
      ...overrides,
      ...(o.allowedOrigins ? { allowedOrigins: o.allowedOrigins } : {}),
      ...(o.allowedHosts ? { allowedHosts: o.allowedHosts } : {}),
      allowAnonymous: auth.allowAnonymous,
      log: { ...overrides.log, fsync: o.fsync, ...(o.retentionHours !== undefined ? { retentionMs: Math.round(o.retentionHours * 3_600_000) } : {}) },
    }
    try {
      // Combinations (--max-batch-bytes above --max-frame-bytes, ...) fail here, before the port is taken.
      brokerConfig({ ...config, ...(o.advertisedUrl ? { advertisedUrl: o.advertisedUrl } : {}) })
    } catch (e) {
      throw new CliError(`invalid broker settings: ${(e as Error).message}`)
    }
    if ((o.nodeId === undefined) !== (o.controllers === undefined)) throw new CliError('--node-id and --controllers go together')
    if (o.sessionTimeoutMs !== undefined && !o.controllers) throw new CliError('--session-timeout-ms needs --controllers')
    if (o.replicaLagTimeMaxMs !== undefined && !o.controllers) throw new CliError('--replica-lag-time-max-ms needs --controllers')
    if (o.processRoles !== undefined && !o.controllers) throw new CliError('--process-roles needs --node-id and --controllers')
    if (o.controllers) nodeRoles(o.nodeId!, o.controllers, o.processRoles)
    if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new CliError('--tls-cert and --tls-key go together')
    if (o.tlsCa !== undefined && o.tlsCert === undefined) throw new CliError('--tls-ca needs --tls-cert and --tls-key (the cluster\'s links use TLS only when its nodes serve it)')
    const tls = o.tlsCert !== undefined && o.tlsKey !== undefined ? { certFile: resolve(o.tlsCert), keyFile: resolve(o.tlsKey), ...(o.tlsCa !== undefined ? { caFile: resolve(o.tlsCa) } : {}) } : null
    // Every node of a TLS cluster serves TLS only: its voters are reached over wss://.
    const controllers = tls && o.controllers ? o.controllers.map((v) => ({ ...v, url: v.url.replace(/^ws:\/\//, 'wss://') })) : o.controllers
    const logger = createPinoLogger({ level: o.logLevel, format: o.logFormat ?? (process.stderr.isTTY ? 'pretty' : 'json') })
    const running = await startBroker({
      ...(auth.authentication ? { authentication: auth.authentication } : {}),
      ...(auth.clusterSecret ? { clusterSecret: auth.clusterSecret } : {}),
      host: o.host,
      port: o.port,
      dataDir: resolve(o.data),
      logger,
      ...(o.advertisedUrl ? { advertisedUrl: o.advertisedUrl } : {}),
      ...(controllers ? { nodeId: o.nodeId!, controllers } : {}),
      ...(tls ? { tls } : {}),
      ...(o.sessionTimeoutMs !== undefined ? { clusterTiming: { sessionTimeoutMs: o.sessionTimeoutMs } } : {}),
      // Leaders look for lagging followers every half of the lag time (as Kafka's isr-expiration task), at most every 5 s.
      ...(o.replicaLagTimeMaxMs !== undefined
        ? { replication: { replicaLagTimeMaxMs: o.replicaLagTimeMaxMs, isrCheckIntervalMs: Math.min(5_000, Math.max(50, Math.floor(o.replicaLagTimeMaxMs / 2))) } }
        : {}),
      config,
      ...(o.aclFile !== undefined || o.protectMetrics ? { authorization: { ...(o.aclFile !== undefined ? { aclFile: resolve(o.aclFile) } : {}), ...(o.protectMetrics ? { protectMetrics: true } : {}) } } : {}),
    })
    if (o.fsync !== 'always') logger.warn({ fsync: o.fsync }, 'acknowledged records may be lost on a crash or power failure in this fsync mode')
    let stopping = false
    const stop = (signal: string) => {
      if (stopping) return
      stopping = true
      logger.info({ signal }, 'shutting down: flushing and syncing logs')
      running.close().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed')
          process.exit(1)
        },
      )
    }
    // SIGHUP: serve the renewed certificate and key to new connections; established ones are kept.
    process.on('SIGHUP', () => {
      if (!tls) return logger.info({}, 'SIGHUP ignored: no --tls-cert to reload')
      running.reloadTls().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'TLS reload failed; still serving the previous certificate'))
    })
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
  })
}
