/**
 * @module A TCP proxy in front of a broker whose every connection can be cut at once: `cutAll()` destroys both
 * sides of each proxied connection mid-stream, which is what a client sees when the broker's end drops it
 * (abnormal close, no close frame). New connections keep being accepted and forwarded to the same port.
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net'

export interface TcpProxy {
  /** ws://127.0.0.1:PORT: give this to clients instead of the broker's URL. */
  readonly url: string
  readonly port: number
  /** Connections accepted so far. */
  readonly accepted: () => number
  /** Open proxied connections right now. */
  readonly open: () => number
  /** Destroys every open proxied connection (both sides); returns how many were cut. */
  cutAll(): number
  close(): Promise<void>
}

export async function startTcpProxy(targetPort: number, host = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>()
  let accepted = 0
  const server: Server = createServer((client) => {
    accepted++
    const upstream = createConnection({ host, port: targetPort })
    const pair = { client, upstream }
    pairs.add(pair)
    const end = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: `ws://${host}:${port}`,
    port,
    accepted: () => accepted,
    open: () => pairs.size,
    cutAll() {
      const n = pairs.size
      for (const p of [...pairs]) {
        p.client.resetAndDestroy()
        p.upstream.destroy()
      }
      pairs.clear()
      return n
    },
    async close() {
      for (const p of [...pairs]) {
        p.client.destroy()
        p.upstream.destroy()
      }
      pairs.clear()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
