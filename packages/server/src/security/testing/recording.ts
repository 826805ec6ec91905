/** @module Test doubles for security tests: a logger that keeps its lines, metrics that count refusals, principals. */
import type { Logger } from '../../clock.js'
import { noopMetrics, type BrokerMetrics } from '../../observability/broker-metrics.js'
import type { Principal } from '../principal.js'

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error'
  readonly fields: Record<string, unknown>
  readonly msg: string | undefined
}

export function recordingLogger(lines: LogLine[] = []): Logger & { readonly lines: LogLine[] } {
  const at = (level: LogLine['level']) => (fields: object, msg?: string) => void lines.push({ level, fields: { ...fields }, msg })
  const logger: Logger & { readonly lines: LogLine[] } = { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger }
  return logger
}

/** The audit lines among `lines`. */
export const auditLines = (lines: readonly LogLine[]) => lines.filter((l) => l.fields.audit === true).map((l) => l.fields)

/** BrokerMetrics counting authorization refusals by operation (every other metric ignored). */
export function refusalCountingMetrics(): BrokerMetrics & { readonly refusals: Map<string, number> } {
  const refusals = new Map<string, number>()
  return { ...noopMetrics, refusals, authorizationRefused: (op) => void refusals.set(op, (refusals.get(op) ?? 0) + 1) }
}

/** A verified user with the grants of a token's `samsa` claim. */
export const userWith = (name: string, samsa?: object): Principal => Object.freeze({ kind: 'user', name, claims: Object.freeze(samsa === undefined ? {} : { samsa }) })
