/**
 * @module What of a connection survives the Durable Object's hibernation, in the socket's attachment (≤ 2 KiB):
 * the client's accepted hello frame (replayed into a new Session on wake, its answer not sent again), the client
 * address, and whether the connection ever subscribed. Subscriptions are memory (positions, credit, parked reads):
 * a connection that had one is closed on wake with 1013 so the SDK reconnects and subscribes again from its
 * positions; any other connection carries on unnoticed. A hello too large to keep (a long token) is not kept, and
 * that connection too is closed on wake.
 */
import { ApiKeys, FRAME_HEADER_BYTES, readFrameHeader } from '@samsa/shared'

export interface SessionAttachment {
  readonly hello: ArrayBuffer | null
  readonly remoteAddress: string | null
  readonly subscribed: boolean
}

/** Attachments are limited to 2,048 bytes serialized; leave room for the other fields. */
const MAX_KEPT_HELLO_BYTES = 1_536

export function emptyAttachment(remoteAddress: string | null): SessionAttachment {
  return { hello: null, remoteAddress, subscribed: false }
}

/** The attachment after `frame` arrived, or null when it does not change (most frames: checked by header only). */
export function attachmentAfter(current: SessionAttachment, frame: Uint8Array): SessionAttachment | null {
  if (frame.byteLength < FRAME_HEADER_BYTES) return null
  const { apiKey } = readFrameHeader(frame)
  // The latest hello: a refused one (a version the broker does not speak) is followed by another the client sends.
  if (apiKey === ApiKeys.HELLO) return { ...current, hello: frame.byteLength <= MAX_KEPT_HELLO_BYTES ? copy(frame) : null }
  if (apiKey === ApiKeys.SUBSCRIBE && !current.subscribed) return { ...current, subscribed: true }
  return null
}

export function parseAttachment(value: unknown): SessionAttachment | null {
  if (typeof value !== 'object' || value === null) return null
  const hello: unknown = Reflect.get(value, 'hello')
  const remoteAddress: unknown = Reflect.get(value, 'remoteAddress')
  const subscribed: unknown = Reflect.get(value, 'subscribed')
  return {
    hello: hello instanceof ArrayBuffer ? hello : null,
    remoteAddress: typeof remoteAddress === 'string' ? remoteAddress : null,
    subscribed: subscribed === true,
  }
}

/** The correlation id of a frame (request or response: the same 8-byte header). */
export function correlationIdOf(frame: Uint8Array): number {
  return frame.byteLength >= FRAME_HEADER_BYTES ? readFrameHeader(frame).correlationId : -1
}

function copy(frame: Uint8Array): ArrayBuffer {
  const out = new Uint8Array(frame.byteLength)
  out.set(frame)
  return out.buffer
}
