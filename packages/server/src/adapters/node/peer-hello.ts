/**
 * @module How a node opens a peer connection (Raft links and peer request links alike): its URL and hello frame. With
 * the cluster secret, every hello carries a fresh peer token (security/authentication/peer-token.ts).
 */
import { MIN_PROTOCOL_VERSION, encodeRequestFrame, exchanges } from '@samsa/shared'
import { signPeerToken } from '../../security/authentication/peer-token.js'

/** Correlation id of the peer hello; later frames on the connection use other ids. */
export const PEER_HELLO_CORRELATION_ID = 1

export async function peerHelloFrame(nodeId: number, clusterId: string, clusterSecret?: Uint8Array): Promise<Uint8Array> {
  const token = clusterSecret ? await signPeerToken(clusterSecret, nodeId, clusterId, Date.now()) : undefined
  const hello = { clientId: `samsa-peer-${nodeId}`, minVersion: MIN_PROTOCOL_VERSION, maxVersion: MIN_PROTOCOL_VERSION, ...(token ? { token } : {}), peer: { nodeId, clusterId } }
  return encodeRequestFrame(exchanges.hello, MIN_PROTOCOL_VERSION, PEER_HELLO_CORRELATION_ID, hello)
}

/** Sends the peer hello once it is built, if the socket is still open. */
export function sendPeerHello(ws: { readonly readyState: number; send(frame: Uint8Array): void }, nodeId: number, clusterId: string, clusterSecret?: Uint8Array): void {
  void peerHelloFrame(nodeId, clusterId, clusterSecret).then((frame) => {
    if (ws.readyState === 1) ws.send(frame)
  })
}

/** What a peer link carries: Raft messages, requests to the active controller, or a follower's replica fetches. */
export type PeerLinkKind = 'raft' | 'controller' | 'replica'

/**
 * The WebSocket URL of a peer link from node `nodeId` to the node at `baseUrl`. The `peer` query names the connecting
 * node and `link` what the link carries, for what sits on the path (access logs, a fault-test proxy that cuts one
 * node's replication links and leaves its Raft and controller links up); the broker ignores both: the hello is what
 * makes a connection a cluster peer.
 */
export function peerSocketUrl(baseUrl: string, nodeId: number, link?: PeerLinkKind): string {
  return `${baseUrl}/ws?peer=${nodeId}${link ? `&link=${link}` : ''}`
}
