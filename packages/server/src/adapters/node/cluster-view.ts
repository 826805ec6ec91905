/** @module /v1/cluster's view of a cluster node: its registration, the controller, and every node with its role. */
import type { ClusterNodeStatus } from '../../cluster/cluster-node.js'
import type { ControllerVoter } from './controller-node.js'

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
