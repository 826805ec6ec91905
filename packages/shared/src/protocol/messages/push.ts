/**
 * @module push: server → client frames for a subscription (apiKey PUSH, correlationId 0).
 *
 * Body: subscriptionId u32, kind u8
 *   kind 0 (records): highWatermark i64, logStartOffset i64, records (the rest: one or more whole RecordBatch v2)
 *   kind 1 (ended):   errorCode i16, message string(u16), detailCount u8, [key string, value f64]…   no push follows for this id
 */
import { ByteReader } from '../../bytes/byte-reader.js'
import { ByteWriter } from '../../bytes/byte-writer.js'
import { ProtocolError, type SamsaError } from '../../errors.js'
import { ApiKeys } from '../api-keys.js'
import { FRAME_HEADER_BYTES, readErrorBody, readFrameHeader, writeErrorBody } from '../frame.js'

export type Push =
  | { readonly kind: 'records'; readonly subscriptionId: number; readonly highWatermark: number; readonly logStartOffset: number; readonly records: Uint8Array }
  | { readonly kind: 'ended'; readonly subscriptionId: number; readonly error: SamsaError }

/** Bytes a records push adds around its records. */
export const PUSH_RECORDS_OVERHEAD = FRAME_HEADER_BYTES + 4 + 1 + 8 + 8

export function encodePushRecords(apiVersion: number, subscriptionId: number, highWatermark: number, logStartOffset: number, records: Uint8Array): Uint8Array {
  return new ByteWriter(PUSH_RECORDS_OVERHEAD + records.length)
    .u16(ApiKeys.PUSH).u16(apiVersion).u32(0)
    .u32(subscriptionId).u8(0).i64(highWatermark).i64(logStartOffset).raw(records)
    .finish()
}

export function encodePushEnded(apiVersion: number, subscriptionId: number, error: SamsaError): Uint8Array {
  const w = new ByteWriter(128).u16(ApiKeys.PUSH).u16(apiVersion).u32(0).u32(subscriptionId).u8(1).i16(error.code)
  writeErrorBody(w, error)
  return w.finish()
}

export function decodePush(bytes: Uint8Array): Push {
  const h = readFrameHeader(bytes)
  if (h.apiKey !== ApiKeys.PUSH) throw new ProtocolError(`not a push frame (apiKey ${h.apiKey})`)
  const r = new ByteReader(bytes, FRAME_HEADER_BYTES)
  const subscriptionId = r.u32()
  const kind = r.u8()
  if (kind === 0) return { kind: 'records', subscriptionId, highWatermark: r.i64(), logStartOffset: r.i64(), records: r.rest() }
  if (kind === 1) {
    const error = readErrorBody(r, r.i16())
    r.end()
    return { kind: 'ended', subscriptionId, error }
  }
  throw new ProtocolError(`unknown push kind ${kind}`)
}
