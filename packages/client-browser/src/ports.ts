/** @module The ports the SDK takes from its caller (clock, random, logger, WebSocket) and their browser defaults. */

/** Opaque handle returned by Clock.setTimeout. */
export type TimerHandle = unknown

export interface Clock {
  /** Wall-clock ms since the epoch (record timestamps). */
  now(): number
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(timer: TimerHandle): void
}

/** Returns a float in [0, 1). */
export type Random = () => number

/** Structured logger, pino-compatible: fields first, message second. */
export interface Logger {
  debug(fields: object, msg?: string): void
  info(fields: object, msg?: string): void
  warn(fields: object, msg?: string): void
  error(fields: object, msg?: string): void
  child(bindings: object): Logger
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger
  },
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (t) => globalThis.clearTimeout(t as ReturnType<typeof globalThis.setTimeout>),
}

/** The subset of the WHATWG WebSocket the SDK uses; both the browser's and `ws`'s satisfy it. */
export interface WebSocketLike {
  binaryType: string
  readonly readyState: number
  send(data: Uint8Array): void
  close(code?: number, reason?: string): void
  // The listener takes `any` so that both the DOM WebSocket and ws's generic overloads are assignable.
  addEventListener(type: 'open' | 'close' | 'message' | 'error', listener: (event: any) => void): void
}

export type WebSocketConstructor = new (url: string) => WebSocketLike

export function defaultWebSocket(): WebSocketConstructor {
  const ctor = (globalThis as { WebSocket?: unknown }).WebSocket
  if (typeof ctor !== 'function') {
    throw new TypeError(
      "No global WebSocket constructor. In Node, install 'ws' and pass it: createClient({ brokers, WebSocket }) with `import WebSocket from 'ws'`.",
    )
  }
  return ctor as WebSocketConstructor
}
