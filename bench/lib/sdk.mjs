// The one place the bench touches @samsa/client-browser (built dist): client creation, topic creation,
// and a WebSocket subclass that counts the produce frames the SDK actually sends.
import WebSocket from 'ws'

export async function loadSdk() {
  try {
    return await import('@samsa/client-browser')
  } catch (err) {
    throw new Error(`cannot load @samsa/client-browser from packages/client-browser/dist (run npm run build): ${err.message}`)
  }
}

const PRODUCE_API_KEY = 5

/** Frame statistics for produce requests: count, bytes, records (read from each batch header). */
export function newFrameStats() {
  return { produceFrames: 0, produceBytes: 0, produceRecords: 0, otherFrames: 0 }
}

/** A `ws` WebSocket that records the size and record count of every produce frame it sends. */
export function countingWebSocket(stats) {
  return class CountingWebSocket extends WebSocket {
    send(data, ...rest) {
      try {
        const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
        if (bytes.length >= 8 && ((bytes[0] << 8) | bytes[1]) === PRODUCE_API_KEY) {
          stats.produceFrames++
          stats.produceBytes += bytes.length
          const topicLen = (bytes[8] << 8) | bytes[9]
          const batchAt = 8 + 2 + topicLen + 4 + 1 + 4
          if (bytes.length >= batchAt + 61) {
            stats.produceRecords += new DataView(bytes.buffer, bytes.byteOffset + batchAt + 57, 4).getInt32(0)
          }
        } else {
          stats.otherFrames++
        }
      } catch {
        // counting must never break the client
      }
      return super.send(data, ...rest)
    }
  }
}

export function frameSummary(stats) {
  if (stats.produceFrames === 0) return null
  return {
    produceFrames: stats.produceFrames,
    meanFrameBytes: Math.round(stats.produceBytes / stats.produceFrames),
    meanRecordsPerFrame: Math.round((stats.produceRecords / stats.produceFrames) * 10) / 10,
  }
}

// Node clients get the native CRC-32C, as the CLI does (a browser uses the SDK's pure-JS one).
const { nativeCrc32c } = await import('../../packages/server/dist/adapters/node/native-crc32c.js')
const crc32c = nativeCrc32c()

/**
 * `url`: one broker URL or a list (a cluster's nodes: the SDK bootstraps from any and follows partition leaders);
 * `token`: a JWT for a broker with authentication.
 */
export function makeClient(sdk, { url, clientId, WebSocketClass = WebSocket, token }) {
  return sdk.createClient({ brokers: [url].flat(), clientId, WebSocket: WebSocketClass, ...(crc32c ? { crc32c } : {}), ...(token ? { token } : {}) })
}

export async function closeClient(client) {
  if (!client) return
  const close = client.close ?? client.disconnect ?? client.destroy
  if (typeof close === 'function') {
    try {
      await Promise.race([close.call(client), new Promise((r) => setTimeout(r, 3_000))])
    } catch {
      // closing is best effort; the broker process is killed anyway
    }
  }
}
