/**
 * @module The Logger port backed by pino: one JSON line per event on stderr, or pretty single lines for humans.
 * Lines go through fdLogDestination, so a closed or stalled stderr never stops, stalls or hangs the broker.
 */
import { pino, type Logger as Pino } from 'pino'
import type { Logger } from '../../clock.js'
import { fdLogDestination, type LogDestination } from './log-destination.js'

export type LogFormat = 'json' | 'pretty'

const STDERR_FD = 2

export function createPinoLogger(opts: { level?: string; format?: LogFormat; destination?: LogDestination } = {}): Logger {
  const destination = opts.destination ?? fdLogDestination(STDERR_FD)
  const base = pino(
    { level: opts.level ?? 'info', base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
    opts.format === 'pretty' ? prettyStream(destination) : destination,
  )
  return wrap(base)
}

function wrap(p: Pino): Logger {
  return {
    debug: (o, m) => p.debug(o, m),
    info: (o, m) => p.info(o, m),
    warn: (o, m) => p.warn(o, m),
    error: (o, m) => p.error(o, m),
    child: (b) => wrap(p.child(b)),
  }
}

/** "12:00:00.123 INFO  topic created topic=orders partitions=3". */
function prettyStream(out: LogDestination): { write(line: string): void } {
  const levels: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' }
  return {
    write(line: string) {
      const { level, time, msg, ...rest } = JSON.parse(line) as { level: number; time: string; msg?: string } & Record<string, unknown>
      const fields = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ')
      out.write(`${time.slice(11, 23)} ${levels[level] ?? level} ${msg ?? ''}${fields ? ` ${fields}` : ''}\n`)
    },
  }
}
