/** @module The shape every request/response pair implements: one file per exchange under messages/. */
import type { ByteReader } from '../bytes/byte-reader.js'
import type { ByteWriter } from '../bytes/byte-writer.js'

export interface Exchange<Req, Res> {
  readonly apiKey: number
  readonly name: string
  encodeRequest(w: ByteWriter, req: Req): void
  /**
   * Optional: the request frame when the request's trailing payload was encoded after room for the frame's head
   * (produce: `encodeBatchInFrame`), so the payload is not copied: `head` holds the frame header; the exchange writes
   * its fields there and then into that room. Checks the room before writing anything; null: encode as usual.
   */
  frameInPlace?(head: ByteWriter, req: Req): Uint8Array | null
  /** Throws ProtocolError only; never trusts a length it has not checked. */
  decodeRequest(r: ByteReader): Req
  encodeResponse(w: ByteWriter, res: Res): void
  decodeResponse(r: ByteReader): Res
}

export type RequestOf<E> = E extends Exchange<infer Req, unknown> ? Req : never
export type ResponseOf<E> = E extends Exchange<unknown, infer Res> ? Res : never
