/**
 * @module Argument checks for the SDK's public calls. A check throws a TypeError that names the call, the argument
 * and what was expected, e.g. `send(topic, records): records must be an array of { key?, value, headers? }, got an
 * object`. Async APIs turn the throw into a rejection (`rejectInvalid`, or an `async` function); sync factories throw.
 *
 * A rule is a function from a value to what was expected (a string, with an optional "; hint"), or undefined when the
 * value is fine; `check` and `checkShape` turn a failed rule into the TypeError. Hand-written rather than zod/valibot:
 * the rules are a few type tests whose messages we want in exactly this form, they run on the send() hot path for
 * every record, and this table-driven form costs ~1.5 KB gzip of the SDK bundle, less than either library's runtime.
 */

/** What was expected (optionally "; hint"), or undefined when the value passes. */
export type Rule = (value: unknown) => string | undefined

/** A short description of a value for an error message; never throws (getters, null prototypes, revoked proxies). */
export function describeValue(value: unknown): string {
  try {
    if (value === null) return 'null'
    const type = typeof value
    if (type === 'string') {
      const s = value as string
      return s === '' ? 'an empty string' : `the string ${JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s)}`
    }
    if (type === 'number') return Number.isNaN(value) ? 'NaN' : `the number ${value as number}`
    if (type === 'bigint') return `the bigint ${value as bigint}n`
    if (type === 'boolean') return String(value)
    if (type !== 'object') return `a ${type}` // undefined is handled below; symbol, function
    if (Array.isArray(value)) return 'an array'
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name
    return typeof name !== 'string' || name === '' || name === 'Object' ? 'an object' : `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`
  } catch {
    return 'an unreadable value'
  }
}

/** Throws `TypeError("<call>: <arg> must be <expected>, got <what value is>[; <hint>]")`. */
export function invalidArgument(call: string, arg: string, expected: string, got: unknown): never {
  const [what, hint] = expected.split('; ')
  throw new TypeError(`${call}: ${arg} must be ${what}, got ${got === undefined ? 'undefined' : describeValue(got)}${hint ? `; ${hint}` : ''}`)
}

/** Applies a rule; throws the TypeError when it fails. */
export function check(call: string, arg: string, value: unknown, rule: Rule): void {
  const expected = rule(value)
  if (expected !== undefined) invalidArgument(call, arg, expected, value)
}

/** Runs the checks of an async API: a TypeError they throw becomes a rejected promise, never a synchronous throw. */
export function rejectInvalid(checks: () => void): Promise<never> | null {
  try {
    checks()
    return null
  } catch (error) {
    return Promise.reject(error)
  }
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v) as unknown
  return proto === null || proto === Object.prototype || Object.getPrototypeOf(proto) === null
}

/**
 * An options object: undefined (all defaults) or a plain object whose own keys are all in `shape`, each passing its
 * rule (a missing key is undefined: make its rule `optional`); returns it, or {}. An unknown key is rejected (a
 * misspelt option would otherwise be silently ignored).
 */
export function checkShape(call: string, arg: string, value: unknown, shape: Readonly<Record<string, Rule>>): Record<string, unknown> {
  const names = Object.keys(shape)
  if (value === undefined) value = {}
  if (!isPlainObject(value)) invalidArgument(call, arg, `undefined or an object with ${names.join(', ')}`, value)
  for (const key of Object.keys(value)) {
    if (!(key in shape)) throw new TypeError(`${call}: ${arg} has an unknown option ${JSON.stringify(key)}; the options are ${names.join(', ')}`)
  }
  for (const key of names) check(call, `${arg}.${key}`, value[key], shape[key]!)
  return value
}

export const optional =
  (rule: Rule): Rule =>
  (v) =>
    v === undefined ? undefined : rule(v)

export const nonEmptyString: Rule = (v) => (typeof v === 'string' && v !== '' ? undefined : 'a non-empty string')
export const boolean: Rule = (v) => (typeof v === 'boolean' ? undefined : 'true or false')
export const func: Rule = (v) => (typeof v === 'function' ? undefined : 'a function')

/** A safe integer in min..max (max omitted: no upper bound). */
export const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): Rule =>
  (v) =>
    Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max ? undefined : max < Number.MAX_SAFE_INTEGER ? `an integer in ${min}..${max}` : `an integer ≥ ${min}`

/** A duration in ms as timers take it: an integer in min..2^31−1. */
export const durationMs = (min: number): Rule => integer(min, 2 ** 31 - 1)

/** A finite number ≥ min (e.g. a fractional lingerMs). */
export const number =
  (min: number): Rule =>
  (v) =>
    typeof v === 'number' && Number.isFinite(v) && v >= min ? undefined : `a finite number ≥ ${min}`

export const oneOf =
  (...values: readonly string[]): Rule =>
  (v) =>
    values.includes(v as string) ? undefined : `one of ${values.map((x) => `'${x}'`).join(', ')}`

/** An object whose listed methods are functions (a port such as a clock or a logger). */
export const methods =
  (...names: readonly string[]): Rule =>
  (v) =>
    (typeof v === 'object' || typeof v === 'function') && v !== null && names.every((m) => typeof (v as Record<string, unknown>)[m] === 'function')
      ? undefined
      : `an object with ${names.map((m) => `${m}()`).join(', ')}`

/** An AbortSignal (duck-typed: `aborted` and `addEventListener`, so any realm's or polyfill's signal passes). */
export const signal: Rule = (v) => {
  const s = v as { aborted?: unknown; addEventListener?: unknown } | null
  return typeof s === 'object' && s !== null && typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function' ? undefined : 'an AbortSignal'
}

/** Record bytes: a string (UTF-8 encoded), a Uint8Array (Buffer included) or null; the hint says how to convert. */
export const bytesOrNull: Rule = (v) => {
  if (typeof v === 'string' || v instanceof Uint8Array || v === null) return undefined
  const hint =
    v instanceof ArrayBuffer || ArrayBuffer.isView(v)
      ? 'wrap it as new Uint8Array(buffer)'
      : typeof v === 'object'
        ? 'serialize it first, e.g. JSON.stringify(value)'
        : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint'
          ? 'convert it first, e.g. String(value)'
          : ''
  return `a string, a Uint8Array or null${hint && `; ${hint}`}`
}

/** An event listener argument (onStatus, onPending, onRecovered): a function. */
export function checkListener(call: string, listener: unknown): void {
  check(call, 'listener', listener, (v) => (typeof v === 'function' ? undefined : 'a function'))
}
