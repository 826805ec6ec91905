/** @module The Logger port backed by pino: one JSON line per event on stderr, or pretty single lines for humans. */
import { pino, type Logger as Pino } from 'pino'
import type { Logger } from '../../clock.js'

export type LogFormat = 'json' | 'pretty'

export function createPinoLogger(opts: { level?: string; format?: LogFormat } = {}): Logger {
  const base = pino(
    { level: opts.level ?? 'info', base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
    opts.format === 'pretty' ? prettyStream() : pino.destination({ fd: 2, sync: false }),
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

/** "12:00:00.123 INFO  topic created topic=orders partitions=3" on stderr. */
function prettyStream(): { write(line: string): void } {
  const levels: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' }
  return {
    write(line: string) {
      const { level, time, msg, ...rest } = JSON.parse(line) as { level: number; time: string; msg?: string } & Record<string, unknown>
      const fields = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ')
      process.stderr.write(`${time.slice(11, 23)} ${levels[level] ?? level} ${msg ?? ''}${fields ? ` ${fields}` : ''}\n`)
    },
  }
}
