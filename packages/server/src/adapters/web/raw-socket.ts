/** @module Reading a runtime's raw socket (WSContext.raw) without its type declarations: a numeric property or method, when present. */

/** `raw[name]` when it is a number, or what the method `raw[name]()` returns when that is a number; undefined otherwise. */
export function rawNumber(raw: unknown, name: string): number | undefined {
  if (typeof raw !== 'object' || raw === null || !(name in raw)) return undefined
  const value: unknown = Reflect.get(raw, name)
  const result: unknown = typeof value === 'function' ? Reflect.apply(value, raw, []) : value
  return typeof result === 'number' ? result : undefined
}
