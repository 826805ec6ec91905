/**
 * @module A TCP proxy (node:net) in front of a broker, for fault tests. It listens on 127.0.0.1 on a port that stays
 * the same for its whole life (so a browser page loaded through it keeps one ORIGIN, hence one IndexedDB), forwards
 * every connection to a target port that can be changed (a broker restarted on a new port), and can:
 * - `cut()`: destroy every open connection, both sides (the client sees an abrupt close, 1006 for a WebSocket);
 * - `block()` / `unblock()`: while blocked, new connections are accepted and destroyed at once (never forwarded).
 * - `dropReplies(true)`: bytes from the target to clients are discarded (requests still arrive: a broker appends
 *   and its acknowledgements are lost); follow with `cut()` before turning it off, the dropped bytes broke the stream.
 * - `blockSources([...])`: per-link faults. Each connection's source is read from its first bytes: a Samsa node's
 *   peer link asks for `/ws?peer=<id>&link=<kind>` (adapters/node/peer-hello.ts) and is `peer:<id>`, and also
 *   `peer:<id>/<kind>` (raft, controller or replica), so one kind of link can be cut alone; anything else is `client`.
 *   Open connections from a blocked source are cut, new ones are closed as soon as their first bytes name it.
 * `startTcpProxy(port)` and `url` / `accepted()` / `open()` / `cutAll()` are the short forms the integration tests use.
 */
import net from 'node:net'

export interface TcpProxyOptions {
  /** Port of the target on `targetHost`. Can be changed later with `setTarget`. */
  readonly targetPort: number
  readonly targetHost?: string
  /** Port to listen on, default 0 (an ephemeral port, stable for the proxy's life). */
  readonly listenPort?: number
}

export interface TcpProxyStats {
  /** Connections accepted and forwarded. */
  readonly accepted: number
  /** Connections refused because the proxy was blocked. */
  readonly refused: number
  /** Connections destroyed by `cut()`. */
  readonly cut: number
  /** Connections open right now. */
  readonly open: number
}

export interface TcpProxy {
  /** The port the proxy listens on. */
  readonly port: number
  /** `ws://127.0.0.1:PORT`: give this to clients instead of the broker's URL (same as wsUrl). */
  readonly url: string
  /** Connections accepted and forwarded so far. */
  readonly accepted: () => number
  /** Open proxied connections right now. */
  readonly open: () => number
  /** Same as cut(). */
  cutAll(): number
  /** `127.0.0.1:PORT` */
  readonly host: string
  /** `http://127.0.0.1:PORT` */
  readonly httpUrl: string
  /** `ws://127.0.0.1:PORT` */
  readonly wsUrl: string
  readonly blocked: boolean
  readonly stats: TcpProxyStats
  /** New connections go to this port from now on (open ones are left alone: `cut()` them if needed). */
  setTarget(port: number, host?: string): void
  /** Destroys every open connection, both sides. Returns how many were cut. */
  cut(): number
  /** Refuses (accepts and immediately destroys) every new connection until `unblock()`. */
  block(): void
  unblock(): void
  /** While on, everything the target sends to clients is discarded (client → target still flows). */
  dropReplies(on: boolean): void
  /** Bytes discarded by dropReplies so far. */
  readonly droppedBytes: number
  /** Cuts open connections from these sources and closes new ones (`client`, `peer:<id>`, `peer:<id>/<kind>`); replaces the previous set. */
  blockSources(sources: Iterable<string>): void
  /** Sources blocked now. */
  readonly blockedSources: ReadonlySet<string>
  /** Connections closed because their source was blocked (open ones cut, new ones refused). */
  readonly sourceRefusals: number
  /** Cuts everything and stops listening. */
  close(): Promise<void>
}

interface Pair {
  readonly client: net.Socket
  readonly upstream: net.Socket
  /** Read from the connection's first bytes (connectionSources); null until they arrive. */
  sources: readonly string[] | null
}

/**
 * The sources a connection's first bytes name: `peer:<id>` for a node's peer link (`GET /ws?peer=<id>`), followed by
 * `peer:<id>/<kind>` when the link names its kind (`&link=raft|controller|replica`); else `client`.
 */
export function connectionSources(firstBytes: Buffer): string[] {
  const line = firstBytes.subarray(0, Math.min(firstBytes.length, 512)).toString('latin1').split('\r\n', 1)[0]!
  const m = /^GET (\S*)/.exec(line)
  const query = m ? new URLSearchParams(m[1]!.split('?')[1] ?? '') : null
  const peer = query?.get('peer')
  if (!peer || !/^\d+$/.test(peer)) return ['client']
  const link = query!.get('link')
  return link && /^[a-z]+$/.test(link) ? [`peer:${peer}`, `peer:${peer}/${link}`] : [`peer:${peer}`]
}

/** The first of connectionSources: `peer:<id>` or `client`. */
export function connectionSource(firstBytes: Buffer): string {
  return connectionSources(firstBytes)[0]!
}

export async function startTcpProxy(target: TcpProxyOptions | number, targetHostArg?: string): Promise<TcpProxy> {
  const opts: TcpProxyOptions = typeof target === 'number' ? { targetPort: target, ...(targetHostArg !== undefined && { targetHost: targetHostArg }) } : target
  let targetPort = opts.targetPort
  let targetHost = opts.targetHost ?? '127.0.0.1'
  let blocked = false
  let accepted = 0
  let refused = 0
  let cutCount = 0
  let dropping = false
  let droppedBytes = 0
  let blockedSources = new Set<string>()
  let sourceRefusals = 0
  const pairs = new Set<Pair>()
  const sockets = new Set<net.Socket>()

  const server = net.createServer({ allowHalfOpen: false, pauseOnConnect: true }, (client) => {
    sockets.add(client)
    client.once('close', () => sockets.delete(client))
    client.on('error', () => {})
    if (blocked) {
      refused++
      client.destroy()
      return
    }
    accepted++
    client.setNoDelay(true)
    const upstream = net.connect({ port: targetPort, host: targetHost })
    upstream.setNoDelay(true)
    upstream.on('error', () => {})
    const pair: Pair = { client, upstream, sources: null }
    pairs.add(pair)
    const end = () => {
      if (!pairs.delete(pair)) return
      client.destroy()
      upstream.destroy()
    }
    client.once('close', end)
    upstream.once('close', end)
    upstream.once('connect', () => {
      client.once('data', (first: Buffer) => {
        pair.sources = connectionSources(first)
        if (pair.sources.some((s) => blockedSources.has(s))) {
          sourceRefusals++
          return end()
        }
        upstream.write(first)
        client.pipe(upstream)
      })
      upstream.on('data', (chunk: Buffer) => {
        if (dropping) {
          droppedBytes += chunk.length
          return
        }
        if (!client.write(chunk)) {
          upstream.pause()
          client.once('drain', () => upstream.resume())
        }
      })
      client.resume()
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.listenPort ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as net.AddressInfo).port

  const cut = () => {
    let n = 0
    for (const p of [...pairs]) {
      pairs.delete(p)
      // resetAndDestroy sends an RST where available: the peer sees an abrupt close, not a clean FIN.
      for (const s of [p.client, p.upstream]) {
        if (typeof s.resetAndDestroy === 'function' && !s.destroyed && s.readyState !== 'opening') s.resetAndDestroy()
        else s.destroy()
      }
      n++
    }
    cutCount += n
    return n
  }

  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    accepted: () => accepted,
    open: () => pairs.size,
    cutAll: cut,
    host: `127.0.0.1:${port}`,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    get blocked() {
      return blocked
    },
    get stats() {
      return { accepted, refused, cut: cutCount, open: pairs.size }
    },
    setTarget(p, host) {
      targetPort = p
      if (host !== undefined) targetHost = host
    },
    cut,
    block() {
      blocked = true
    },
    unblock() {
      blocked = false
    },
    dropReplies(on) {
      dropping = on
    },
    get droppedBytes() {
      return droppedBytes
    },
    blockSources(sources) {
      blockedSources = new Set(sources)
      for (const p of [...pairs]) {
        if (p.sources === null || !p.sources.some((s) => blockedSources.has(s))) continue
        pairs.delete(p)
        sourceRefusals++
        for (const sock of [p.client, p.upstream]) {
          if (typeof sock.resetAndDestroy === 'function' && !sock.destroyed && sock.readyState !== 'opening') sock.resetAndDestroy()
          else sock.destroy()
        }
      }
    },
    get blockedSources() {
      return blockedSources
    },
    get sourceRefusals() {
      return sourceRefusals
    },
    async close() {
      cut()
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
