/**
 * @module /v1/cluster's view of a node: standalone, a controller voter, or a broker-only node, with (on a cluster
 * member) its registration, the controller, and every node with its role. Invariant: it only reads state.
 */
import type { ClusterNode, ClusterNodeStatus } from '../../cluster/cluster-node.js'
import type { MetadataView } from '../../controller/metadata-view.js'
import type { ControllerNode, ControllerVoter } from './controller-node.js'

/** What a node is made of, for /v1/cluster: each part null where this node has none. */
export interface NodeParts {
  readonly brokerId: number
  readonly voters: readonly ControllerVoter[] | undefined
  readonly controller: ControllerNode | null
  readonly cluster: ClusterNode | null
  readonly metadataView: MetadataView | null
}

/** /v1/cluster: this node's id and role, and, in a cluster, its term, leader, commit index and the cluster part. */
export function nodeView(n: NodeParts): object {
  const { controller, cluster, metadataView, voters } = n
  if (!controller && cluster && metadataView && voters) {
    // A broker-only node: the controller it knows of, from the metadata log it observes.
    const st = metadataView.state()
    const base = { nodeId: n.brokerId, role: 'broker', term: st.term, leaderId: st.leaderId === 0 ? null : st.leaderId, commitIndex: null, appliedIndex: st.appliedIndex, voters }
    return { ...base, ...clusterView(cluster.status(), voters, st.leaderId) }
  }
  if (!controller) return { nodeId: n.brokerId, role: 'standalone', term: null, leaderId: null, commitIndex: null }
  const s = controller.status()
  const base = { nodeId: s.nodeId, role: s.role, term: s.term, leaderId: s.leaderId === 0 ? null : s.leaderId, commitIndex: s.commitIndex, appliedIndex: s.appliedIndex, voters: s.voters }
  return cluster ? { ...base, ...clusterView(cluster.status(), s.voters, s.leaderId) } : base
}

/**
 * /v1/cluster's cluster part: this broker's registration, the controller, the metadata offset, and every node (the
 * voters and the registered brokers) with its URL, fenced state and role.
 */
export function clusterView(s: ClusterNodeStatus, voters: readonly ControllerVoter[], leaderId: number): object {
  const ids = [...new Set([...voters.map((v) => v.id), ...s.nodes.map((n) => n.id)])].sort((a, b) => a - b)
  const nodes = ids.map((id) => {
    const reg = s.nodes.find((n) => n.id === id)
    const voter = voters.find((v) => v.id === id)
    const role = id === leaderId ? 'controller leader' : voter ? 'controller voter' : 'broker'
    return {
      id,
      url: reg?.url ?? voter?.url ?? null,
      role,
      registered: reg !== undefined,
      fenced: reg?.fenced ?? true,
      brokerEpoch: reg?.brokerEpoch ?? null,
      lastHeartbeatAgoMs: reg?.lastHeartbeatAgoMs ?? null,
    }
  })
  return { brokerEpoch: s.brokerEpoch, fenced: s.fenced, controllerActive: s.controller.active, metadataOffset: s.metadataOffset, nodes }
}
