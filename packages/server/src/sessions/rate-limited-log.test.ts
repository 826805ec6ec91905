import { describe, expect, it } from 'vitest'
import { SamsaError } from '@samsa/shared'
import { ManualClock } from '../log/testing/manual-clock.js'
import type { Logger } from '../clock.js'
import { RateLimitedLog, describeError } from './rate-limited-log.js'

function recorder(lines: { level: string; fields: object; msg?: string }[]): Logger {
  const at = (level: string) => (fields: object, msg?: string) => void lines.push({ level, fields, ...(msg !== undefined && { msg }) })
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger }
  return logger
}

describe('RateLimitedLog', () => {
  it('logs at most maxLines per window, then says how many it suppressed', () => {
    const lines: { level: string; fields: object; msg?: string }[] = []
    const clock = new ManualClock()
    const log = new RateLimitedLog(recorder(lines), clock, { maxLines: 3, windowMs: 1000 })
    for (let i = 0; i < 100; i++) log.warn({ i }, 'bad')
    expect(lines.map((l) => l.fields)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }])
    clock.advance(1000)
    log.error({ i: 100 }, 'bad')
    expect(lines.slice(3)).toEqual([
      { level: 'warn', fields: { suppressed: 97, windowMs: 1000 }, msg: 'suppressed log lines about this connection' },
      { level: 'error', fields: { i: 100 }, msg: 'bad' },
    ])
  })

  it('describes an error by name and message only', () => {
    expect(describeError(new SamsaError('CORRUPT_MESSAGE', 'bad crc'))).toEqual({ error: 'CORRUPT_MESSAGE', message: 'bad crc' })
    expect(describeError(new TypeError('x'))).toEqual({ error: 'TypeError', message: 'x' })
  })
})
