/** @module CRC-32C from @node-rs/crc32 (native, ~3× the pure-JS speed here); falls back to the pure-JS one if the addon cannot load. */
import { createRequire } from 'node:module'
import type { Crc32cFn } from '@samsa/shared'

type NativeCrc = (input: Buffer, initialState?: number) => number

export function nativeCrc32c(): Crc32cFn | undefined {
  let native: NativeCrc
  try {
    native = (createRequire(import.meta.url)('@node-rs/crc32') as { crc32c: NativeCrc }).crc32c
  } catch {
    return undefined
  }
  return (bytes, start, end) => native(Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start)) >>> 0
}
