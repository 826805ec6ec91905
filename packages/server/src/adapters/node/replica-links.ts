/**
 * @module ReplicaLinks over peer request connections: a follower reaches its partition leader at the leader's
 * advertised URL (from the metadata image) with replica fetches and offsetForLeaderEpoch, on a connection whose hello
 * names this node a cluster peer (the leader checks that the fetch speaks for that peer).
 */
import { exchanges } from '@samsa/shared'
import type { ReplicaLinks } from '../../replication/replica-manager.js'
import type { PeerRequests } from './peer-requests.js'

export function peerReplicaLinks(peers: PeerRequests): ReplicaLinks {
  return {
    link: (brokerId, advertisedUrl) => ({
      fetch: (req) => peers.call(brokerId, advertisedUrl, exchanges.fetch, req),
      offsetForLeaderEpoch: (req) => peers.call(brokerId, advertisedUrl, exchanges.offsetForLeaderEpoch, req),
    }),
  }
}
