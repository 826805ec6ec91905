/** @module Zig-zag varints (Kafka's varint and varlong) over plain numbers; at most 2^53 − 1 in magnitude. */
import { ProtocolError } from '../errors.js'

export function varintSize(value: number): number {
  if ((value | 0) === value) {
    // int32 fast path: the zig-zag value fits in a uint32.
    const z = ((value << 1) ^ (value >> 31)) >>> 0
    return z < 0x80 ? 1 : z < 0x4000 ? 2 : z < 0x20_0000 ? 3 : z < 0x1000_0000 ? 4 : 5
  }
  let rest = Math.floor(zigzagHalf(value)[0] / 64)
  let n = 1
  while (rest > 0) {
    rest = Math.floor(rest / 128)
    n++
  }
  return n
}

/**
 * Zig-zag as (z >> 1, z & 1): z itself reaches 2^54 − 2, past exact doubles, so it is never formed.
 * The first byte carries the sign bit and 6 bits of the magnitude; every later byte 7 bits.
 */
function zigzagHalf(value: number): [half: number, sign: number] {
  if (!Number.isSafeInteger(value)) throw new RangeError(`varint value ${value} is not a safe integer`)
  return value >= 0 ? [value, 0] : [-value - 1, 1]
}

/** Writes value at bytes[at]; returns the position after it. The caller sized the buffer with varintSize. */
export function writeVarint(bytes: Uint8Array, at: number, value: number): number {
  if ((value | 0) === value) {
    let z = ((value << 1) ^ (value >> 31)) >>> 0
    while (z >= 0x80) {
      bytes[at++] = (z & 0x7f) | 0x80
      z >>>= 7
    }
    bytes[at++] = z
    return at
  }
  const [half, sign] = zigzagHalf(value)
  let b = ((half % 64) * 2) | sign
  let rest = Math.floor(half / 64)
  while (rest > 0) {
    bytes[at++] = b | 0x80
    b = rest % 128
    rest = Math.floor(rest / 128)
  }
  bytes[at++] = b
  return at
}

/**
 * Reads a varint from bytes[at, end); returns [value, next position].
 * Accumulates z / 2 rather than z, so that zig-zag values up to 2^54 − 2 (|value| ≤ 2^53 − 1) decode exactly.
 */
export function readVarint(bytes: Uint8Array, at: number, end: number): [number, number] {
  const value = readVarintValue(bytes, at, end)
  return [value, next]
}

/** Where the last readVarintValue stopped. */
let next = 0

/** The position after the varint read by the last readVarintValue call (valid until the next call). */
export function varintEnd(): number {
  return next
}

/** readVarint without the result array: returns the value; the next position is varintEnd(). Same checks and errors. */
export function readVarintValue(bytes: Uint8Array, at: number, end: number): number {
  if (at < end) {
    const b = bytes[at]!
    if (b < 0x80) {
      next = at + 1
      return b & 1 ? -(b >>> 1) - 1 : b >>> 1
    }
  }
  let negative = false
  let half = 0
  let scale = 0.5
  for (let i = 0; i < 8; i++) {
    if (at >= end) throw new ProtocolError('varint runs past the end of its buffer')
    const b = bytes[at++]!
    if (i === 0) {
      negative = (b & 1) === 1
      half = (b & 0x7f) >>> 1
    } else {
      half += (b & 0x7f) * scale
    }
    if (b < 0x80) {
      // Sums past 2^53 may round, but never below 2^53, so they are still rejected here.
      if (half > (negative ? Number.MAX_SAFE_INTEGER - 1 : Number.MAX_SAFE_INTEGER)) throw new ProtocolError('varint is beyond 2^53 − 1')
      next = at
      return negative ? -half - 1 : half
    }
    scale *= 128
  }
  throw new ProtocolError('varint is longer than 8 bytes')
}
