/** @module Zig-zag varints (Kafka's varint and varlong) over plain numbers; at most 2^53 − 1 in magnitude. */
import { ProtocolError } from '../errors.js'

export function varintSize(value: number): number {
  let z = zigzag(value)
  let n = 1
  while (z >= 0x80) {
    z = Math.floor(z / 128)
    n++
  }
  return n
}

function zigzag(value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`varint value ${value} is not a safe integer`)
  return value >= 0 ? value * 2 : -value * 2 - 1
}

/** Writes value at bytes[at]; returns the position after it. The caller sized the buffer with varintSize. */
export function writeVarint(bytes: Uint8Array, at: number, value: number): number {
  let z = zigzag(value)
  while (z >= 0x80) {
    bytes[at++] = (z & 0x7f) | 0x80
    z = Math.floor(z / 128)
  }
  bytes[at++] = z
  return at
}

/** Reads a varint from bytes[at, end); returns [value, next position]. */
export function readVarint(bytes: Uint8Array, at: number, end: number): [number, number] {
  let z = 0
  let scale = 1
  for (let i = 0; i < 8; i++) {
    if (at >= end) throw new ProtocolError('varint runs past the end of its buffer')
    const b = bytes[at++]!
    z += (b & 0x7f) * scale
    if (b < 0x80) {
      if (z > Number.MAX_SAFE_INTEGER) throw new ProtocolError('varint is beyond 2^53 − 1')
      const value = z % 2 === 0 ? z / 2 : -(z + 1) / 2
      return [value, at]
    }
    scale *= 128
  }
  throw new ProtocolError('varint is longer than 8 bytes')
}
