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
