/** @module How a node opens a peer connection (Raft links and peer request links alike): its URL and hello frame. */
import { MIN_PROTOCOL_VERSION, encodeRequestFrame, exchanges } from '@samsa/shared'

/** Correlation id of the peer hello; later frames on the connection use other ids. */
export const PEER_HELLO_CORRELATION_ID = 1

export function peerHelloFrame(nodeId: number, clusterId: string): Uint8Array {
  const hello = { clientId: `samsa-peer-${nodeId}`, minVersion: MIN_PROTOCOL_VERSION, maxVersion: MIN_PROTOCOL_VERSION, peer: { nodeId, clusterId } }
  return encodeRequestFrame(exchanges.hello, MIN_PROTOCOL_VERSION, PEER_HELLO_CORRELATION_ID, hello)
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
