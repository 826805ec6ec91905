/**
 * @module produce: appends one record batch to one partition.
 * With acks 0 the broker sends no response at all.
 *
 * Request:  topic string, partition i32, acks i8 (−1 all, 1 leader, 0 none), timeoutMs u32, batch (the rest of the frame: one RecordBatch v2)
 * Response: baseOffset i64, logAppendTimeMs i64, logStartOffset i64, duplicate bool (true = a resend of a batch already in the log; baseOffset is the original)
 *
 * A producer encodes its batch straight into the frame (`encodeBatchInFrame`: room for the head, then the batch); the
 * head is written into that room at each send (`frameInPlace`), so a batch is never copied into a frame. Invariant:
 * only the head is ever written; the batch bytes (and so a view of them kept elsewhere, the outbox) never change.
 */
import type { ByteWriter } from '../../bytes/byte-writer.js'
import { crc32c } from '../../bytes/crc32c.js'
import { utf8ByteLength } from '../../bytes/utf8.js'
import { encodeRecordBatchAfter, type BatchInput, type Crc32cFn } from '../../records/record-batch.js'
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'
import { FRAME_HEADER_BYTES } from '../frame.js'

export const Acks = { ALL: -1, LEADER: 1, NONE: 0 } as const

export interface ProduceRequest {
  readonly topic: string
  readonly partition: number
  readonly acks: number
  readonly timeoutMs: number
  readonly batch: Uint8Array
  /**
   * The frame `batch` was encoded in (`encodeBatchInFrame`: `batch` is its end): sent with its head written in place
   * rather than copied into a new frame. Absent (or not holding `batch` after a head's room): encoded as usual.
   */
  readonly frame?: Uint8Array
}

export interface ProduceResponse {
  readonly baseOffset: number
  readonly logAppendTimeMs: number
  readonly logStartOffset: number
  readonly duplicate: boolean
}

/** Bytes of a produce request frame before its batch: frame header, topic (u16 length + UTF-8), partition, acks, timeoutMs. */
export function produceFrameHeadBytes(topic: string): number {
  return FRAME_HEADER_BYTES + 2 + utf8ByteLength(topic) + 4 + 1 + 4
}

/** A produce frame for `topic` with its batch encoded in place: `batch` is `frame`'s end, after the head's room. */
export function encodeBatchInFrame(topic: string, input: BatchInput, crc: Crc32cFn = crc32c): { readonly frame: Uint8Array; readonly batch: Uint8Array } {
  const head = produceFrameHeadBytes(topic)
  const frame = encodeRecordBatchAfter(head, input, crc)
  return { frame, batch: frame.subarray(head) }
}

const writeFields = (w: ByteWriter, q: ProduceRequest): ByteWriter => w.string(q.topic).i32(q.partition).i8(q.acks).u32(q.timeoutMs)

/** `q.frame` when it ends with `q.batch` (same memory) after exactly a head's room for `q.topic`; else null. */
function inPlaceFrame(q: ProduceRequest): Uint8Array | null {
  const { frame, batch } = q
  if (frame === undefined || frame.buffer !== batch.buffer || frame.byteOffset + frame.length !== batch.byteOffset + batch.length) return null
  const head = batch.byteOffset - frame.byteOffset
  return head === produceFrameHeadBytes(q.topic) ? frame : null
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const produceClientSide: ClientExchange<ProduceRequest, ProduceResponse> = {
  apiKey: ApiKeys.PRODUCE,
  name: 'produce',
  encodeRequest: (w, q) => void writeFields(w, q).raw(q.batch),
  frameInPlace: (head, q) => {
    const frame = inPlaceFrame(q)
    frame?.set(writeFields(head, q).finish())
    return frame
  },
  decodeResponse: (r) => {
    const s = { baseOffset: r.i64(), logAppendTimeMs: r.i64(), logStartOffset: r.i64(), duplicate: r.bool() }
    r.end()
    return s
  },
}

export const produce: Exchange<ProduceRequest, ProduceResponse> = /* @__PURE__ */ withBrokerSide(produceClientSide, {
  decodeRequest: (r) => ({ topic: r.string(), partition: r.i32(), acks: r.i8(), timeoutMs: r.u32(), batch: r.rest() }),
  encodeResponse: (w, s) => void w.i64(s.baseOffset).i64(s.logAppendTimeMs).i64(s.logStartOffset).bool(s.duplicate),
})
