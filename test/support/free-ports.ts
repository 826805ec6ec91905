/** Free TCP ports on 127.0.0.1, for nodes that must know each other's URLs before any of them listens. */
import { createServer, type AddressInfo, type Server } from 'node:net'

/** n distinct ports the OS had free a moment ago (bound to port 0 at once, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<Server>((resolve, reject) => {
        const s = createServer()
        s.once('error', reject)
        s.listen(0, '127.0.0.1', () => resolve(s))
      }),
    ),
  )
  const ports = servers.map((s) => (s.address() as AddressInfo).port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}

/** A server listening on 127.0.0.1:port, or null when the port is taken. */
export const listen = (port: number) =>
  new Promise<Server | null>((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(null))
    s.listen(port, '127.0.0.1', () => resolve(s))
  })

/** A base port p with p..p+n−1 all free just now (each held by a socket while the next is tried). */
export async function freeConsecutivePorts(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await listen(0)
    if (!first) continue
    const base = (first.address() as AddressInfo).port
    const held = [first]
    for (let i = 1; i < n && base + i <= 65535; i++) {
      const s = await listen(base + i)
      if (!s) break
      held.push(s)
    }
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))))
    if (held.length === n) return base
  }
  throw new Error(`no ${n} consecutive free ports found`)
}
