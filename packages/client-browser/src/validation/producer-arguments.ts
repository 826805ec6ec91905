/** @module The argument checks of producer(), send() and flush(); each throws a TypeError naming the argument (see check.ts). */
import { checkBoolean, checkBytes, checkInteger, checkNumber, checkOneOf, checkOptions, checkSignal, checkString, describeValue, invalidArgument, isPlainObject } from './check.js'

const PRODUCER = 'producer(options)'
const SEND = 'send(topic, records)'
const FLUSH = 'flush(options)'
const RECORD_SHAPE = 'an array of { key?, value, headers? }'

export const PRODUCER_OPTIONS = ['id', 'acks', 'idempotent', 'lingerMs', 'maxBatchBytes', 'maxInFlight', 'timeoutMs', 'maxRetries'] as const

export function checkProducerOptions(options: unknown): void {
  const o = checkOptions(PRODUCER, 'options', options, PRODUCER_OPTIONS)
  checkString(PRODUCER, 'options.id', o.id, { optional: true })
  checkOneOf(PRODUCER, 'options.acks', o.acks, ['all', 'leader', 'none'], { optional: true })
  checkBoolean(PRODUCER, 'options.idempotent', o.idempotent, { optional: true })
  checkNumber(PRODUCER, 'options.lingerMs', o.lingerMs, { min: 0, optional: true })
  checkInteger(PRODUCER, 'options.maxBatchBytes', o.maxBatchBytes, { min: 1, optional: true })
  checkInteger(PRODUCER, 'options.maxInFlight', o.maxInFlight, { min: 1, optional: true })
  checkInteger(PRODUCER, 'options.timeoutMs', o.timeoutMs, { min: 1, max: 2 ** 31 - 1, optional: true })
  checkInteger(PRODUCER, 'options.maxRetries', o.maxRetries, { min: 0, optional: true })
}

/** send(topic, records, options?): every record is checked before any is admitted, so a bad call changes nothing. */
export function checkSendArguments(topic: unknown, records: unknown, options: unknown): { signal?: AbortSignal } {
  if (typeof topic !== 'string' || topic === '') {
    const kafkajsShape = isPlainObject(topic) && 'messages' in topic
    invalidArgument(SEND, 'topic', 'a non-empty string', topic, kafkajsShape ? 'send takes (topic, records), not kafkajs\'s ({ topic, messages }): write send(topic, messages)' : undefined)
  }
  if (!Array.isArray(records)) {
    invalidArgument(SEND, 'records', RECORD_SHAPE, records, isPlainObject(records) ? 'for one record write send(topic, [record])' : undefined)
  }
  for (let i = 0; i < records.length; i++) checkRecord(records[i], `records[${i}]`)
  const o = checkOptions(SEND, 'options', options, ['signal'])
  checkSignal(SEND, 'options.signal', o.signal)
  return o as { signal?: AbortSignal }
}

function checkRecord(r: unknown, at: string): void {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) invalidArgument(SEND, at, 'an object { key?, value, headers? }', r, `records must be ${RECORD_SHAPE}`)
  const record = r as Record<string, unknown>
  if (record.value === undefined) invalidArgument(SEND, `${at}.value`, 'a string, a Uint8Array or null (null is a tombstone)', undefined)
  checkBytes(SEND, `${at}.value`, record.value, { nullable: true })
  if (record.key !== undefined) checkBytes(SEND, `${at}.key`, record.key, { nullable: true })
  const headers = record.headers
  if (headers !== undefined) {
    if (!isPlainObject(headers)) invalidArgument(SEND, `${at}.headers`, 'an object of { name: string | Uint8Array | null }', headers)
    for (const [name, value] of Object.entries(headers)) checkBytes(SEND, `${at}.headers[${JSON.stringify(name)}]`, value, { nullable: true })
  }
  checkInteger(SEND, `${at}.partition`, record.partition, { min: 0, optional: true })
  checkInteger(SEND, `${at}.timestamp`, record.timestamp, { min: 0, optional: true })
}

export function checkFlushOptions(options: unknown): { signal?: AbortSignal } {
  const o = checkOptions(FLUSH, 'options', options, ['signal'])
  checkSignal(FLUSH, 'options.signal', o.signal)
  return o as { signal?: AbortSignal }
}

export function checkListener(call: string, listener: unknown): void {
  if (typeof listener !== 'function') throw new TypeError(`${call}: listener must be a function, got ${describeValue(listener)}`)
}
