/**
 * @module An in-process cluster for tests: Broker instances over MemoryLogStorage sharing a ManualClock, each with a
 * ReplicaManager; the real QuorumController deciding on a TestMetadataLog; followers reach leaders through real
 * Sessions (frames encoded and decoded as on a WebSocket) over an in-memory network where a broker can be "down"
 * (its frames are held, as with SIGSTOP, until it comes back). No replication rule lives here.
 */
import { ApiKeys, decodeResponseFrame, encodeRequestFrame, exchanges, readFrameHeader, MIN_PROTOCOL_VERSION, type Exchange } from '@samsa/shared'
import { Broker } from '../../broker/broker.js'
import { brokerConfig, type BrokerConfig } from '../../broker/broker-config.js'
import { silentLogger } from '../../clock.js'
import { brokerReplicaLogs } from '../../cluster/broker-replica-logs.js'
import { localPartitionChanges } from '../../controller/metadata/metadata-delta.js'
import { EMPTY_METADATA_IMAGE, type MetadataImage } from '../../controller/metadata/metadata-image.js'
import { QuorumController } from '../../controller/metadata/quorum-controller.js'
import { TestMetadataLog } from '../../controller/metadata/testing/metadata-log.js'
import { MemoryLogStorage } from '../../log/memory-log-storage.js'
import { ManualClock } from '../../log/testing/manual-clock.js'
import { Session } from '../../sessions/session.js'
import type { SessionSocket } from '../../sessions/session-socket.js'
import type { LeaderLink } from '../follower-fetcher.js'
import { ReplicaManager, type ReplicaManagerConfig } from '../replica-manager.js'

const CLUSTER_ID = 'test-cluster'

/** Frames between brokers; a down broker's frames wait until it is up again. */
class Network {
  readonly down = new Set<number>()
  #waiters: (() => void)[] = []
  async pass(a: number, b: number): Promise<void> {
    while (this.down.has(a) || this.down.has(b)) await new Promise<void>((r) => this.#waiters.push(r))
  }
  setDown(id: number, down: boolean): void {
    if (down) this.down.add(id)
    else this.down.delete(id)
    const w = this.#waiters
    this.#waiters = []
    for (const r of w) r()
  }
}

/** A cluster-peer connection from broker `from` to `target`, through a real Session. */
class SessionLink implements LeaderLink {
  readonly #pending = new Map<number, { resolve: (f: Uint8Array) => void }>()
  readonly #session: Session
  #nextId = 1
  constructor(readonly from: number, readonly to: number, target: Broker, readonly net: Network) {
    const pending = this.#pending
    const socket: SessionSocket = {
      send(frame) {
        const h = readFrameHeader(frame)
        if (h.apiKey === ApiKeys.PUSH) return
        pending.get(h.correlationId)?.resolve(frame)
        pending.delete(h.correlationId)
      },
      close() {},
      bufferedAmount: () => 0,
      pauseReading() {},
      resumeReading() {},
    }
    this.#session = new Session(target, socket, { isPeer: () => true, onRaftMessages: () => {} })
    this.#session.onFrame(encodeRequestFrame(exchanges.hello, MIN_PROTOCOL_VERSION, 0, { clientId: `broker-${from}`, minVersion: 1, maxVersion: 1, peer: { nodeId: from, clusterId: CLUSTER_ID } }))
  }
  async #request<Q, S>(ex: Exchange<Q, S>, req: Q): Promise<S> {
    await this.net.pass(this.from, this.to)
    const id = this.#nextId++
    const frame = await new Promise<Uint8Array>((resolve) => {
      this.#pending.set(id, { resolve })
      this.#session.onFrame(encodeRequestFrame(ex, this.#session.version, id, req))
    })
    await this.net.pass(this.from, this.to)
    const r = decodeResponseFrame(frame)
    if (r.error) throw r.error
    return ex.decodeResponse(r.body!)
  }
  fetch: LeaderLink['fetch'] = (req) => this.#request(exchanges.fetch, req)
  offsetForLeaderEpoch: LeaderLink['offsetForLeaderEpoch'] = (req) => this.#request(exchanges.offsetForLeaderEpoch, req)
}

export interface ClusterNode {
  readonly id: number
  readonly broker: Broker
  readonly storage: MemoryLogStorage
  readonly replicas: ReplicaManager
  /** The image this node last applied. */
  image: MetadataImage
}

export class InProcessCluster {
  readonly clock = new ManualClock()
  readonly net = new Network()
  readonly metadata = new TestMetadataLog()
  readonly controller = new QuorumController({ sessionTimeoutMs: 60_000 }, { random: () => 0 })
  readonly nodes = new Map<number, ClusterNode>()
  readonly #brokerEpochs = new Map<number, number>()

  /** `broker`: settings of every node's Broker over the test defaults (e.g. tailCacheBytes 0 to read every batch from storage). */
  static async start(ids: readonly number[], config: Partial<ReplicaManagerConfig>, broker: Partial<BrokerConfig> = {}): Promise<InProcessCluster> {
    const c = new InProcessCluster()
    for (const id of ids) await c.#startNode(id, config, broker)
    for (const id of ids) c.#register(id)
    await c.deliver()
    return c
  }

  node(id: number): ClusterNode {
    return this.nodes.get(id)!
  }

  async #startNode(id: number, config: Partial<ReplicaManagerConfig>, brokerSettings: Partial<BrokerConfig>): Promise<void> {
    let broker: Broker | undefined
    const replicas = new ReplicaManager(config, {
      brokerId: id,
      clock: this.clock,
      logger: silentLogger,
      logs: brokerReplicaLogs(() => broker!),
      incompleteReplicas: { reportIncomplete: (topic, partition) => this.#reportIncomplete(id, topic, partition) },
      links: { link: (leaderId) => new SessionLink(id, leaderId, this.node(leaderId).broker, this.net) },
      alterPartition: {
        alterPartition: async (req) => {
          await this.net.pass(id, id)
          const r = this.controller.alterPartition(this.metadata.image, { ...req, brokerId: id, brokerEpoch: this.#brokerEpochs.get(id)! })
          this.metadata.commit(r)
          await this.deliver()
          return r.partition
        },
      },
    })
    const storage = new MemoryLogStorage()
    broker = await Broker.start(brokerConfig({ ...brokerSettings, brokerId: id, clusterId: CLUSTER_ID, idleTimeoutMs: 3_600_000, helloTimeoutMs: 3_600_000 }), {
      storage, clock: this.clock, logger: silentLogger, leadership: replicas,
    })
    this.nodes.set(id, { id, broker, storage, replicas, image: EMPTY_METADATA_IMAGE })
  }

  #register(id: number): void {
    const r = this.controller.registerBroker(this.metadata.image, { brokerId: id, previousBrokerEpoch: this.#brokerEpochs.get(id) ?? -1, advertisedUrl: `mem://${id}` }, this.clock.monotonicMs())
    this.metadata.commit(r)
    this.#brokerEpochs.set(id, r.brokerEpoch)
    this.metadata.commit(this.controller.heartbeat(this.metadata.image, { brokerId: id, brokerEpoch: r.brokerEpoch, caughtUpToMetadataOffset: this.metadata.image.offset }, this.clock.monotonicMs()))
  }

  /** Each node that is up applies the metadata it has not seen (as localPartitionChanges to its ReplicaManager). */
  async deliver(): Promise<void> {
    for (const n of this.nodes.values()) {
      if (this.net.down.has(n.id)) continue
      const before = n.image
      const after = this.metadata.image
      if (before === after) continue
      n.image = after
      await n.replicas.onLocalChanges(localPartitionChanges(before, after, n.id), after)
    }
  }

  async createTopic(name: string, partitions: number, replicationFactor: number, minInsyncReplicas: number): Promise<void> {
    this.metadata.commit(this.controller.createTopic(this.metadata.image, { name, partitions, replicationFactor, config: { minInsyncReplicas } }))
    await this.deliver()
  }

  /** A broker's heartbeat naming a replica it found incomplete (as BrokerLifecycle sends it), answered by the controller. */
  #reportIncomplete(id: number, topic: string, partition: number): void {
    const req = { brokerId: id, brokerEpoch: this.#brokerEpochs.get(id)!, caughtUpToMetadataOffset: this.metadata.image.offset, incompleteReplicas: [{ topic, partition }] }
    void this.net.pass(id, id).then(() => {
      this.metadata.commit(this.controller.heartbeat(this.metadata.image, req, this.clock.monotonicMs()))
      return this.deliver()
    })
  }

  /** Controlled shutdown of a broker: the controller moves its leadership away and fences it. */
  async shutDown(id: number): Promise<void> {
    this.metadata.commit(this.controller.heartbeat(this.metadata.image, { brokerId: id, brokerEpoch: this.#brokerEpochs.get(id)!, caughtUpToMetadataOffset: this.metadata.image.offset, wantShutDown: true }, this.clock.monotonicMs()))
    await this.deliver()
  }

  /** The broker registers again (a new broker epoch) and is unfenced once caught up. */
  async rejoin(id: number): Promise<void> {
    this.net.setDown(id, false)
    this.metadata.commit(this.controller.unregisterBroker(this.metadata.image, id))
    this.#register(id)
    await this.deliver()
  }

  partition(topic: string, p: number) {
    return this.metadata.image.topics.get(topic)!.partitions[p]!
  }

  async stop(): Promise<void> {
    for (const id of this.nodes.keys()) this.net.setDown(id, false)
    for (const n of this.nodes.values()) await n.replicas.stop()
    for (const n of this.nodes.values()) await n.broker.shutdown()
  }
}
