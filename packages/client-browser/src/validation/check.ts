/**
 * @module Argument checks for the SDK's public calls. Each check throws a TypeError that names the call, the argument
 * and what was expected, e.g. `send(topic, records): records must be an array of { key?, value, headers? }, got an
 * object`. Async APIs turn the throw into a rejection (see `rejectInvalid`); sync factories let it throw.
 *
 * Hand-written rather than zod/valibot: the checks are a few type tests whose messages we want in this exact form,
 * they run on the send() hot path for every record, and the whole module costs well under 1 KB gzip of the SDK bundle
 * (zod alone is ~13 KB gzip; valibot tree-shaken still adds its schema runtime and we would restyle every message).
 */

/** A short description of a value for an error message; never throws (getters, null prototypes, revoked proxies). */
export function describeValue(value: unknown): string {
  try {
    if (value === null) return 'null'
    switch (typeof value) {
      case 'undefined':
        return 'undefined'
      case 'string':
        return value.length === 0 ? 'an empty string' : `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`
      case 'number':
        return Number.isNaN(value) ? 'NaN' : `the number ${value}`
      case 'bigint':
        return `the bigint ${value}n`
      case 'boolean':
        return String(value)
      case 'symbol':
        return 'a symbol'
      case 'function':
        return 'a function'
    }
    if (Array.isArray(value)) return 'an array'
    const proto = Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null
    const name = proto === null || proto === Object.prototype ? null : proto.constructor?.name
    if (typeof name !== 'string' || name === '' || name === 'Object') return 'an object'
    return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`
  } catch {
    return 'an unreadable value'
  }
}

/** Throws `TypeError("<call>: <arg> must be <expected>, got <what value is>[; <hint>]")`. */
export function invalidArgument(call: string, arg: string, expected: string, got: unknown, hint?: string): never {
  throw new TypeError(`${call}: ${arg} must be ${expected}, got ${describeValue(got)}${hint ? `; ${hint}` : ''}`)
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

export function checkString(call: string, arg: string, v: unknown, opts: { optional?: boolean; hint?: string } = {}): void {
  if (v === undefined && opts.optional) return
  if (typeof v !== 'string' || v.length === 0) invalidArgument(call, arg, 'a non-empty string', v, opts.hint)
}

export function checkInteger(call: string, arg: string, v: unknown, opts: { min?: number; max?: number; optional?: boolean } = {}): void {
  if (v === undefined && opts.optional) return
  const min = opts.min ?? Number.MIN_SAFE_INTEGER
  const max = opts.max ?? Number.MAX_SAFE_INTEGER
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    const range = opts.max === undefined ? (opts.min === undefined ? 'an integer' : `an integer ≥ ${min}`) : `an integer in ${min}..${max}`
    invalidArgument(call, arg, range, v)
  }
}

/** A finite number ≥ min (durations that may be fractional, e.g. lingerMs). */
export function checkNumber(call: string, arg: string, v: unknown, opts: { min?: number; optional?: boolean } = {}): void {
  if (v === undefined && opts.optional) return
  const min = opts.min ?? -Infinity
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) invalidArgument(call, arg, Number.isFinite(min) ? `a finite number ≥ ${min}` : 'a finite number', v)
}

export function checkBoolean(call: string, arg: string, v: unknown, opts: { optional?: boolean } = {}): void {
  if (v === undefined && opts.optional) return
  if (typeof v !== 'boolean') invalidArgument(call, arg, 'true or false', v)
}

export function checkFunction(call: string, arg: string, v: unknown, opts: { optional?: boolean } = {}): void {
  if (v === undefined && opts.optional) return
  if (typeof v !== 'function') invalidArgument(call, arg, 'a function', v)
}

export function checkOneOf<T extends string>(call: string, arg: string, v: unknown, values: readonly T[], opts: { optional?: boolean } = {}): void {
  if (v === undefined && opts.optional) return
  if (typeof v !== 'string' || !values.includes(v as T)) invalidArgument(call, arg, `one of ${values.map((x) => `'${x}'`).join(', ')}`, v)
}

/** An object whose listed methods are functions (a port such as a clock or a logger). */
export function checkMethods(call: string, arg: string, v: unknown, methods: readonly string[], opts: { optional?: boolean } = {}): void {
  if (v === undefined && opts.optional) return
  const expected = `an object with ${methods.map((m) => `${m}()`).join(', ')}`
  if (typeof v !== 'object' || v === null) invalidArgument(call, arg, expected, v)
  for (const m of methods) if (typeof (v as Record<string, unknown>)[m] !== 'function') invalidArgument(call, `${arg}.${m}`, 'a function', (v as Record<string, unknown>)[m], `${arg} must be ${expected}`)
}

/**
 * An options object: undefined (all defaults) or a plain object whose own keys are all known; returns it (or {}).
 * An unknown key is rejected (a misspelt option would otherwise be silently ignored).
 */
export function checkOptions(call: string, arg: string, v: unknown, known: readonly string[]): Record<string, unknown> {
  if (v === undefined) return {}
  if (!isPlainObject(v)) invalidArgument(call, arg, `undefined or an object with ${known.join(', ')}`, v)
  for (const key of Object.keys(v)) {
    if (!known.includes(key)) throw new TypeError(`${call}: ${arg} has an unknown option ${JSON.stringify(key)}; the options are ${known.join(', ')}`)
  }
  return v
}

/** An AbortSignal (duck-typed: `aborted` and `addEventListener`, so any realm's or polyfill's signal works). */
export function checkSignal(call: string, arg: string, v: unknown): void {
  if (v === undefined) return
  const s = v as { aborted?: unknown; addEventListener?: unknown } | null
  if (typeof s !== 'object' || s === null || typeof s.aborted !== 'boolean' || typeof s.addEventListener !== 'function') invalidArgument(call, arg, 'an AbortSignal', v)
}

/** Record bytes: a string (UTF-8 encoded) or a Uint8Array (Buffer included), or null when `nullable`. */
export function checkBytes(call: string, arg: string, v: unknown, opts: { nullable: boolean }): void {
  if (typeof v === 'string' || v instanceof Uint8Array || (v === null && opts.nullable)) return
  const expected = opts.nullable ? 'a string, a Uint8Array or null' : 'a string or a Uint8Array'
  const hint =
    typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !(v instanceof ArrayBuffer)
      ? 'serialize it first, e.g. JSON.stringify(value)'
      : v instanceof ArrayBuffer || ArrayBuffer.isView(v)
        ? 'wrap it as new Uint8Array(buffer)'
        : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint'
          ? 'convert it first, e.g. String(value)'
          : undefined
  invalidArgument(call, arg, expected, v, hint)
}
