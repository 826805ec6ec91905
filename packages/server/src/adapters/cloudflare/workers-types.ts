/**
 * @module The few Cloudflare Workers runtime shapes the adapter uses (a Durable Object's state and storage,
 * hibernatable WebSockets, `WebSocketPair`), written out here instead of depending on @cloudflare/workers-types.
 * Only files of adapters/cloudflare import this, and only the Worker entry's module graph touches these globals.
 */
import type { SqlDatabase } from './sql-log-storage.js'
import type { AlarmStorage } from './alarm-clock.js'

/** The server end of a WebSocket inside a Durable Object. */
export interface ObjectWebSocket {
  send(data: ArrayBuffer | ArrayBufferView | string): void
  close(code?: number, reason?: string): void
  /** Accepts the socket outside the hibernation API (the object stays awake while it is open). */
  accept(): void
  /** Survives hibernation; at most 2,048 bytes once serialized. */
  serializeAttachment(value: unknown): void
  deserializeAttachment(): unknown
}

export interface ObjectStorage extends AlarmStorage {
  readonly sql: Pick<SqlDatabase, 'exec'>
  transactionSync<T>(fn: () => T): T
}

export interface DurableObjectContext {
  readonly storage: ObjectStorage
  /** Hibernation API: the runtime holds the socket while the object sleeps and calls webSocketMessage/Close on it. */
  acceptWebSocket(ws: ObjectWebSocket, tags?: string[]): void
  getWebSockets(tag?: string): ObjectWebSocket[]
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>
}

export interface DurableObjectStub {
  fetch(request: Request): Promise<Response>
}

export interface DurableObjectNamespaceBinding {
  idFromName(name: string): unknown
  get(id: unknown): DurableObjectStub
}

/** The runtime's WebSocketPair: index 0 goes back to the client in the 101 response, 1 stays in the object. */
export function webSocketPair(): { client: unknown; server: ObjectWebSocket } {
  const Pair: unknown = Reflect.get(globalThis, 'WebSocketPair')
  if (typeof Pair !== 'function') throw new Error('WebSocketPair is missing: this code runs only on Cloudflare Workers (workerd)')
  const pair: unknown = Reflect.construct(Pair, [])
  const client: unknown = Reflect.get(Object(pair), 0)
  const server: unknown = Reflect.get(Object(pair), 1)
  if (!isObjectWebSocket(server)) throw new Error('WebSocketPair gave no server socket')
  return { client, server }
}

export function isObjectWebSocket(ws: unknown): ws is ObjectWebSocket {
  return typeof ws === 'object' && ws !== null && typeof Reflect.get(ws, 'send') === 'function' && typeof Reflect.get(ws, 'serializeAttachment') === 'function'
}

/** A 101 response handing `client` to the caller (workerd's `webSocket` response field). */
export function upgradeResponse(client: unknown): Response {
  const init: ResponseInit & { webSocket: unknown } = { status: 101, webSocket: client }
  return new Response(null, init)
}
