/** @module A Logger writing one JSON line per entry to the console (stdout; warn and error to stderr), for runtimes without pino. */
import type { Logger } from '../../clock.js'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export function consoleLogger(level: LogLevel = 'info', bindings: object = {}): Logger {
  const line = (at: LogLevel, fields: object, msg?: string) => {
    if (RANK[at] < RANK[level]) return
    const text = JSON.stringify({ level: at, time: Date.now(), ...bindings, ...fields, ...(msg !== undefined ? { msg } : {}) })
    if (RANK[at] >= RANK.warn) console.error(text)
    else console.log(text)
  }
  return {
    debug: (f, m) => line('debug', f, m),
    info: (f, m) => line('info', f, m),
    warn: (f, m) => line('warn', f, m),
    error: (f, m) => line('error', f, m),
    child: (b) => consoleLogger(level, { ...bindings, ...b }),
  }
}
