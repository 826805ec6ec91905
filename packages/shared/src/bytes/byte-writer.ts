/** @module A growable big-endian byte writer for protocol messages. */
import { writeInt64 } from './int64.js'

const encoder = new TextEncoder()

/** DataView setters wrap or truncate silently; an out-of-range field is a caller bug and must not reach the wire as another number. */
function checkInt(v: number, min: number, max: number, type: string): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${v} is not a valid ${type}`)
}

export class ByteWriter {
  #buf: Uint8Array
  #view: DataView
  #pos = 0

  constructor(initialBytes = 256) {
    this.#buf = new Uint8Array(initialBytes)
    this.#view = new DataView(this.#buf.buffer)
  }

  get length(): number {
    return this.#pos
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return
    // Doubling, unless one write needs more than that (a record batch): then exactly enough plus room for a few fields,
    // so a 1 MiB batch costs one 1 MiB buffer rather than 2 MiB.
    const size = Math.max(this.#buf.length * 2, this.#pos + n + 64)
    const next = new Uint8Array(size)
    next.set(this.#buf.subarray(0, this.#pos))
    this.#buf = next
    this.#view = new DataView(next.buffer)
  }

  u8(v: number): this {
    checkInt(v, 0, 0xff, 'u8')
    this.#ensure(1)
    this.#view.setUint8(this.#pos, v)
    this.#pos += 1
    return this
  }
  i8(v: number): this {
    checkInt(v, -0x80, 0x7f, 'i8')
    this.#ensure(1)
    this.#view.setInt8(this.#pos, v)
    this.#pos += 1
    return this
  }
  u16(v: number): this {
    checkInt(v, 0, 0xffff, 'u16')
    this.#ensure(2)
    this.#view.setUint16(this.#pos, v)
    this.#pos += 2
    return this
  }
  i16(v: number): this {
    checkInt(v, -0x8000, 0x7fff, 'i16')
    this.#ensure(2)
    this.#view.setInt16(this.#pos, v)
    this.#pos += 2
    return this
  }
  u32(v: number): this {
    checkInt(v, 0, 0xffffffff, 'u32')
    this.#ensure(4)
    this.#view.setUint32(this.#pos, v)
    this.#pos += 4
    return this
  }
  i32(v: number): this {
    checkInt(v, -0x80000000, 0x7fffffff, 'i32')
    this.#ensure(4)
    this.#view.setInt32(this.#pos, v)
    this.#pos += 4
    return this
  }
  i64(v: number): this {
    this.#ensure(8)
    writeInt64(this.#view, this.#pos, v)
    this.#pos += 8
    return this
  }
  f64(v: number): this {
    this.#ensure(8)
    this.#view.setFloat64(this.#pos, v)
    this.#pos += 8
    return this
  }
  bool(v: boolean): this {
    return this.u8(v ? 1 : 0)
  }
  /** u32 length + raw bytes. */
  bytes(v: Uint8Array): this {
    this.u32(v.length)
    this.#ensure(v.length)
    this.#buf.set(v, this.#pos)
    this.#pos += v.length
    return this
  }
  /** Raw bytes with no length prefix (the rest of a frame). */
  raw(v: Uint8Array): this {
    this.#ensure(v.length)
    this.#buf.set(v, this.#pos)
    this.#pos += v.length
    return this
  }
  /** u16 length + UTF-8. */
  string(v: string): this {
    const b = encoder.encode(v)
    if (b.length > 0xffff) throw new RangeError('string longer than 65535 UTF-8 bytes')
    this.u16(b.length)
    return this.raw(b)
  }
  /** i16 length (-1 = null) + UTF-8. */
  nullableString(v: string | null): this {
    if (v === null) return this.i16(-1)
    const b = encoder.encode(v)
    if (b.length > 0x7fff) throw new RangeError('string longer than 32767 UTF-8 bytes')
    this.i16(b.length)
    return this.raw(b)
  }

  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#pos)
  }
}
