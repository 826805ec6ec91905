/** @module The hello frame a node opens a peer connection with (Raft links and peer request links alike). */
import { MIN_PROTOCOL_VERSION, encodeRequestFrame, exchanges } from '@samsa/shared'

/** Correlation id of the peer hello; later frames on the connection use other ids. */
export const PEER_HELLO_CORRELATION_ID = 1

export function peerHelloFrame(nodeId: number, clusterId: string): Uint8Array {
  const hello = { clientId: `samsa-peer-${nodeId}`, minVersion: MIN_PROTOCOL_VERSION, maxVersion: MIN_PROTOCOL_VERSION, peer: { nodeId, clusterId } }
  return encodeRequestFrame(exchanges.hello, MIN_PROTOCOL_VERSION, PEER_HELLO_CORRELATION_ID, hello)
}
