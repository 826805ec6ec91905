// Child process for the `fanout` scenario: holds N subscriber sockets, away from the producer and the broker.
// Raw protocol clients (hello, subscribe from latest, credit as pushes are consumed, as the SDK does), not SDK clients:
// 500 SDK clients in one process would cost more CPU than the broker on a 2-core machine and measure the client.
// Against the raw `ws` broadcast baseline (raw-ws-server.mjs 'broadcast') a socket says 'S' once and receives the
// same push frames. Each record value carries [float64 wall-clock send time in ms (timeOrigin + now()), uint32 seq];
// latency = receive time − send time, per socket and record.
// IPC: parent → { cmd: 'start', url, mode: 'samsa'|'raw', topic, sockets, creditBytes, valueBytes, total, warmup }  ← { msg: 'ready' }
//      parent → { cmd: 'finish', timeoutMs }  ← { msg: 'result', ...summary }
import WebSocket from 'ws'
import {
  MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, decodePush, decodeRecords, decodeResponseFrame, encodeRequestFrame,
  exchanges, readFrameHeader, scanBatches,
} from '@samsa/shared'
import { summarize } from './stats.mjs'

const PUSH_API_KEY = 11
const wallNow = () => performance.timeOrigin + performance.now()

let latencies = new Float64Array(1 << 20)
let measured = 0
let total = Infinity
let warmup = 0
let received = 0
let duplicates = 0
let outOfOrder = 0
let pushErrors = 0
const sockets = []

function record(sock, value, now) {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength)
  const sentAt = view.getFloat64(0)
  const seq = view.getUint32(8)
  if (seq >= total) return
  // Per socket, seqs only grow: a repeat of the last is a duplicate, anything older out of order (or a duplicate).
  if (seq <= sock.lastSeq) { if (seq === sock.lastSeq) duplicates++; else outOfOrder++; return }
  sock.lastSeq = seq
  received++
  if (seq >= warmup) {
    if (measured === latencies.length) { const next = new Float64Array(latencies.length * 2); next.set(latencies); latencies = next }
    latencies[measured++] = now - sentAt
  }
}

/** The records of one push frame's batches: a one-record batch's value ends one byte (headers count 0) before the batch. */
function onRecords(sock, records, now) {
  for (const b of scanBatches(records)) {
    if (b.header.recordCount === 1 && b.totalBytes > 13) {
      const end = b.at + b.totalBytes - 1
      record(sock, records.subarray(end - sock.valueBytes, end), now)
    } else {
      for (const r of decodeRecords(records, b.at).records) record(sock, r.value, now)
    }
  }
}

async function open(url, mode, topic, creditBytes, valueBytes) {
  const ws = new WebSocket(mode === 'samsa' ? `${url}/ws` : url, { perMessageDeflate: false })
  const sock = { ws, lastSeq: -1, spent: 0, subscriptionId: 0, version: 0, valueBytes }
  const waiting = new Map()
  ws.on('message', (data) => {
    const now = wallNow()
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    if (bytes.length === 1) { waiting.get('S')?.(bytes); return }
    const h = readFrameHeader(bytes)
    if (h.apiKey !== PUSH_API_KEY) {
      waiting.get(h.correlationId)?.(bytes)
      waiting.delete(h.correlationId)
      return
    }
    const push = decodePush(bytes)
    if (push.kind !== 'records') { pushErrors++; return }
    onRecords(sock, push.records, now)
    if (mode !== 'samsa') return
    // Credit back once half the grant is spent (a push spends its whole frame).
    sock.spent += bytes.length
    if (sock.spent * 2 >= creditBytes) {
      ws.send(encodeRequestFrame(exchanges.credit, sock.version, 0, { subscriptionId: sock.subscriptionId, creditBytes: sock.spent }))
      sock.spent = 0
    }
  })
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  if (mode !== 'samsa') {
    const subscribed = new Promise((resolve) => waiting.set('S', resolve))
    ws.send(Buffer.from('S'))
    await subscribed
    return sock
  }
  let correlationId = 1
  const call = async (ex, body, version) => {
    const id = correlationId++
    const answer = new Promise((resolve) => waiting.set(id, resolve))
    ws.send(encodeRequestFrame(ex, version, id, body))
    const r = decodeResponseFrame(await answer)
    if (r.error) throw new Error(`${ex.name}: ${r.error.message}`)
    return ex.decodeResponse(r.body)
  }
  const hi = await call(exchanges.hello, { clientId: 'bench-fanout', minVersion: MIN_PROTOCOL_VERSION, maxVersion: MAX_PROTOCOL_VERSION }, 0)
  sock.version = hi.version
  const s = await call(exchanges.subscribe, { topic, partition: 0, offset: -1, creditBytes }, hi.version)
  sock.subscriptionId = s.subscriptionId
  return sock
}

process.on('message', async (m) => {
  try {
    if (m.cmd === 'start') {
      total = m.total
      warmup = m.warmup
      // A few at a time: the broker's accept path is not what is measured.
      for (let i = 0; i < m.sockets; i += 50) {
        const batch = []
        for (let j = i; j < Math.min(m.sockets, i + 50); j++) batch.push(open(m.url, m.mode, m.topic, m.creditBytes, m.valueBytes))
        sockets.push(...(await Promise.all(batch)))
      }
      process.send({ msg: 'ready', sockets: sockets.length })
    } else if (m.cmd === 'finish') {
      const expected = total * sockets.length
      const deadline = performance.now() + m.timeoutMs
      while (received < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      for (const s of sockets) s.ws.terminate()
      process.send({ msg: 'result', sockets: sockets.length, expected, received, lost: expected - received, duplicates, outOfOrder, pushErrors, ...summarize(latencies.subarray(0, measured)) })
    }
  } catch (err) {
    process.send({ msg: 'error', error: String(err?.stack ?? err) })
  }
})
process.on('disconnect', () => process.exit(0))
process.stdout.write(JSON.stringify({ msg: 'fanout subscribers up' }) + '\n')
