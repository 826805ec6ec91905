/**
 * @module The shape every request/response pair implements: one file per exchange under messages/. An exchange the
 * SDK sends also exports its client side apart (`<name>ClientSide`: the request's encoder and the response's decoder)
 * and builds the whole exchange from it with `withBrokerSide`, so the SDK's import graph holds one codec per exchange
 * without the broker's halves (the request's decoder and the response's encoder).
 */
import type { ByteReader } from '../bytes/byte-reader.js'
import type { ByteWriter } from '../bytes/byte-writer.js'

/** The half of an exchange a client uses. */
export interface ClientExchange<Req, Res> {
  readonly apiKey: number
  readonly name: string
  encodeRequest(w: ByteWriter, req: Req): void
  /**
   * Optional: the request frame when the request's trailing payload was encoded after room for the frame's head
   * (produce: `encodeBatchInFrame`), so the payload is not copied: `head` holds the frame header; the exchange writes
   * its fields there and then into that room. Checks the room before writing anything; null: encode as usual.
   */
  frameInPlace?(head: ByteWriter, req: Req): Uint8Array | null
  decodeResponse(r: ByteReader): Res
}

export interface Exchange<Req, Res> extends ClientExchange<Req, Res> {
  /** Throws ProtocolError only; never trusts a length it has not checked. */
  decodeRequest(r: ByteReader): Req
  encodeResponse(w: ByteWriter, res: Res): void
}

/** The half of an exchange a broker adds to the client's. */
export type BrokerSide<Req, Res> = Pick<Exchange<Req, Res>, 'decodeRequest' | 'encodeResponse'>

/** The whole exchange: the client's side and the broker's. Free of side effects (call sites mark it pure). */
export function withBrokerSide<Req, Res>(client: ClientExchange<Req, Res>, broker: BrokerSide<Req, Res>): Exchange<Req, Res> {
  return { ...client, ...broker }
}

export type RequestOf<E> = E extends ClientExchange<infer Req, unknown> ? Req : never
export type ResponseOf<E> = E extends ClientExchange<unknown, infer Res> ? Res : never
