import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { crc32c } from '@samsa/shared'
import { nativeCrc32c } from './native-crc32c.js'

describe('native CRC-32C', () => {
  it('loads on this machine and agrees with the pure-JS implementation on every sub-range', () => {
    const native = nativeCrc32c()
    expect(native).toBeDefined()
    expect(native!(new TextEncoder().encode('123456789'), 0, 9)).toBe(0xe3069283)
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const start = bytes.length === 0 ? 0 : a % bytes.length
        const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1))
        expect(native!(bytes, start, end)).toBe(crc32c(bytes, start, end))
      }),
    )
  })
})
