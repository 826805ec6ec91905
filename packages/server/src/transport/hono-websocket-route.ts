/**
 * @module /ws for runtimes whose WebSockets come through Hono's `upgradeWebSocket` (hono/bun, hono/deno): the
 * Origin/Host check before the upgrade (a refused one never becomes a WebSocket), then the socket bridge. Every
 * other request goes to the broker's app unchanged. Invariant: a runtime that does not tell its buffered bytes gets
 * slow-consumer protection from credit alone (maxCreditBytes); one that cannot pause reading holds frames that arrive
 * while output is over budget within maxBufferedBytes (session.ts).
 */
import { Hono, type Context } from 'hono'
import type { UpgradeWebSocket, WSContext } from 'hono/ws'
import type { Broker } from '../broker/broker.js'
import type { BrowserPolicy } from '../security/browser-policy.js'
import type { RefusalReporter } from '../security/browser-refusals.js'
import { HonoSessionEvents, WEBSOCKET_PATH, checkUpgrade, openSession, type BridgeSocket } from './session-bridge.js'

export interface HonoWebSocketDeps {
  readonly broker: Broker
  readonly app: Hono
  /** The runtime's own upgradeWebSocket (its socket and options types differ per runtime; neither is used here). */
  readonly upgradeWebSocket: UpgradeWebSocket<any, any>
  readonly remoteAddressOf: (c: Context) => string | undefined
  /** Bytes the runtime has queued on the socket; undefined when it does not tell (credit alone then). */
  readonly bufferedAmount?: (ws: WSContext) => number
  /** Called once per accepted socket before any frame (e.g. ask for ArrayBuffer frames instead of Blobs). */
  readonly prepare?: (ws: WSContext) => void
  readonly browserPolicy?: BrowserPolicy
  readonly refused?: RefusalReporter
}

export interface HonoWebSocketApp {
  /** /ws upgrades, everything else `deps.app`. */
  readonly app: Hono
  /** Closes every open connection (shutdown: 1001). */
  closeAll(code: number, reason: string): void
}

export function withHonoWebSocket(deps: HonoWebSocketDeps): HonoWebSocketApp {
  const root = new Hono()
  const open = new Set<WSContext>()
  const upgrade = deps.upgradeWebSocket((c: Context) => {
    const remoteAddress = deps.remoteAddressOf(c)
    return new HonoSessionEvents<WSContext>((ws) => {
      deps.prepare?.(ws)
      const bridged = openSession(deps.broker, bridgeSocket(ws, deps.bufferedAmount), remoteAddress !== undefined ? { remoteAddress } : {})
      if (!bridged) return null
      open.add(ws)
      return { ...bridged, closed: () => (open.delete(ws), bridged.closed()) }
    })
  })
  root.get(WEBSOCKET_PATH, async (c, next) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return deps.app.fetch(c.req.raw, c.env)
    const refusal = checkUpgrade(deps.browserPolicy, deps.refused, { origin: c.req.header('origin'), host: c.req.header('host') }, deps.remoteAddressOf(c))
    if (refusal) return c.text(`${refusal.message}\n`, refusal.status)
    return (await upgrade(c, next)) ?? c.text('WebSocket upgrade failed\n', 400)
  })
  root.all('*', (c) => deps.app.fetch(c.req.raw, c.env))
  return {
    app: root,
    closeAll: (code, reason) => {
      for (const ws of open) ws.close(code, reason)
    },
  }
}

function bridgeSocket(ws: WSContext, bufferedAmount: ((ws: WSContext) => number) | undefined): BridgeSocket {
  return {
    send: (frame) => ws.send(arrayBufferView(frame)),
    close: (code, reason) => ws.close(code, reason),
    ...(bufferedAmount ? { bufferedAmount: () => bufferedAmount(ws) } : {}),
  }
}

/** The same bytes as a view on a plain ArrayBuffer (what Hono's send takes); copied only when backed by a SharedArrayBuffer. */
function arrayBufferView(frame: Uint8Array): Uint8Array<ArrayBuffer> {
  const buffer = frame.buffer
  return buffer instanceof ArrayBuffer ? new Uint8Array(buffer, frame.byteOffset, frame.byteLength) : new Uint8Array(frame)
}
