/** @module UTF-8 validation without decoding: lets verifyBatch check header keys while allocating nothing. */

/** True when bytes[start, end) is well-formed UTF-8 (the same bytes a fatal TextDecoder accepts). */
export function isWellFormedUtf8(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
  let p = start
  while (p < end) {
    const b = bytes[p]!
    if (b < 0x80) {
      p++
      continue
    }
    let tail: number
    if (b >= 0xc2 && b <= 0xdf) tail = 1
    else if (b >= 0xe0 && b <= 0xef) tail = 2
    else if (b >= 0xf0 && b <= 0xf4) tail = 3
    else return false
    if (end - p <= tail) return false
    // The second byte's range excludes overlong forms (E0, F0), surrogates (ED) and code points past U+10FFFF (F4).
    const second = bytes[p + 1]!
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf
    if (second < lo || second > hi) return false
    for (let k = 2; k <= tail; k++) {
      const c = bytes[p + k]!
      if (c < 0x80 || c > 0xbf) return false
    }
    p += tail + 1
  }
  return true
}

/** Bytes TextEncoder.encode(s) produces (a lone surrogate becomes U+FFFD, 3 bytes), without encoding. */
export function utf8ByteLength(s: string): number {
  let n = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) n += 1
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2 // the pair: 2 UTF-16 units, 4 bytes
      i++
    } else n += 2
  }
  return n
}
