/**
 * @module Commander argument parsers: each flag's value is parsed once, when commander reads it (from the command line
 * or from its env var), and a bad one is reported by commander as one line naming the flag, the value and its source.
 */
import { InvalidArgumentError } from 'commander'
import type { StartFrom } from '@samsa/client-browser'

/** Largest value an i32 field of the protocol carries (partition numbers and counts). */
export const I32_MAX = 2 ** 31 - 1
/** Largest value of an i16 field (createTopic's replication factor and min.insync.replicas). */
export const I16_MAX = 2 ** 15 - 1

export function intArg(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`It must be an integer from ${min} to ${max}.`)
    return n
  }
}

export function positiveNumberArg(value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('It must be a positive number.')
  return n
}

/** earliest | latest | a non-negative offset. */
export function fromArg(value: string): StartFrom {
  if (value === 'earliest' || value === 'latest') return value
  const n = /^\d+$/.test(value) ? Number(value) : NaN
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('It must be earliest, latest or a non-negative offset.')
  return { offset: n }
}

/** A non-empty separator; `\t` and `\n`-free, since lines are split on newlines. */
export function separatorArg(value: string): string {
  const s = value.replace(/\\t/g, '\t')
  if (s === '' || s.includes('\n') || s.includes('\r')) throw new InvalidArgumentError('It must be a non-empty string without a newline (write \\t for a tab).')
  return s
}
