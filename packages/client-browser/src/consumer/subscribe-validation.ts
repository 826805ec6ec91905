/**
 * @module Up-front argument checks of the subscription API. Each returns null or throws a TypeError that names the
 * argument, what was expected and what was given; none touches any state, so a bad call changes nothing.
 */
import { topicNameProblem } from '@samsa/shared'
import { invalidArgument, isPlainObject } from '../validation/check.js'
import type { SeekTarget } from './partition-position.js'

const MAX_PARTITION = 2 ** 31 - 1
const MAX_U32 = 2 ** 32 - 1
const OPTION_NAMES = ['from', 'partitions', 'onRecord', 'creditWindowBytes', 'reset', 'commit', 'autoCommitIntervalMs', 'signal', 'until'] as const

function fail(where: string, arg: string, expected: string, value: unknown): never {
  return invalidArgument(where, arg, expected, value)
}

const isPartition = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_PARTITION
const isOffset = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0

export function checkPartition(where: string, arg: string, value: unknown): asserts value is number {
  if (!isPartition(value)) fail(where, arg, `a partition number (an integer from 0 to ${MAX_PARTITION})`, value)
}

/** A list of distinct partition numbers (at least one). */
export function checkPartitionList(where: string, arg: string, value: unknown): asserts value is readonly number[] {
  const expected = 'a non-empty array of distinct partition numbers (integers ≥ 0)'
  if (!Array.isArray(value) || value.length === 0) fail(where, arg, expected, value)
  const seen = new Set<number>()
  for (const p of value) {
    if (!isPartition(p) || seen.has(p)) fail(where, arg, expected, value)
    seen.add(p)
  }
}

export function checkSeekTarget(where: string, arg: string, value: unknown): asserts value is SeekTarget {
  if (value !== 'earliest' && value !== 'latest' && !isOffset(value)) fail(where, arg, "an offset (a safe integer ≥ 0), 'earliest' or 'latest'", value)
}

export function checkFunction(where: string, arg: string, value: unknown): void {
  if (typeof value !== 'function') fail(where, arg, 'a function', value)
}

function checkFrom(where: string, from: unknown): void {
  if (from === undefined || from === 'earliest' || from === 'latest' || from === 'stored') return
  const expected = "'earliest', 'latest', 'stored', { offset } or a map of partition → offset"
  if (!isPlainObject(from)) fail(where, 'opts.from', expected, from)
  if ('offset' in from) {
    if (!isOffset(from['offset']) || Object.keys(from).length !== 1) fail(where, 'opts.from', `${expected} (offset a safe integer ≥ 0)`, from)
    return
  }
  const entries = Object.entries(from)
  if (entries.length === 0) fail(where, 'opts.from', `${expected} naming at least one partition`, from)
  for (const [key, offset] of entries) {
    if (!/^(0|[1-9]\d{0,9})$/.test(key) || !isPartition(Number(key))) fail(where, 'opts.from', `${expected}; its keys partition numbers`, from)
    if (!isOffset(offset)) fail(where, `opts.from[${key}]`, 'an offset (a safe integer ≥ 0)', offset)
  }
}

function isAbortSignal(v: unknown): boolean {
  return isPlainObjectLike(v) && typeof (v as { aborted?: unknown }).aborted === 'boolean' && typeof (v as { addEventListener?: unknown }).addEventListener === 'function'
}
const isPlainObjectLike = (v: unknown): boolean => typeof v === 'object' && v !== null

/** `consumer.subscribe(topic, opts)`: throws a TypeError for the first bad argument. */
export function checkSubscribe(topic: unknown, opts: unknown): void {
  const where = 'consumer.subscribe'
  if (typeof topic !== 'string') {
    const hint = isPlainObject(topic) && 'topic' in topic ? " (write subscribe('orders', { from: 'earliest' }), not the kafkajs shape subscribe({ topic }))" : ''
    fail(where, 'topic', `a topic name (a string)${hint}`, topic)
  }
  const problem = topicNameProblem(topic)
  if (problem !== null) throw new TypeError(`${where}: topic must be a legal topic name: ${problem}`)
  if (opts === undefined) return
  if (!isPlainObject(opts)) fail(where, 'opts', 'an options object or undefined', opts)
  const unknown = Object.keys(opts).filter((k) => !(OPTION_NAMES as readonly string[]).includes(k))
  if (unknown.length > 0) throw new TypeError(`${where}: unknown option ${unknown.map((k) => JSON.stringify(k)).join(', ')}; the options are ${OPTION_NAMES.join(', ')}`)
  checkFrom(where, opts['from'])
  if (opts['partitions'] !== undefined) checkPartitionList(where, 'opts.partitions', opts['partitions'])
  if (opts['onRecord'] !== undefined) checkFunction(where, 'opts.onRecord', opts['onRecord'])
  const window = opts['creditWindowBytes']
  if (window !== undefined && !(Number.isInteger(window) && (window as number) >= 1 && (window as number) <= MAX_U32)) fail(where, 'opts.creditWindowBytes', `an integer from 1 to ${MAX_U32}`, window)
  if (opts['reset'] !== undefined && opts['reset'] !== 'earliest' && opts['reset'] !== 'latest') fail(where, 'opts.reset', "'earliest' or 'latest'", opts['reset'])
  if (opts['commit'] !== undefined && opts['commit'] !== 'auto' && opts['commit'] !== 'manual') fail(where, 'opts.commit', "'auto' or 'manual'", opts['commit'])
  const interval = opts['autoCommitIntervalMs']
  if (interval !== undefined && !(typeof interval === 'number' && Number.isFinite(interval) && interval >= 0)) fail(where, 'opts.autoCommitIntervalMs', 'a finite number of milliseconds ≥ 0', interval)
  if (opts['signal'] !== undefined && !isAbortSignal(opts['signal'])) fail(where, 'opts.signal', 'an AbortSignal', opts['signal'])
  if (opts['until'] !== undefined && opts['until'] !== 'end') fail(where, 'opts.until', "'end' or undefined", opts['until'])
}

/** `sub.commit(upTo)`. */
export function checkCommitUpTo(upTo: unknown): void {
  if (upTo === undefined) return
  if (!isPlainObject(upTo)) fail('sub.commit', 'upTo', '{ partition, offset } or undefined', upTo)
  checkPartition('sub.commit', 'upTo.partition', upTo['partition'])
  if (!isOffset(upTo['offset'])) fail('sub.commit', 'upTo.offset', 'an offset (a safe integer ≥ 0)', upTo['offset'])
}

/** `sub.process(handler, opts)`. */
export function checkProcess(handler: unknown, opts: unknown): void {
  checkFunction('sub.process', 'handler', handler)
  const stores = isPlainObject(opts) ? opts['stores'] : undefined
  if (!Array.isArray(stores) || !stores.every((s) => typeof s === 'string' && s.length > 0)) fail('sub.process', 'opts.stores', 'an array of object store names (strings)', isPlainObject(opts) ? stores : opts)
}
