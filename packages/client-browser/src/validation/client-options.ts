/** @module The argument checks of createClient(), client.connect() and client.consumer(); each throws a TypeError naming the argument. */
import { normalizeBrokers } from './broker-url.js'
import { checkFunction, checkInteger, checkMethods, checkNumber, checkOptions, checkString, invalidArgument, isPlainObject } from './check.js'

const CREATE = 'createClient(options)'

export const CLIENT_OPTIONS = [
  'brokers',
  'clientId',
  'WebSocket',
  'clock',
  'random',
  'logger',
  'requestTimeoutMs',
  'reconnectBackoff',
  'networkEvents',
  'heartbeatIntervalMs',
  'heartbeatTimeoutMs',
  'storage',
  'locks',
  'crc32c',
] as const

/** Checks createClient's options; returns the normalized broker URLs (see broker-url.ts). */
export function checkClientOptions(options: unknown): string[] {
  if (!isPlainObject(options)) invalidArgument(CREATE, 'options', "an object { brokers, ... }", options, "e.g. createClient({ brokers: 'ws://127.0.0.1:8080' })")
  const o = checkOptions(CREATE, 'options', options, CLIENT_OPTIONS)
  const brokers = normalizeBrokers(o.brokers, CREATE, 'options.brokers')
  checkString(CREATE, 'options.clientId', o.clientId, { optional: true })
  checkFunction(CREATE, 'options.WebSocket', o.WebSocket, { optional: true })
  checkMethods(CREATE, 'options.clock', o.clock, ['now', 'setTimeout', 'clearTimeout'], { optional: true })
  checkFunction(CREATE, 'options.random', o.random, { optional: true })
  checkMethods(CREATE, 'options.logger', o.logger, ['debug', 'info', 'warn', 'error', 'child'], { optional: true })
  checkInteger(CREATE, 'options.requestTimeoutMs', o.requestTimeoutMs, { min: 1, max: 2 ** 31 - 1, optional: true })
  checkBackoff(CREATE, 'options.reconnectBackoff', o.reconnectBackoff)
  if (o.networkEvents !== null) checkMethods(CREATE, 'options.networkEvents', o.networkEvents, ['addEventListener', 'removeEventListener'], { optional: true })
  checkInteger(CREATE, 'options.heartbeatIntervalMs', o.heartbeatIntervalMs, { min: 0, max: 2 ** 31 - 1, optional: true })
  checkInteger(CREATE, 'options.heartbeatTimeoutMs', o.heartbeatTimeoutMs, { min: 1, max: 2 ** 31 - 1, optional: true })
  checkMethods(CREATE, 'options.storage', o.storage, ['close'], { optional: true })
  checkMethods(CREATE, 'options.locks', o.locks, ['request'], { optional: true })
  checkFunction(CREATE, 'options.crc32c', o.crc32c, { optional: true })
  return brokers
}

export function checkBackoff(call: string, arg: string, v: unknown): void {
  if (v === undefined) return
  const o = checkOptions(call, arg, v, ['baseMs', 'capMs'])
  checkNumber(call, `${arg}.baseMs`, o.baseMs, { min: 0 })
  checkNumber(call, `${arg}.capMs`, o.capMs, { min: 0 })
}

export function checkConnectOptions(options: unknown): { timeoutMs?: number } {
  const o = checkOptions('connect(options)', 'options', options, ['timeoutMs'])
  checkInteger('connect(options)', 'options.timeoutMs', o.timeoutMs, { min: 1, max: 2 ** 31 - 1, optional: true })
  return o as { timeoutMs?: number }
}

export function checkConsumerOptions(options: unknown): void {
  const call = 'consumer(options)'
  const o = checkOptions(call, 'options', options, ['id', 'creditWindowBytes', 'retryBackoff'])
  checkString(call, 'options.id', o.id, { optional: true })
  checkInteger(call, 'options.creditWindowBytes', o.creditWindowBytes, { min: 1, optional: true })
  checkBackoff(call, 'options.retryBackoff', o.retryBackoff)
}
