/**
 * @module The on-disk format of the controller's Raft state: file names, and the codecs of its three kinds of file.
 *
 * Files, under one directory:
 *   hardstate                 version u8 (1), term i64, vote u32, commit i64, crc32c u32 (of the preceding bytes).
 *   snapshot                  version u8 (1), index i64, term i64, voterCount u32, [u32]…, learnerCount u32, [u32]…,
 *                             dataLength u32, data, crc32c u32 (of the preceding bytes).
 *   log-<firstIndex:20>.raft  append-only segments of records: length u32 (of the payload), crc32c u32 (of the
 *                             payload), payload = term i64, index i64, data. Indexes are consecutive across segments.
 *
 * Invariants: every decoder checks the CRC and the format version before it trusts a byte, and reports damage as a
 * RaftStorageDamageError (whole files) or a reason string (one log record: the store decides whether it is an unsynced
 * tail or committed damage). Pure: no I/O.
 */
import { ByteReader, ByteWriter, crc32c as jsCrc32c, type Crc32cFn } from '@samsa/shared'
import type { Entry, HardState, Snapshot } from './raft/index.js'

export class RaftStorageDamageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RaftStorageDamageError'
  }
}

export const HARD_STATE_FILE = 'hardstate'
export const SNAPSHOT_FILE = 'snapshot'
const FORMAT_VERSION = 1
const RECORD_HEADER_BYTES = 8
const PAYLOAD_FIXED_BYTES = 16
const SEGMENT_RE = /^log-(\d{20})\.raft$/

export const segmentName = (firstIndex: number): string => `log-${String(firstIndex).padStart(20, '0')}.raft`

/** The first index a segment file's name carries; undefined for a name that is not a segment's. */
export function segmentFirstIndex(name: string): number | undefined {
  const m = SEGMENT_RE.exec(name)
  return m ? Number(m[1]) : undefined
}

export function encodeRecord(e: Entry, crc: Crc32cFn): Uint8Array {
  const length = PAYLOAD_FIXED_BYTES + e.data.length
  const out = new ByteWriter(RECORD_HEADER_BYTES + length).u32(length).u32(0).i64(e.term).i64(e.index).raw(e.data).finish()
  new DataView(out.buffer, out.byteOffset).setUint32(4, crc(out, RECORD_HEADER_BYTES, out.length))
  return out
}

/** Why the record at pos is not entry `index`, or null when it is whole and intact. */
export function checkRecord(bytes: Uint8Array, pos: number, index: number, crc: Crc32cFn): string | null {
  if (bytes.length - pos < RECORD_HEADER_BYTES) return 'is torn (short header)'
  const view = new DataView(bytes.buffer, bytes.byteOffset + pos)
  const length = view.getUint32(0)
  if (length < PAYLOAD_FIXED_BYTES) return `has an impossible length ${length}`
  if (bytes.length - pos - RECORD_HEADER_BYTES < length) return 'is torn (short payload)'
  const start = pos + RECORD_HEADER_BYTES
  if (crc(bytes, start, start + length) !== view.getUint32(4)) return 'fails its CRC'
  const at = Number(view.getBigInt64(RECORD_HEADER_BYTES + 8))
  if (at !== index) return `carries index ${at}`
  return null
}

/** The entry in the record at pos, which checkRecord found intact, and the position of the next record. */
export function decodeRecord(bytes: Uint8Array, pos: number, index: number): { entry: Entry; next: number } {
  const length = new DataView(bytes.buffer, bytes.byteOffset + pos).getUint32(0)
  const payload = new ByteReader(bytes.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + length))
  const term = payload.i64()
  payload.i64()
  return { entry: { term, index, data: payload.rest().slice() }, next: pos + RECORD_HEADER_BYTES + length }
}

function withCrc(w: ByteWriter, crc: Crc32cFn): Uint8Array {
  const body = w.finish()
  const out = new Uint8Array(body.length + 4)
  out.set(body)
  new DataView(out.buffer).setUint32(body.length, crc(body, 0, body.length))
  return out
}

function checkedBody(bytes: Uint8Array, crc: Crc32cFn, what: string): ByteReader {
  if (bytes.length < 5) throw new RaftStorageDamageError(`raft ${what} file is ${bytes.length} bytes long`)
  const end = bytes.length - 4
  if (crc(bytes, 0, end) !== new DataView(bytes.buffer, bytes.byteOffset).getUint32(end)) throw new RaftStorageDamageError(`raft ${what} file fails its CRC`)
  const r = new ByteReader(bytes.subarray(0, end))
  const version = r.u8()
  if (version !== FORMAT_VERSION) throw new RaftStorageDamageError(`raft ${what} file has format version ${version}`)
  return r
}

export function encodeHardState(hs: HardState, crc: Crc32cFn = jsCrc32c): Uint8Array {
  return withCrc(new ByteWriter(32).u8(FORMAT_VERSION).i64(hs.term).u32(hs.vote).i64(hs.commit), crc)
}

export function decodeHardState(bytes: Uint8Array, crc: Crc32cFn): HardState {
  const r = checkedBody(bytes, crc, 'hard state')
  try {
    const hs = { term: r.i64(), vote: r.u32(), commit: r.i64() }
    r.end()
    return hs
  } catch (e) {
    throw new RaftStorageDamageError(`raft hard state file is malformed: ${(e as Error).message}`)
  }
}

export function encodeSnapshot(s: Snapshot, crc: Crc32cFn): Uint8Array {
  const { index, term, voters, learners } = s.metadata
  const w = new ByteWriter(64 + s.data.length).u8(FORMAT_VERSION).i64(index).i64(term).u32(voters.length)
  for (const v of voters) w.u32(v)
  w.u32(learners.length)
  for (const l of learners) w.u32(l)
  return withCrc(w.bytes(s.data), crc)
}

export function decodeSnapshot(bytes: Uint8Array, crc: Crc32cFn): Snapshot {
  const r = checkedBody(bytes, crc, 'snapshot')
  try {
    const index = r.i64()
    const term = r.i64()
    const voters = Array.from({ length: r.count(4) }, () => r.u32())
    const learners = Array.from({ length: r.count(4) }, () => r.u32())
    const data = r.bytes().slice()
    r.end()
    return { metadata: { index, term, voters, learners }, data }
  } catch (e) {
    throw new RaftStorageDamageError(`raft snapshot file is malformed: ${(e as Error).message}`)
  }
}
