/** @module `samsa start`: run a broker in the foreground until SIGTERM/SIGINT. */
import { resolve } from 'node:path'
import { Option, type Command } from 'commander'
import { createPinoLogger, type LogFormat } from '../pino-logger.js'
import { startBroker } from '../start-broker.js'
import { CliError } from './cli-error.js'

interface StartOptions {
  port: string
  host: string
  advertisedUrl?: string
  data: string
  fsync: 'always' | 'interval' | 'never'
  fsyncIntervalMs: string
  retentionHours?: string
  retentionBytes?: string
  segmentBytes?: string
  logFormat: LogFormat
  logLevel: string
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('start a broker (single node) serving the demo at http://HOST:PORT/ and WebSocket clients at ws://HOST:PORT/ws')
    .option('--port <port>', 'TCP port (0 picks a free one)', '8080')
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--advertised-url <url>', 'ws:// or wss:// base URL clients are told to use (default: ws://HOST:PORT, 127.0.0.1 for 0.0.0.0 and ::)')
    .option('--data <dir>', 'data directory', './data')
    .addOption(new Option('--fsync <mode>', 'always: acknowledge after fsync (group commit); interval and never are weaker, see docs/operations.md').choices(['always', 'interval', 'never']).default('always'))
    .option('--fsync-interval-ms <ms>', 'fsync period for --fsync interval', '1000')
    .option('--retention-hours <hours>', 'delete segments older than this (default: keep forever)')
    .option('--retention-bytes <bytes>', 'per-partition size limit (default: none)')
    .option('--segment-bytes <bytes>', 'roll segments at this size', String(64 * 1024 * 1024))
    .addOption(new Option('--log-format <format>', 'log output').choices(['pretty', 'json']).default(process.stderr.isTTY ? 'pretty' : 'json'))
    .option('--log-level <level>', 'debug | info | warn | error', 'info')
    .action(async (o: StartOptions) => {
      const port = int(o.port, '--port', 0, 65535)
      const logger = createPinoLogger({ level: o.logLevel, format: o.logFormat })
      const dataDir = resolve(o.data)
      const running = await startBroker({
        host: o.host,
        port,
        ...(o.advertisedUrl !== undefined ? { advertisedUrl: o.advertisedUrl } : {}),
        dataDir,
        logger,
        config: {
          log: {
            fsync: o.fsync,
            fsyncIntervalMs: int(o.fsyncIntervalMs, '--fsync-interval-ms', 1, 3_600_000),
            ...(o.segmentBytes ? { segmentBytes: int(o.segmentBytes, '--segment-bytes', 1024, 2 ** 31 - 1) } : {}),
            retentionMs: o.retentionHours ? hours(o.retentionHours) : null,
            retentionBytes: o.retentionBytes ? int(o.retentionBytes, '--retention-bytes', 1, Number.MAX_SAFE_INTEGER) : null,
          },
        },
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
      process.on('SIGTERM', () => stop('SIGTERM'))
      process.on('SIGINT', () => stop('SIGINT'))
    })
}

export function int(value: string, flag: string, min: number, max: number): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`${flag} must be an integer from ${min} to ${max}, got "${value}"`)
  return n
}

function hours(value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`--retention-hours must be a positive number, got "${value}"`)
  return Math.round(n * 3_600_000)
}
