/** @module A bounds-checked big-endian byte reader: every read past the end throws ProtocolError, and no length is trusted before it is checked against the bytes left. */
import { ProtocolError } from '../errors.js'
import { readInt64 } from './int64.js'

// ignoreBOM: a leading U+FEFF is part of the string, not a marker to strip.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export class ByteReader {
  readonly #bytes: Uint8Array
  readonly #view: DataView
  #pos: number

  constructor(bytes: Uint8Array, offset = 0) {
    this.#bytes = bytes
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.#pos = offset
  }

  get position(): number {
    return this.#pos
  }
  get remaining(): number {
    return this.#bytes.length - this.#pos
  }

  #need(n: number, what: string): void {
    if (n > this.#bytes.length - this.#pos) {
      throw new ProtocolError(`truncated: ${what} needs ${n} bytes at ${this.#pos}, ${this.#bytes.length - this.#pos} left`)
    }
  }

  u8(): number {
    this.#need(1, 'u8')
    return this.#view.getUint8(this.#pos++)
  }
  i8(): number {
    this.#need(1, 'i8')
    return this.#view.getInt8(this.#pos++)
  }
  u16(): number {
    this.#need(2, 'u16')
    const v = this.#view.getUint16(this.#pos)
    this.#pos += 2
    return v
  }
  i16(): number {
    this.#need(2, 'i16')
    const v = this.#view.getInt16(this.#pos)
    this.#pos += 2
    return v
  }
  u32(): number {
    this.#need(4, 'u32')
    const v = this.#view.getUint32(this.#pos)
    this.#pos += 4
    return v
  }
  i32(): number {
    this.#need(4, 'i32')
    const v = this.#view.getInt32(this.#pos)
    this.#pos += 4
    return v
  }
  i64(): number {
    this.#need(8, 'i64')
    const v = readInt64(this.#view, this.#pos)
    this.#pos += 8
    return v
  }
  f64(): number {
    this.#need(8, 'f64')
    const v = this.#view.getFloat64(this.#pos)
    this.#pos += 8
    return v
  }
  bool(): boolean {
    const v = this.u8()
    if (v > 1) throw new ProtocolError(`boolean byte is ${v}`)
    return v === 1
  }
  /** u32 length + bytes; returns a view into the frame (no copy). */
  bytes(): Uint8Array {
    const n = this.u32()
    this.#need(n, 'bytes')
    const v = this.#bytes.subarray(this.#pos, this.#pos + n)
    this.#pos += n
    return v
  }
  /** Everything left, as a view. */
  rest(): Uint8Array {
    const v = this.#bytes.subarray(this.#pos)
    this.#pos = this.#bytes.length
    return v
  }
  string(): string {
    const n = this.u16()
    return this.#utf8(n)
  }
  nullableString(): string | null {
    const n = this.i16()
    if (n === -1) return null
    if (n < 0) throw new ProtocolError(`string length ${n}`)
    return this.#utf8(n)
  }
  #utf8(n: number): string {
    this.#need(n, 'string')
    try {
      return decoder.decode(this.#bytes.subarray(this.#pos, (this.#pos += n)))
    } catch {
      throw new ProtocolError('string is not valid UTF-8')
    }
  }
  /** Reads a u32 element count and checks that count × minElementBytes fits in what is left. */
  count(minElementBytes: number): number {
    const n = this.u32()
    if (n * minElementBytes > this.remaining) throw new ProtocolError(`array of ${n} elements cannot fit in ${this.remaining} bytes`)
    return n
  }
  /** Asserts the message consumed every byte. */
  end(): void {
    if (this.#pos !== this.#bytes.length) throw new ProtocolError(`${this.#bytes.length - this.#pos} unexpected trailing bytes`)
  }
}
