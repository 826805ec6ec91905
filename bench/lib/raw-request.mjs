// One protocol request over its own WebSocket (hello first), for what the SDK's admin does not expose:
// createTopic with an explicit replication factor, and metadata with each partition's replicas and ISR.
import WebSocket from 'ws'
import { MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, decodeResponseFrame, encodeRequestFrame, exchanges, readFrameHeader } from '@samsa/shared'

/** Opens `${url}/ws`, says hello, sends `exchange` with `req`, returns the decoded response; throws on a protocol error or after timeoutMs. */
export async function rawRequest(url, exchange, req, { timeoutMs = 10_000 } = {}) {
  const ws = new WebSocket(`${url}/ws`)
  const timer = setTimeout(() => ws.terminate(), timeoutMs)
  const waiting = new Map()
  let closedError = null
  ws.on('message', (data) => {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    const h = readFrameHeader(bytes)
    waiting.get(h.correlationId)?.resolve(bytes)
    waiting.delete(h.correlationId)
  })
  const failAll = (err) => {
    closedError ??= err
    for (const w of waiting.values()) w.reject(closedError)
    waiting.clear()
  }
  ws.on('close', (code) => failAll(new Error(`connection to ${url} closed (${code}) before a response to ${exchange.name} (timeout ${timeoutMs} ms)`)))
  ws.on('error', (err) => failAll(err))
  try {
    await new Promise((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
      ws.once('close', () => reject(closedError ?? new Error(`connection to ${url} closed before it opened`)))
    })
    let correlationId = 1
    const call = async (ex, body, version) => {
      const id = correlationId++
      const answer = new Promise((resolve, reject) => waiting.set(id, { resolve, reject }))
      ws.send(encodeRequestFrame(ex, version, id, body))
      const r = decodeResponseFrame(await answer)
      if (r.error) throw Object.assign(new Error(`${ex.name} on ${url}: ${r.error.errorName ?? r.error.message}`), { samsaError: r.error })
      return ex.decodeResponse(r.body)
    }
    const hi = await call(exchanges.hello, { clientId: 'bench-admin', minVersion: MIN_PROTOCOL_VERSION, maxVersion: MAX_PROTOCOL_VERSION }, 0)
    return await call(exchange, req, hi.version)
  } finally {
    clearTimeout(timer)
    ws.close()
  }
}
