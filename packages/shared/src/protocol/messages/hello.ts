/**
 * @module hello: the first exchange on every connection; agrees on the protocol version and tells the client the broker's limits.
 *
 * Request:  clientId string, minVersion u16, maxVersion u16, [token string, [peerNodeId u32, peerClusterId string]]
 *           (token: the client's JWT when the broker requires authentication, "" for none; the connection's only
 *           credential, never sent in the URL. The inner tail only from a broker connecting to another as a cluster
 *           peer, whose token is then a peer token signed with the cluster secret. A client without a token may omit
 *           the whole tail)
 * Response: version u16, brokerId i32, clusterId string, maxFrameBytes u32, maxBatchBytes u32, maxRecordBytes u32, maxSubscriptions u32
 */
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'

export interface HelloRequest {
  readonly clientId: string
  readonly minVersion: number
  readonly maxVersion: number
  /** The client's JWT (a peer's cluster-secret token); absent for none. Never carried in the URL. */
  readonly token?: string
  /**
   * Present when a broker connects to another as a cluster peer (for controller Raft traffic): its node id and the
   * cluster id it belongs to. A cluster with a secret also requires `token` to be a peer token for that node id.
   */
  readonly peer?: HelloPeer
}

export interface HelloPeer {
  readonly nodeId: number
  readonly clusterId: string
}

export interface HelloResponse {
  readonly version: number
  readonly brokerId: number
  readonly clusterId: string
  readonly maxFrameBytes: number
  readonly maxBatchBytes: number
  readonly maxRecordBytes: number
  readonly maxSubscriptions: number
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const helloClientSide: ClientExchange<HelloRequest, HelloResponse> = {
  apiKey: ApiKeys.HELLO,
  name: 'hello',
  encodeRequest: (w, q) => {
    w.string(q.clientId).u16(q.minVersion).u16(q.maxVersion)
    if (q.token !== undefined || q.peer) w.string(q.token ?? '')
    if (q.peer) w.u32(q.peer.nodeId).string(q.peer.clusterId)
  },
  decodeResponse: (r) => {
    const s = {
      version: r.u16(),
      brokerId: r.i32(),
      clusterId: r.string(),
      maxFrameBytes: r.u32(),
      maxBatchBytes: r.u32(),
      maxRecordBytes: r.u32(),
      maxSubscriptions: r.u32(),
    }
    r.end()
    return s
  },
}

export const hello: Exchange<HelloRequest, HelloResponse> = /* @__PURE__ */ withBrokerSide(helloClientSide, {
  decodeRequest: (r) => {
    const q: { clientId: string; minVersion: number; maxVersion: number; token?: string; peer?: HelloPeer } = { clientId: r.string(), minVersion: r.u16(), maxVersion: r.u16() }
    if (r.remaining > 0) {
      const token = r.string()
      if (token !== '') q.token = token
    }
    if (r.remaining > 0) q.peer = { nodeId: r.u32(), clusterId: r.string() }
    r.end()
    return q
  },
  encodeResponse: (w, s) =>
    void w.u16(s.version).i32(s.brokerId).string(s.clusterId).u32(s.maxFrameBytes).u32(s.maxBatchBytes).u32(s.maxRecordBytes).u32(s.maxSubscriptions),
})
