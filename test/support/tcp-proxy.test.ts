import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { connectionSource, connectionSources, startTcpProxy, type TcpProxy } from './tcp-proxy.js'

/**
 * An echo server that prefixes replies with its tag, so a test can tell which target answered. It keeps what it
 * received per connection, and can write to or close its side of connections (`closeWhere(text)`: those whose
 * received bytes contain text).
 */
async function echoServer(tag: string): Promise<{
  port: number
  close(): Promise<void>
  connections: number
  received(): string
  sendToAll(text: string): void
  closeWhere(text: string): void
  openWhere(text: string): number
}> {
  const sockets = new Map<net.Socket, string>()
  const state = { connections: 0, received: '' }
  const server = net.createServer((s) => {
    state.connections++
    sockets.set(s, '')
    s.on('error', () => {})
    s.once('close', () => sockets.delete(s))
    s.on('data', (d) => {
      const text = d.toString('utf8')
      state.received += text
      if (sockets.has(s)) sockets.set(s, sockets.get(s)! + text)
      s.write(`${tag}:${text}`)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const where = (text: string) => [...sockets].filter(([, got]) => got.includes(text)).map(([s]) => s)
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return state.connections
    },
    received: () => state.received,
    sendToAll(text) {
      for (const s of sockets.keys()) s.write(text)
    },
    closeWhere(text) {
      for (const s of where(text)) s.destroy()
    },
    openWhere: (text) => where(text).length,
    async close() {
      for (const s of sockets.keys()) s.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

interface Conn {
  socket: net.Socket
  received: () => string
  closed: Promise<{ hadError: boolean }>
  /** Resolves with the received text once it contains `text`, or rejects after timeoutMs. */
  waitFor(text: string, timeoutMs?: number): Promise<string>
}

async function connect(port: number): Promise<Conn> {
  const socket = net.connect({ port, host: '127.0.0.1' })
  socket.on('error', () => {})
  let buf = ''
  const waiters = new Set<() => void>()
  socket.on('data', (d) => {
    buf += d.toString('utf8')
    for (const w of waiters) w()
  })
  const closed = new Promise<{ hadError: boolean }>((r) => socket.once('close', (hadError) => r({ hadError })))
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return {
    socket,
    received: () => buf,
    closed,
    waitFor(text, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (buf.includes(text)) {
            waiters.delete(check)
            clearTimeout(timer)
            resolve(buf)
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`timed out waiting for ${JSON.stringify(text)}; got ${JSON.stringify(buf)}`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
  }
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms).unref())])

describe('tcp proxy', () => {
  const cleanup: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c()
  })
  const track = <T extends { close(): Promise<void> }>(x: T) => {
    cleanup.push(() => x.close())
    return x
  }

  it('forwards bytes both ways on a stable port', async () => {
    const a = track(await echoServer('A'))
    const proxy: TcpProxy = track(await startTcpProxy({ targetPort: a.port }))
    expect(proxy.port).toBeGreaterThan(0)
    expect(proxy.httpUrl).toBe(`http://127.0.0.1:${proxy.port}`)
    const c = await connect(proxy.port)
    c.socket.write('hello')
    await c.waitFor('A:hello')
    expect(proxy.stats).toMatchObject({ accepted: 1, open: 1 })
    c.socket.destroy()
  })

  it('cut() destroys every open connection on both sides', async () => {
    const a = track(await echoServer('A'))
    const proxy = track(await startTcpProxy({ targetPort: a.port }))
    const c1 = await connect(proxy.port)
    const c2 = await connect(proxy.port)
    c1.socket.write('1')
    c2.socket.write('2')
    await c1.waitFor('A:1')
    await c2.waitFor('A:2')
    expect(proxy.cut()).toBe(2)
    await withTimeout(Promise.all([c1.closed, c2.closed]), 5_000, 'clients to see the cut')
    expect(proxy.stats).toMatchObject({ cut: 2, open: 0 })
    // the proxy still accepts new connections afterwards
    const c3 = await connect(proxy.port)
    c3.socket.write('3')
    await c3.waitFor('A:3')
    c3.socket.destroy()
  })

  it('block() refuses new connections (closed at once, never forwarded) and keeps open ones; unblock() restores', async () => {
    const a = track(await echoServer('A'))
    const proxy = track(await startTcpProxy({ targetPort: a.port }))
    const open = await connect(proxy.port)
    proxy.block()
    expect(proxy.blocked).toBe(true)
    const refused = await connect(proxy.port)
    refused.socket.write('x')
    await withTimeout(refused.closed, 5_000, 'the refused connection to close')
    expect(refused.received()).toBe('')
    expect(a.connections).toBe(1)
    expect(proxy.stats.refused).toBe(1)
    // a connection opened before block() still works
    open.socket.write('still')
    await open.waitFor('A:still')
    proxy.unblock()
    const again = await connect(proxy.port)
    again.socket.write('y')
    await again.waitFor('A:y')
    open.socket.destroy()
    again.socket.destroy()
  })

  it('block() + cut() leaves nothing reachable', async () => {
    const a = track(await echoServer('A'))
    const proxy = track(await startTcpProxy({ targetPort: a.port }))
    const c = await connect(proxy.port)
    proxy.block()
    proxy.cut()
    await withTimeout(c.closed, 5_000, 'the open connection to be cut')
    const d = await connect(proxy.port)
    await withTimeout(d.closed, 5_000, 'a new connection to be refused')
    expect(proxy.stats.open).toBe(0)
  })

  it('setTarget() sends new connections to the new port, same listening port', async () => {
    const a = track(await echoServer('A'))
    const b = track(await echoServer('B'))
    const proxy = track(await startTcpProxy({ targetPort: a.port }))
    const port = proxy.port
    const c1 = await connect(proxy.port)
    proxy.setTarget(b.port)
    const c2 = await connect(proxy.port)
    c1.socket.write('old')
    c2.socket.write('new')
    await c1.waitFor('A:old')
    await c2.waitFor('B:new')
    expect(proxy.port).toBe(port)
    c1.socket.destroy()
    c2.socket.destroy()
  })

  it('dropReplies() discards what the target sends while requests still arrive', async () => {
    const received: string[] = []
    const server = net.createServer((s) => {
      s.on('error', () => {})
      s.on('data', (d) => {
        received.push(d.toString('utf8'))
        s.write(`ack:${d.toString('utf8')}`)
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())))
    const proxy = track(await startTcpProxy({ targetPort: (server.address() as net.AddressInfo).port }))
    const c = await connect(proxy.port)
    c.socket.write('one')
    await c.waitFor('ack:one')
    proxy.dropReplies(true)
    c.socket.write('two')
    await expect.poll(() => received.join(','), { timeout: 5_000 }).toBe('one,two')
    await expect.poll(() => proxy.droppedBytes, { timeout: 5_000 }).toBe('ack:two'.length)
    expect(c.received()).toBe('ack:one')
    proxy.cut()
    await withTimeout(c.closed, 5_000, 'the cut')
    proxy.dropReplies(false)
    const d = await connect(proxy.port)
    d.socket.write('three')
    await d.waitFor('ack:three')
    d.socket.destroy()
  })

  it('a dead target closes the client connection', async () => {
    const a = await echoServer('A')
    const deadPort = a.port
    await a.close()
    const proxy = track(await startTcpProxy({ targetPort: deadPort }))
    const c = await connect(proxy.port)
    await withTimeout(c.closed, 5_000, 'the client to be closed when the target refuses')
    expect(proxy.stats.open).toBe(0)
  })

  it('connectionSource() reads a peer link from its request line; anything else is a client', () => {
    expect(connectionSource(Buffer.from('GET /ws?peer=3 HTTP/1.1\r\nHost: x\r\n\r\n'))).toBe('peer:3')
    expect(connectionSource(Buffer.from('GET /ws?a=1&peer=12 HTTP/1.1\r\n'))).toBe('peer:12')
    expect(connectionSource(Buffer.from('GET /ws HTTP/1.1\r\nX-Peer: peer=3\r\n'))).toBe('client')
    expect(connectionSource(Buffer.from([0x16, 0x03, 0x01]))).toBe('client')
  })

  it('connectionSources() adds the kind of a peer link when its URL names one', () => {
    expect(connectionSources(Buffer.from('GET /ws?peer=3&link=replica HTTP/1.1\r\n'))).toEqual(['peer:3', 'peer:3/replica'])
    expect(connectionSources(Buffer.from('GET /ws?link=raft&peer=2 HTTP/1.1\r\n'))).toEqual(['peer:2', 'peer:2/raft'])
    expect(connectionSources(Buffer.from('GET /ws?peer=3 HTTP/1.1\r\n'))).toEqual(['peer:3'])
    expect(connectionSources(Buffer.from('GET /ws?link=replica HTTP/1.1\r\n'))).toEqual(['client'])
  })

  it('blockSources() of one kind of peer link cuts that kind only', async () => {
    const a = track(await echoServer('A'))
    const proxy = track(await startTcpProxy({ targetPort: a.port }))
    const replica = await connect(proxy.port)
    replica.socket.write('GET /ws?peer=2&link=replica HTTP/1.1\r\n\r\n')
    await replica.waitFor('A:GET /ws?peer=2&link=replica')
    const raft = await connect(proxy.port)
    raft.socket.write('GET /ws?peer=2&link=raft HTTP/1.1\r\n\r\n')
    await raft.waitFor('A:GET /ws?peer=2&link=raft')
    proxy.blockSources(['peer:2/replica'])
    await withTimeout(replica.closed, 5_000, 'the blocked replica link to be cut')
    raft.socket.write('more')
    await raft.waitFor('A:more')
    proxy.blockSources(['peer:2'])
    await withTimeout(raft.closed, 5_000, 'every link of the blocked peer to be cut')
  })

  it('blockSources() cuts open connections of a blocked source, refuses its new ones, and leaves other sources alone', async () => {
    const a = track(await echoServer('A'))
    const proxy = track(await startTcpProxy({ targetPort: a.port }))
    const peer2 = await connect(proxy.port)
    peer2.socket.write('GET /ws?peer=2 HTTP/1.1\r\n\r\n')
    await peer2.waitFor('A:GET /ws?peer=2')
    const client = await connect(proxy.port)
    client.socket.write('GET /ws HTTP/1.1\r\n\r\n')
    await client.waitFor('A:GET /ws HTTP')
    proxy.blockSources(['peer:2'])
    await withTimeout(peer2.closed, 5_000, 'the blocked peer link to be cut')
    client.socket.write('more')
    await client.waitFor('A:more')
    const again = await connect(proxy.port)
    again.socket.write('GET /ws?peer=2 HTTP/1.1\r\n\r\n')
    await withTimeout(again.closed, 5_000, 'a new link from the blocked peer to be refused')
    expect(again.received()).toBe('')
    const peer3 = await connect(proxy.port)
    peer3.socket.write('GET /ws?peer=3 HTTP/1.1\r\n\r\n')
    await peer3.waitFor('A:GET /ws?peer=3')
    expect(proxy.sourceRefusals).toBe(2)
    proxy.blockSources([])
    const healed = await connect(proxy.port)
    healed.socket.write('GET /ws?peer=2 HTTP/1.1\r\n\r\n')
    await healed.waitFor('A:GET /ws?peer=2')
    for (const c of [client, peer3, healed]) c.socket.destroy()
  })

  it('blackholeSources() silences a source both ways without closing anything; other sources keep flowing', async () => {
    const a = track(await echoServer('A'))
    const proxy = track(await startTcpProxy({ targetPort: a.port }))
    const client = await connect(proxy.port)
    client.socket.write('GET /ws HTTP/1.1\r\n\r\n')
    await client.waitFor('A:GET /ws HTTP')
    const peer = await connect(proxy.port)
    peer.socket.write('GET /ws?peer=2 HTTP/1.1\r\n\r\n')
    await peer.waitFor('A:GET /ws?peer=2')
    proxy.blackholeSources(['client'])
    expect([...proxy.blackholedSources]).toEqual(['client'])
    // client → target: discarded at the proxy, the target never sees it
    client.socket.write('lost')
    await expect.poll(() => proxy.blackholedBytes, { timeout: 5_000 }).toBe('lost'.length)
    expect(a.received()).not.toContain('lost')
    // target → client: the target's bytes are discarded too
    a.sendToAll('unprompted')
    await expect.poll(() => proxy.blackholedBytes, { timeout: 5_000 }).toBe('lost'.length + 'unprompted'.length)
    // the peer link is not in the hole
    await peer.waitFor('unprompted')
    peer.socket.write('fine')
    await peer.waitFor('A:fine')
    expect(client.received()).not.toContain('unprompted')
    expect(client.received()).not.toContain('lost')
    expect(proxy.stats.open).toBe(2)
    // a new connection from the blackholed source is accepted and hears nothing; its bytes never reach the target
    const late = await connect(proxy.port)
    const before = proxy.blackholedBytes
    late.socket.write('GET /ws HTTP/1.1\r\n\r\n')
    await expect.poll(() => proxy.blackholedBytes, { timeout: 5_000 }).toBe(before + 'GET /ws HTTP/1.1\r\n\r\n'.length)
    expect(late.received()).toBe('')
    expect(a.received().match(/GET \/ws HTTP/g)).toHaveLength(1)
    expect(proxy.stats.cut + proxy.sourceRefusals).toBe(0)
    for (const c of [client, peer, late]) c.socket.destroy()
  })

  it('a blackholed connection passes no close on; lifting the hole resets the connections it damaged and resumes the rest', async () => {
    const a = track(await echoServer('A'))
    const proxy = track(await startTcpProxy({ targetPort: a.port }))
    const open = async (line: string) => {
      const c = await connect(proxy.port)
      c.socket.write(line)
      await c.waitFor(`A:${line}`)
      return c
    }
    const targetCloses = await open('GET /ws?n=1 HTTP/1.1\r\n\r\n')
    const clientCloses = await open('GET /ws?n=2 HTTP/1.1\r\n\r\n')
    const lostBytes = await open('GET /ws?n=3 HTTP/1.1\r\n\r\n')
    const untouched = await open('GET /ws?n=4 HTTP/1.1\r\n\r\n')
    proxy.blackholeSources(['client'])
    // the target closes one connection, a client closes another: neither close crosses the hole
    a.closeWhere('n=1')
    clientCloses.socket.end()
    await expect.poll(() => proxy.blackholedCloses, { timeout: 5_000 }).toBe(2)
    expect(a.openWhere('n=2')).toBe(1)
    lostBytes.socket.write('x')
    await expect.poll(() => proxy.blackholedBytes, { timeout: 5_000 }).toBe(1)
    expect(proxy.stats.open).toBe(4)
    // lifting: the three damaged connections are reset on both sides, the untouched one resumes
    proxy.blackholeSources([])
    await withTimeout(Promise.all([targetCloses.closed, lostBytes.closed]), 5_000, 'the damaged client sides to be reset')
    await expect.poll(() => a.openWhere('n=2') + a.openWhere('n=3'), { timeout: 5_000 }).toBe(0)
    untouched.socket.write('again')
    await untouched.waitFor('A:again')
    expect(proxy.stats.open).toBe(1)
    untouched.socket.destroy()
  })

  it('a target that dies while its clients are blackholed closes nothing: its clients, old and new, hear silence', async () => {
    const a = await echoServer('A')
    const proxy = track(await startTcpProxy({ targetPort: a.port }))
    const client = await connect(proxy.port)
    client.socket.write('GET /ws HTTP/1.1\r\n\r\n')
    await client.waitFor('A:GET /ws HTTP')
    proxy.blackholeSources(['client'])
    await a.close()
    await expect.poll(() => proxy.blackholedCloses, { timeout: 5_000 }).toBe(1)
    // a new client connection to the dead target: refused upstream, yet held open and silent
    const late = await connect(proxy.port)
    late.socket.write('GET /ws HTTP/1.1\r\n\r\n')
    await expect.poll(() => proxy.blackholedCloses, { timeout: 5_000 }).toBe(2)
    expect(proxy.stats.open).toBe(2)
    // a peer link to the dead target is closed as usual
    const peer = await connect(proxy.port)
    peer.socket.write('GET /ws?peer=2 HTTP/1.1\r\n\r\n')
    await withTimeout(peer.closed, 5_000, 'the peer link to the dead target to close')
    proxy.blackholeSources([])
    await withTimeout(Promise.all([client.closed, late.closed]), 5_000, 'the held client connections to be reset')
    expect(proxy.stats.open).toBe(0)
  })

  it('close() cuts everything and frees the port', async () => {
    const a = track(await echoServer('A'))
    const proxy = await startTcpProxy({ targetPort: a.port })
    const c = await connect(proxy.port)
    await proxy.close()
    await withTimeout(c.closed, 5_000, 'the client to be closed by close()')
    await expect(connect(proxy.port)).rejects.toThrow()
  })
})

describe('tcp proxy short forms', () => {
  it('startTcpProxy(port) with url, accepted(), open() and cutAll()', async () => {
    const a = await echoServer('A')
    const proxy = await startTcpProxy(a.port)
    try {
      expect(proxy.url).toBe(`ws://127.0.0.1:${proxy.port}`)
      const c = await connect(proxy.port)
      c.socket.write('x')
      await c.waitFor('A:x')
      expect(proxy.accepted()).toBe(1)
      expect(proxy.open()).toBe(1)
      expect(proxy.cutAll()).toBe(1)
      await withTimeout(c.closed, 5_000, 'the cut')
      expect(proxy.open()).toBe(0)
    } finally {
      await proxy.close()
      await a.close()
    }
  })
})
