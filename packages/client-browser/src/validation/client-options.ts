/** @module The argument checks of createClient(), client.connect(), client.close() and client.consumer(); each throws a TypeError naming the argument. */
import { normalizeBrokers } from './broker-url.js'
import { checkShape, durationMs, func, integer, invalidArgument, isPlainObject, methods, nonEmptyString, number, optional, type Rule } from './check.js'

const CREATE = 'createClient(options)'

/** A BackoffPolicy { baseMs, capMs }. */
export const backoff: Rule = (v) => (isPlainObject(v) && number(0)(v.baseMs) === undefined && number(0)(v.capMs) === undefined ? undefined : 'an object { baseMs, capMs } of finite numbers ≥ 0')

const clientShape: Readonly<Record<string, Rule>> = {
  brokers: () => undefined, // checked and normalized by normalizeBrokers
  clientId: optional(nonEmptyString),
  WebSocket: optional(func),
  clock: optional(methods('now', 'setTimeout', 'clearTimeout')),
  random: optional(func),
  logger: optional(methods('debug', 'info', 'warn', 'error', 'child')),
  requestTimeoutMs: optional(durationMs(1)),
  reconnectBackoff: optional(backoff),
  networkEvents: (v) => (v === null ? undefined : optional(methods('addEventListener', 'removeEventListener'))(v)),
  heartbeatIntervalMs: optional(durationMs(0)),
  heartbeatTimeoutMs: optional(durationMs(1)),
  storage: optional(methods('close')),
  locks: optional(methods('request')),
  crc32c: optional(func),
  token: optional((v) => (typeof v === 'function' || (typeof v === 'string' && v !== '') ? undefined : 'a non-empty JWT string or a function returning a Promise of one')),
}

/** Checks createClient's options; returns the normalized broker URLs (see broker-url.ts). */
export function checkClientOptions(options: unknown): string[] {
  if (!isPlainObject(options)) invalidArgument(CREATE, 'options', "an object { brokers, ... }; e.g. createClient({ brokers: 'ws://127.0.0.1:8080' })", options)
  checkShape(CREATE, 'options', options, clientShape)
  return normalizeBrokers(options.brokers, CREATE, 'options.brokers')
}

export function checkConnectOptions(options: unknown): { timeoutMs?: number } {
  return checkShape('connect(options)', 'options', options, { timeoutMs: optional(durationMs(1)) })
}

export function checkCloseOptions(options: unknown): { timeoutMs?: number } {
  return checkShape('close(options)', 'options', options, { timeoutMs: optional(durationMs(0)) })
}

export function checkConsumerOptions(options: unknown): void {
  if (isPlainObject(options) && 'groupId' in options) {
    throw new TypeError("consumer(options): options.groupId needs a client from '@samsa/client-browser/groups'")
  }
  checkShape('consumer(options)', 'options', options, { id: optional(nonEmptyString), creditWindowBytes: optional(integer(1)), retryBackoff: optional(backoff) })
}
