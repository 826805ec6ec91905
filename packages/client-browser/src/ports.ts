/** @module The ports the SDK takes from its caller (clock, random, logger, WebSocket) and their browser defaults. */

/** Opaque handle returned by Clock.setTimeout. */
export type TimerHandle = unknown

export interface Clock {
  /** Wall-clock ms since the epoch (record timestamps). */
  now(): number
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(timer: TimerHandle): void
  /**
   * Optional: runs fn as soon as the current task and its microtasks are done (Node's setImmediate; a MessageChannel
   * message in browsers). The producer uses it for lingerMs 0; without it, setTimeout(fn, 0).
   */
  setImmediate?(fn: () => void): void
}

/** Returns a float in [0, 1). */
export type Random = () => number

export { silentLogger, type Logger } from '@samsa/shared'

/** setImmediate where the runtime has it, else a MessageChannel (created on first use), else setTimeout(fn, 0). */
function systemSetImmediate(): (fn: () => void) => void {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown; MessageChannel?: typeof MessageChannel }
  if (typeof g.setImmediate === 'function') {
    const setImmediate = g.setImmediate
    return (fn) => void setImmediate(fn)
  }
  if (typeof g.MessageChannel === 'function') {
    const Channel = g.MessageChannel
    let channel: MessageChannel | null = null
    const queue: (() => void)[] = []
    return (fn) => {
      if (channel === null) {
        channel = new Channel()
        channel.port1.onmessage = () => queue.shift()?.()
      }
      queue.push(fn)
      channel.port2.postMessage(null)
    }
  }
  return (fn) => void globalThis.setTimeout(fn, 0)
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (t) => globalThis.clearTimeout(t as ReturnType<typeof globalThis.setTimeout>),
  setImmediate: systemSetImmediate(),
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
