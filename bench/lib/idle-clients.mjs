// Child process for the `idle` scenario: holds idle connections to a broker (or to the raw `ws` baseline), away from
// the broker and the bench. mode 'samsa': SDK clients (createClient with `WebSocket` from `ws`, in-memory storage),
// each with one subscription (`consumer().subscribe(topic, { from: 'latest' })`, awaited until `ready`: the broker
// confirmed it), with a token when the broker has authentication. mode 'raw': plain `ws` sockets to the raw server's
// broadcast mode, each subscribed by saying 'S' (its echo awaited). Sockets are spread over the given loopback
// source addresses (127.0.0.0/8), so neither a per-address quota nor one address's ephemeral ports bound the count.
// IPC: parent → { cmd: 'open', url, mode, topic, count, token, localAddresses, concurrency }  ← { msg: 'opened', count, rss, cpuMs }
//      parent → { cmd: 'check' }  ← { msg: 'checked', open, closedEarly, errors }
import WebSocket from 'ws'
import { closeClient, loadSdk, makeClient } from './sdk.mjs'
import { withTimeout } from './stats.mjs'

const held = []
let closedEarly = 0
let errors = 0
let lastError = null

/** A `ws` class bound to one source address (the SDK constructs `new WebSocket(url)`). */
function boundWebSocket(localAddress) {
  return class BoundWebSocket extends WebSocket {
    constructor(url, protocols, options) {
      super(url, protocols, { ...options, localAddress })
      this.on('close', () => { if (!shuttingDown) closedEarly++ })
    }
  }
}
let shuttingDown = false

async function openSamsa(sdk, m, i, classes) {
  const client = makeClient(sdk, { url: m.url, clientId: `bench-idle-${i}`, WebSocketClass: classes[i % classes.length], token: m.token })
  const sub = client.consumer().subscribe(m.topic, { from: 'latest' })
  sub.onError((err) => { errors++; lastError = String(err?.message ?? err) })
  await withTimeout(sub.ready, 30_000, `subscription ${i} ready`)
  held.push({ client, sub })
}

async function openRaw(m, i) {
  const ws = new WebSocket(m.url, { perMessageDeflate: false, localAddress: m.localAddresses[i % m.localAddresses.length] })
  ws.on('error', (err) => { errors++; lastError = String(err?.message ?? err) })
  await withTimeout(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) }), 30_000, `raw socket ${i} open`)
  const echoed = new Promise((resolve) => ws.once('message', resolve))
  ws.send(Buffer.from('S'))
  await withTimeout(echoed, 30_000, `raw socket ${i} subscribed`)
  ws.on('close', () => { if (!shuttingDown) closedEarly++ })
  held.push({ ws })
}

process.on('message', async (m) => {
  try {
    if (m.cmd === 'open') {
      const sdk = m.mode === 'samsa' ? await loadSdk() : null
      const classes = m.localAddresses.map(boundWebSocket)
      // A few at a time: the broker's accept path is not what is measured, and a burst would only queue in the kernel.
      for (let i = 0; i < m.count; i += m.concurrency) {
        const batch = []
        for (let j = i; j < Math.min(m.count, i + m.concurrency); j++) batch.push(m.mode === 'samsa' ? openSamsa(sdk, m, j + m.firstIndex, classes) : openRaw(m, j))
        await Promise.all(batch)
      }
      const cpu = process.cpuUsage()
      process.send({ msg: 'opened', count: held.length, rss: process.memoryUsage().rss, cpuMs: (cpu.user + cpu.system) / 1000 })
    } else if (m.cmd === 'check') {
      process.send({ msg: 'checked', open: held.length - closedEarly, closedEarly, errors, lastError })
    } else if (m.cmd === 'close') {
      shuttingDown = true
      await Promise.all(held.map((h) => (h.client ? closeClient(h.client) : h.ws.terminate())))
      process.send({ msg: 'closed' })
    }
  } catch (err) {
    process.send({ msg: 'error', error: String(err?.stack ?? err) })
  }
})
process.on('disconnect', () => process.exit(0))
process.stdout.write(JSON.stringify({ msg: 'idle clients up' }) + '\n')
