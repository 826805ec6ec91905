/**
 * @module The controller quorum on Node: the Raft log under `controller/raft` in the data directory (the same
 * FileLogStorage), outbound peer links, the real clock and Math.random for the driver, the gate that lets peer
 * sessions feed it, and its metrics. Started by startBroker only when `controllers` is given.
 */
import type { Registry } from 'prom-client'
import { Counter, Gauge } from 'prom-client'
import type { Logger } from '@samsa/shared'
import type { Entry, NodeId, Snapshot } from '../../controller/raft/index.js'
import { RaftDriver, type RaftDriverStatus } from '../../controller/raft-driver.js'
import { RaftLogStore } from '../../controller/raft-log-store.js'
import type { LogStorage } from '../../log/log-storage.js'
import type { PeerGate } from '../../sessions/session.js'
import { nativeCrc32c } from './native-crc32c.js'
import { nodeClock } from './node-clock.js'
import { CONTROLLER_RAFT_DIR } from './data-dir-mode.js'

export { CONTROLLER_RAFT_DIR }
import { PeerConnections } from './peer-connections.js'

export interface ControllerVoter {
  readonly id: NodeId
  /** ws://host:port (the node's advertised base URL). */
  readonly url: string
}

export interface ControllerNodeOptions {
  readonly nodeId: NodeId
  readonly clusterId: string
  /** The cluster secret its Raft links prove membership with. */
  readonly clusterSecret?: Uint8Array
  readonly voters: readonly ControllerVoter[]
  readonly storage: LogStorage
  readonly logger: Logger
  readonly registry: Registry
  /** Applies a committed controller entry (the metadata image, later); default: nothing. */
  readonly apply?: (entry: Entry) => unknown
  /** Replaces the application state by a snapshot's (the metadata image). */
  readonly restore?: (snapshot: Snapshot) => void
  readonly tickMs?: number
  readonly electionTicks?: number
  /** PEM CA bundle trusted for wss:// peer URLs, besides Node's default store (a private CA). */
  readonly ca?: string
}

export interface ControllerNode {
  readonly driver: RaftDriver
  readonly gate: PeerGate
  status(): RaftDriverStatus & { readonly voters: readonly ControllerVoter[] }
  close(): Promise<void>
}


export async function startControllerNode(opts: ControllerNodeOptions): Promise<ControllerNode> {
  const ids = opts.voters.map((v) => v.id)
  if (!ids.includes(opts.nodeId)) throw new RangeError(`node id ${opts.nodeId} is not among the controller voters (${ids.join(', ')})`)
  if (new Set(ids).size !== ids.length) throw new RangeError(`controller voter ids must be distinct, got ${ids.join(', ')}`)
  const crc32c = nativeCrc32c()
  const store = await RaftLogStore.open(opts.storage, { dir: CONTROLLER_RAFT_DIR, membership: { voters: ids, learners: [] }, logger: opts.logger, ...(crc32c ? { crc32c } : {}) })
  const dropped = new Counter({ name: 'samsa_controller_peer_frames_dropped_total', help: 'Raft frames dropped from a full per-peer outbound queue (oldest first)', labelNames: ['peer'], registers: [opts.registry] })
  const peers = new PeerConnections({
    nodeId: opts.nodeId,
    clusterId: opts.clusterId,
    ...(opts.clusterSecret ? { clusterSecret: opts.clusterSecret } : {}),
    peers: new Map(opts.voters.map((v) => [v.id, v.url])),
    logger: opts.logger,
    onDropped: (peer, frames) => dropped.inc({ peer: String(peer) }, frames),
    ...(opts.ca ? { ca: opts.ca } : {}),
  })
  const driver = new RaftDriver({
    id: opts.nodeId,
    store,
    clock: nodeClock,
    transport: peers,
    random: Math.random,
    apply: opts.apply ?? (() => undefined),
    ...(opts.restore ? { restore: opts.restore } : {}),
    logger: opts.logger,
    ...(opts.tickMs !== undefined ? { tickMs: opts.tickMs } : {}),
    ...(opts.electionTicks !== undefined ? { electionTicks: opts.electionTicks } : {}),
  })
  const voterIds = new Set(ids)
  // Every node of the cluster (a voter, or a broker-only node registering, heartbeating, fetching the metadata log or
  // its replicas) may connect as a peer; only the voters' Raft messages reach the driver.
  const gate: PeerGate = {
    isPeer: (id) => id !== opts.nodeId,
    onRaftMessages: (from, messages) => {
      if (voterIds.has(from)) driver.receive(messages)
    },
  }
  new Gauge({ name: 'samsa_controller_term', help: 'The controller quorum term this node is in', registers: [opts.registry], collect() { this.set(driver.status().term) } })
  new Gauge({ name: 'samsa_controller_is_leader', help: '1 when this node is the active controller', registers: [opts.registry], collect() { this.set(driver.status().role === 'leader' ? 1 : 0) } })
  new Gauge({ name: 'samsa_controller_commit_index', help: 'The controller log index known committed on this node', registers: [opts.registry], collect() { this.set(driver.status().commitIndex) } })
  new Gauge({
    name: 'samsa_controller_peer_queued_bytes',
    help: 'Raft frame bytes waiting for a peer link',
    labelNames: ['peer'],
    registers: [opts.registry],
    collect() {
      for (const p of peers.status()) this.set({ peer: String(p.peer) }, p.queuedBytes)
    },
  })
  peers.start()
  driver.start()
  opts.logger.info({ nodeId: opts.nodeId, voters: opts.voters }, 'controller quorum member started')
  return {
    driver,
    gate,
    status: () => ({ ...driver.status(), voters: opts.voters }),
    close: async () => {
      peers.close()
      await driver.stop()
    },
  }
}
