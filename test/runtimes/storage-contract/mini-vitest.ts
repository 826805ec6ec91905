/**
 * @module The part of vitest's API the LogStorage contract uses (describe, it, expect with toEqual, toBe, toBeNull,
 * toContain, not, rejects.toThrow), on node:assert, so the contract runs unchanged under Bun and Deno without vitest.
 * The bundle (run-contract.ts) maps the `vitest` import here. `run()` executes the registered cases in order, prints
 * one line per case and a summary, and sets a non-zero exit code when any fails.
 */
import assert from 'node:assert'

const cases: { name: string; fn: () => unknown }[] = []
const prefix: string[] = []

export function describe(name: string, body: () => void): void {
  prefix.push(name)
  try {
    body()
  } finally {
    prefix.pop()
  }
}

export function it(name: string, fn: () => unknown): void {
  cases.push({ name: [...prefix, name].join(' > '), fn })
}

function sameBytes(a: unknown, b: unknown): boolean | null {
  if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b)) return null
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
  return x.length === y.length && x.every((v, i) => v === y[i])
}

function matchers(actual: unknown, message?: string, negate = false) {
  const check = (ok: boolean, what: string) => {
    if (ok === negate) assert.fail(`${message ? `${message}: ` : ''}expected ${String(actual)} ${negate ? 'not ' : ''}${what}`)
  }
  return {
    toEqual: (expected: unknown) => {
      const bytes = sameBytes(actual, expected)
      if (bytes !== null) return check(bytes, `to equal bytes ${String(expected)}`)
      let equal = true
      try {
        assert.deepStrictEqual(actual, expected)
      } catch {
        equal = false
      }
      check(equal, `to equal ${JSON.stringify(expected)}`)
    },
    toBe: (expected: unknown) => check(Object.is(actual, expected), `to be ${String(expected)}`),
    toBeNull: () => check(actual === null, 'to be null'),
    toContain: (item: unknown) => check(Array.isArray(actual) ? actual.includes(item) : String(actual).includes(String(item)), `to contain ${String(item)}`),
  }
}

export function expect(actual: unknown, message?: string) {
  return {
    ...matchers(actual, message),
    not: matchers(actual, message, true),
    rejects: {
      toThrow: async (pattern?: RegExp) => {
        let error: unknown = null
        try {
          await actual
        } catch (e) {
          error = e ?? new Error('rejected with nothing')
        }
        if (error === null) assert.fail(`${message ? `${message}: ` : ''}expected a rejection`)
        if (pattern && !pattern.test(error instanceof Error ? error.message : String(error))) assert.fail(`${message ? `${message}: ` : ''}rejected with "${String(error)}", not matching ${pattern}`)
      },
    },
  }
}

/** Runs every registered case; returns how many failed. */
export async function run(runtime: string): Promise<number> {
  let failed = 0
  for (const c of cases) {
    try {
      await c.fn()
      console.log(`ok ${c.name}`)
    } catch (e) {
      failed++
      console.log(`FAIL ${c.name}: ${e instanceof Error ? e.message : String(e)}`)
    }
  }
  console.log(`${runtime}: ${cases.length - failed} passed, ${failed} failed`)
  return failed
}
