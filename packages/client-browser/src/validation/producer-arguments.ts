/** @module The argument checks of producer(), send() and flush(); each throws a TypeError naming the argument (see check.ts). */
import { boolean, bytesOrNull, check, checkShape, durationMs, integer, invalidArgument, isPlainObject, nonEmptyString, number, oneOf, optional, signal, type Rule } from './check.js'

const SEND = 'send(topic, records)'
const RECORDS = 'an array of { key?, value, headers? }'
const signalOnly = { signal: optional(signal) }

export function checkProducerOptions(options: unknown): void {
  checkShape('producer(options)', 'options', options, {
    id: optional(nonEmptyString),
    acks: optional(oneOf('all', 'leader', 'none')),
    idempotent: optional(boolean),
    lingerMs: optional(number(0)),
    maxBatchBytes: optional(integer(1)),
    maxInFlight: optional(integer(1)),
    timeoutMs: optional(durationMs(1)),
    maxRetries: optional(integer(0)),
  })
}

const value: Rule = (v) => (v === undefined ? 'a string, a Uint8Array or null (null is a tombstone)' : bytesOrNull(v))
const headers: Rule = (v) => (isPlainObject(v) ? undefined : 'an object of { name: string | Uint8Array | null }')
const recordShape = { key: optional(bytesOrNull), value, headers: optional(headers), partition: optional(integer(0)), timestamp: optional(integer(0)) }

const isBytesOrNull = (v: unknown) => typeof v === 'string' || v instanceof Uint8Array || v === null
/**
 * The common record ({ value } or { key, value }, no headers, partition or timestamp) passes recordShape's rules: checked
 * without walking the shape, so a send() of one record costs a few type tests. Anything else takes the full check.
 */
const isRecordObject = (r: unknown): r is Record<string, unknown> => typeof r === 'object' && r !== null && !Array.isArray(r)
const isCommonRecord = (r: unknown): boolean =>
  isRecordObject(r) &&
  isBytesOrNull(r.value) &&
  (r.key === undefined || isBytesOrNull(r.key)) &&
  r.headers === undefined &&
  r.partition === undefined &&
  r.timestamp === undefined

/** send(topic, records, options?): every record is checked before any is admitted, so a bad call changes nothing. */
export function checkSendArguments(topic: unknown, records: unknown, options: unknown): { signal?: AbortSignal } {
  if (typeof topic !== 'string' || topic === '') {
    const kafkajs = isPlainObject(topic) && 'messages' in topic ? "; send takes (topic, records), not kafkajs's ({ topic, messages }): write send(topic, messages)" : ''
    invalidArgument(SEND, 'topic', `a non-empty string${kafkajs}`, topic)
  }
  if (!Array.isArray(records)) invalidArgument(SEND, 'records', `${RECORDS}${isPlainObject(records) ? '; for one record write send(topic, [record])' : ''}`, records)
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as Record<string, unknown>
    if (isCommonRecord(r)) continue
    const at = `records[${i}]`
    if (typeof r !== 'object' || r === null || Array.isArray(r)) invalidArgument(SEND, at, `an object { key?, value, headers? }; records must be ${RECORDS}`, r)
    // Extra fields of a record are ignored (records are often the caller's own objects); the known ones are checked.
    for (const [key, rule] of Object.entries(recordShape)) check(SEND, `${at}.${key}`, r[key], rule)
    if (r.headers !== undefined) for (const [name, v] of Object.entries(r.headers as object)) check(SEND, `${at}.headers[${JSON.stringify(name)}]`, v, bytesOrNull)
  }
  return options === undefined ? NO_OPTIONS : checkShape(SEND, 'options', options, signalOnly)
}

const NO_OPTIONS: { signal?: AbortSignal } = Object.freeze({})

export function checkFlushOptions(options: unknown): { signal?: AbortSignal } {
  return checkShape('flush(options)', 'options', options, signalOnly)
}
