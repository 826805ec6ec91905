/** @module The argument checks of `client.consumer({ groupId })` and `groupConsumer.subscribe()`; each throws a TypeError naming the argument. */
import { GROUP_ASSIGNORS } from '@samsa/shared'
import { boolean, checkShape, durationMs, invalidArgument, isPlainObject, methods, nonEmptyString, oneOf, optional, signal, type Rule } from '../validation/check.js'

const CONSUMER = 'consumer(options)'
const SUBSCRIBE = 'groupConsumer.subscribe(topics, options)'

/** Kafka's group id rule: 1..249 characters. */
const groupId: Rule = (v) => (typeof v === 'string' && v.length >= 1 && v.length <= 249 ? undefined : 'a string of 1..249 characters')
const autoCommit: Rule = (v) => (typeof v === 'boolean' || (isPlainObject(v) && durationMs(1)(v.intervalMs) === undefined && Object.keys(v).length === 1) ? undefined : 'true, false or { intervalMs } (an integer ≥ 1)')

export function checkGroupConsumerOptions(options: unknown): void {
  if (!isPlainObject(options)) invalidArgument(CONSUMER, 'options', "an object { groupId, ... }; e.g. client.consumer({ groupId: 'billing' })", options)
  checkShape(CONSUMER, 'options', options, {
    groupId,
    instanceId: optional(nonEmptyString),
    sessionTimeoutMs: optional(durationMs(1)),
    rebalanceTimeoutMs: optional(durationMs(1)),
    assignor: optional(oneOf(...GROUP_ASSIGNORS)),
    autoCommit: optional(autoCommit),
    creditWindowBytes: optional((v) => (Number.isSafeInteger(v) && (v as number) >= 1 ? undefined : 'an integer ≥ 1')),
    lifecycle: (v) => (v === null ? undefined : optional(methods('watch'))(v)),
    sessionStore: optional(methods('getItem', 'setItem')),
  })
}

/** Returns the topics as a list. */
export function checkGroupSubscribe(topics: unknown, options: unknown): readonly string[] {
  const list = typeof topics === 'string' ? [topics] : topics
  if (!Array.isArray(list) || list.length === 0 || list.some((t) => typeof t !== 'string' || t === '')) invalidArgument(SUBSCRIBE, 'topics', 'a topic name or a non-empty list of them', topics)
  if (new Set(list).size !== list.length) invalidArgument(SUBSCRIBE, 'topics', 'topic names without repeats', topics)
  checkShape(SUBSCRIBE, 'options', options, { fromBeginning: optional(boolean), signal: optional(signal) })
  return list as string[]
}
