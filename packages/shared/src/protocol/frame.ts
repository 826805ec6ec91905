/**
 * @module Frames: one binary WebSocket message each.
 *
 * Header (8 bytes): apiKey u16, apiVersion u16, correlationId u32, then the body.
 * Request body: the exchange's request layout.
 * Response body: errorCode i16; if 0, the exchange's response layout; otherwise
 *   message string(u16 len), detailCount u8, [key string, value f64]… (numeric details such as logStartOffset).
 */
import { ByteReader } from '../bytes/byte-reader.js'
import { ByteWriter } from '../bytes/byte-writer.js'
import { ProtocolError, SamsaError, type ErrorDetails } from '../errors.js'
import type { ClientExchange, Exchange } from './exchange.js'

export const FRAME_HEADER_BYTES = 8

export interface FrameHeader {
  readonly apiKey: number
  readonly apiVersion: number
  readonly correlationId: number
}

export function readFrameHeader(bytes: Uint8Array): FrameHeader {
  if (bytes.length < FRAME_HEADER_BYTES) throw new ProtocolError(`frame of ${bytes.length} bytes is shorter than its ${FRAME_HEADER_BYTES}-byte header`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, FRAME_HEADER_BYTES)
  return { apiKey: view.getUint16(0), apiVersion: view.getUint16(2), correlationId: view.getUint32(4) }
}

function header(w: ByteWriter, apiKey: number, apiVersion: number, correlationId: number): ByteWriter {
  return w.u16(apiKey).u16(apiVersion).u32(correlationId)
}

export function encodeRequestFrame<Req>(exchange: ClientExchange<Req, unknown>, apiVersion: number, correlationId: number, req: Req, sizeHint = 64): Uint8Array {
  const w = header(new ByteWriter(sizeHint), exchange.apiKey, apiVersion, correlationId)
  const inPlace = exchange.frameInPlace?.(w, req) ?? null
  if (inPlace !== null) return inPlace
  exchange.encodeRequest(w, req)
  return w.finish()
}

export function encodeResponseFrame<Res>(exchange: Exchange<unknown, Res>, apiVersion: number, correlationId: number, res: Res, sizeHint = 64): Uint8Array {
  const w = header(new ByteWriter(sizeHint), exchange.apiKey, apiVersion, correlationId).i16(0)
  exchange.encodeResponse(w, res)
  return w.finish()
}

export function encodeErrorFrame(apiKey: number, apiVersion: number, correlationId: number, error: SamsaError): Uint8Array {
  if (error.code === 0) throw new RangeError('an error frame cannot carry errorCode 0 (NONE): it would read as a success')
  const w = header(new ByteWriter(128), apiKey, apiVersion, correlationId).i16(error.code)
  writeErrorBody(w, error)
  return w.finish()
}

export function writeErrorBody(w: ByteWriter, error: SamsaError): void {
  w.string(truncateMessage(error.message))
  const entries = Object.entries(error.details).slice(0, 255)
  w.u8(entries.length)
  for (const [k, v] of entries) w.string(k).f64(v)
}

export function readErrorBody(r: ByteReader, code: number): SamsaError {
  const message = r.string()
  const n = r.u8()
  const entries: [string, number][] = []
  for (let i = 0; i < n; i++) entries.push([r.string(), r.f64()])
  // fromEntries defines own properties, so a detail named "__proto__" stays a detail rather than being dropped.
  return SamsaError.fromCode(code, message, Object.fromEntries(entries) as ErrorDetails)
}

function truncateMessage(m: string): string {
  return m.length > 1000 ? `${m.slice(0, 997)}...` : m
}

/** A response frame split into its header and either an error or a reader positioned at the body. */
export type DecodedResponse =
  | { readonly header: FrameHeader; readonly error: SamsaError; readonly body: null }
  | { readonly header: FrameHeader; readonly error: null; readonly body: ByteReader }

export function decodeResponseFrame(bytes: Uint8Array): DecodedResponse {
  const h = readFrameHeader(bytes)
  const r = new ByteReader(bytes, FRAME_HEADER_BYTES)
  const code = r.i16()
  if (code !== 0) {
    const error = readErrorBody(r, code)
    r.end()
    return { header: h, error, body: null }
  }
  return { header: h, error: null, body: r }
}
