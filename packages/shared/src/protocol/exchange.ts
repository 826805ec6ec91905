/** @module The shape every request/response pair implements: one file per exchange under messages/. */
import type { ByteReader } from '../bytes/byte-reader.js'
import type { ByteWriter } from '../bytes/byte-writer.js'

export interface Exchange<Req, Res> {
  readonly apiKey: number
  readonly name: string
  encodeRequest(w: ByteWriter, req: Req): void
  /** Throws ProtocolError only; never trusts a length it has not checked. */
  decodeRequest(r: ByteReader): Req
  encodeResponse(w: ByteWriter, res: Res): void
  decodeResponse(r: ByteReader): Res
}

export type RequestOf<E> = E extends Exchange<infer Req, unknown> ? Req : never
export type ResponseOf<E> = E extends Exchange<unknown, infer Res> ? Res : never
