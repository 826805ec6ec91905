/**
 * @module A TCP proxy (node:net) in front of a broker, for fault tests. It listens on 127.0.0.1 on a port that stays
 * the same for its whole life (so a browser page loaded through it keeps one ORIGIN, hence one IndexedDB), forwards
 * every connection to a target port that can be changed (a broker restarted on a new port), and can:
 * - `cut()`: destroy every open connection, both sides (the client sees an abrupt close, 1006 for a WebSocket);
 * - `block()` / `unblock()`: while blocked, new connections are accepted and destroyed at once (never forwarded).
 * - `dropReplies(true)`: bytes from the target to clients are discarded (requests still arrive: a broker appends
 *   and its acknowledgements are lost); follow with `cut()` before turning it off, the dropped bytes broke the stream.
 * - `blockSources([...])`: per-link faults. Each connection's source is read from its first bytes: a Samsa node's
 *   peer link asks for `/ws?peer=<id>` (adapters/node/peer-hello.ts) and is `peer:<id>`; anything else is `client`.
 *   Open connections from a blocked source are cut, new ones are closed as soon as their first bytes name it.
 * - `blackholeSources([...])`: a blackhole, as a dropping firewall makes one. Bytes of a blackholed source's connections
 *   are discarded both ways and no close crosses the hole: when one side closes (the target is killed, the client
 *   gives up), the other side's half stays open and hears nothing. New connections from the source are accepted and
 *   never answered (a client that connects to a dead target while blackholed hears silence, not a refusal). Each side
 *   finds out only by its own timeouts. When the source leaves the set, its connections that lost bytes or a side are
 *   reset on both sides (their streams are broken); those that lost nothing carry on.
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
  /**
   * Blackholes these sources (`client`, `peer:<id>`), replacing the previous set: their connections, open and new,
   * forward nothing either way and pass no close on. Connections of a source taken out of the set are reset on both
   * sides if the hole damaged them (bytes discarded, a side closed), else they carry on.
   */
  blackholeSources(sources: Iterable<string>): void
  /** Sources blackholed now. */
  readonly blackholedSources: ReadonlySet<string>
  /** Bytes discarded by the blackhole so far (both directions). */
  readonly blackholedBytes: number
  /** Closes (of either side) the blackhole kept from the other side so far. */
  readonly blackholedCloses: number
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
  clientGone: boolean
  upstreamGone: boolean
  /** The blackhole discarded bytes or kept a close from it: the streams no longer match, it is reset when the hole lifts. */
  damaged: boolean
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
  let holes = new Set<string>()
  let blackholedBytes = 0
  let blackholedCloses = 0
  const pairs = new Set<Pair>()
  const sockets = new Set<net.Socket>()

  const inHole = (p: Pair) => p.sources !== null && p.sources.some((x) => holes.has(x))
  /** Destroys both sides (an RST where available: the peer sees an abrupt close, not a clean FIN). */
  const reset = (p: Pair) => {
    pairs.delete(p)
    for (const s of [p.client, p.upstream]) {
      if (typeof s.resetAndDestroy === 'function' && !s.destroyed && s.readyState !== 'opening') s.resetAndDestroy()
      else s.destroy()
    }
  }
  const end = (p: Pair) => {
    if (!pairs.delete(p)) return
    p.client.destroy()
    p.upstream.destroy()
  }
  /** One side closed: passed on to the other side, unless the connection is in a hole (then held until it lifts). */
  const sideClosed = (p: Pair, side: 'client' | 'upstream') => {
    if (!pairs.has(p)) return
    if (side === 'client') p.clientGone = true
    else p.upstreamGone = true
    if (p.clientGone && p.upstreamGone) return end(p)
    if (inHole(p)) {
      blackholedCloses++
      p.damaged = true
      return
    }
    // A target gone before the client named its source: if a hole is open, wait for the first bytes to decide.
    if (side === 'upstream' && p.sources === null && holes.size > 0) return
    end(p)
  }
  /** Forwards a chunk with backpressure, or discards it when the connection is in a hole. */
  const forward = (p: Pair, from: net.Socket, to: net.Socket, chunk: Buffer) => {
    if (inHole(p)) {
      blackholedBytes += chunk.length
      p.damaged = true
      return
    }
    if (from === p.upstream && dropping) {
      droppedBytes += chunk.length
      return
    }
    if (!to.write(chunk)) {
      from.pause()
      to.once('drain', () => from.resume())
    }
  }

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
    const pair: Pair = { client, upstream, sources: null, clientGone: false, upstreamGone: false, damaged: false }
    pairs.add(pair)
    client.once('close', () => sideClosed(pair, 'client'))
    upstream.once('close', () => sideClosed(pair, 'upstream'))
    client.once('data', (first: Buffer) => {
      pair.sources = connectionSources(first)
      if (pair.sources.some((x) => blockedSources.has(x))) {
        sourceRefusals++
        return end(pair)
      }
      if (pair.upstreamGone) {
        if (!inHole(pair)) return end(pair)
        blackholedCloses++
        pair.damaged = true
      }
      forward(pair, client, upstream, first)
      client.on('data', (chunk: Buffer) => forward(pair, client, upstream, chunk))
    })
    upstream.on('data', (chunk: Buffer) => forward(pair, upstream, client, chunk))
    // Read the client once the target answers; while a hole is open, also when it refuses (its first bytes decide).
    upstream.once('connect', () => client.resume())
    upstream.once('close', () => {
      if (pairs.has(pair) && !client.destroyed) client.resume()
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
      reset(p)
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
        if (p.sources === null || !p.sources.some((x) => blockedSources.has(x))) continue
        sourceRefusals++
        reset(p)
      }
    },
    blackholeSources(sources) {
      const next = new Set(sources)
      const lifted = [...pairs].filter((p) => inHole(p) && !p.sources!.some((x) => next.has(x)))
      holes = next
      for (const p of lifted) if (p.damaged) reset(p)
    },
    get blackholedSources() {
      return holes
    },
    get blackholedBytes() {
      return blackholedBytes
    },
    get blackholedCloses() {
      return blackholedCloses
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
