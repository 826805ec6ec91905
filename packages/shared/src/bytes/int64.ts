/** @module int64 on the wire as JavaScript numbers: values beyond ±(2^53 − 1) are rejected, never rounded. */
import { ProtocolError } from '../errors.js'

const TWO32 = 0x1_0000_0000

export function writeInt64(view: DataView, at: number, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`int64 value ${value} is not a safe integer (|n| ≤ 2^53 − 1)`)
  const hi = Math.floor(value / TWO32)
  view.setInt32(at, hi)
  view.setUint32(at + 4, value - hi * TWO32)
}

export function readInt64(view: DataView, at: number): number {
  const hi = view.getInt32(at)
  const lo = view.getUint32(at + 4)
  const value = hi * TWO32 + lo
  if (!Number.isSafeInteger(value)) throw new ProtocolError(`int64 at byte ${at} is beyond 2^53 − 1`)
  return value
}
