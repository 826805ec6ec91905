/**
 * Three (or n) combined-mode nodes (controller + broker) started in this process over real WebSockets and real
 * files, on ports chosen before any of them listens (every node must know the others' URLs), and broker-only nodes
 * added to the running cluster later (`addBrokerOnlyNode`: not among the controller voters). Nodes can be stopped
 * and started again on their data directory and port.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exchanges, type MetadataResponse, type PartitionMetadata } from '@samsa/shared'
import { startBroker, type RunningBroker, type StartBrokerOptions } from '../../packages/server/src/adapters/node/index.js'
import { freePorts } from './free-ports.js'
import { RawConnection } from './raw-connection.js'

export const silentLogger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger }

export interface InProcessClusterOptions {
  readonly size?: number
  /** Prefix of the temporary data directories. */
  readonly dirPrefix: string
  readonly sessionTimeoutMs?: number
  readonly replication?: StartBrokerOptions['replication']
  /** Broker settings of every node (e.g. tailCacheBytes 0: every read from storage). */
  readonly config?: StartBrokerOptions['config']
  /** Metadata snapshots (and log compaction) every this many entries (default: the broker's). */
  readonly snapshotEveryEntries?: number
  /** The cluster secret every node proves membership with (peer tokens in hello). */
  readonly clusterSecret?: Uint8Array
  /** Client authentication of every node. */
  readonly authentication?: StartBrokerOptions['authentication']
  /** The logger of every node started without one of its own (default: silent). */
  readonly logger?: StartBrokerOptions['logger']
  /** Authorization of every node (StartBrokerOptions.authorization). */
  readonly authorization?: StartBrokerOptions['authorization']
  /** The token a raw connection presents in hello when `open` is given none (with `authentication`: the test's own admin). */
  readonly token?: string
  /** TLS of every node (StartBrokerOptions.tls): the nodes listen on https/wss and their peer links trust `caFile`. */
  readonly tls?: StartBrokerOptions['tls']
}

export class InProcessCluster {
  /** Running nodes by node id; a stopped node is removed until it is started again. */
  readonly nodes = new Map<number, RunningBroker>()
  readonly controllers: { id: number; url: string }[]
  /** Port and data directory of every node ever started, by node id. */
  readonly #ports = new Map<number, number>()
  readonly #dirs = new Map<number, string>()
  readonly #opts: InProcessClusterOptions
  readonly #conns = new Set<RawConnection>()

  private constructor(ports: number[], dirs: string[], opts: InProcessClusterOptions) {
    ports.forEach((port, i) => this.#ports.set(i + 1, port))
    dirs.forEach((dir, i) => this.#dirs.set(i + 1, dir))
    this.#opts = opts
    this.controllers = ports.map((port, i) => ({ id: i + 1, url: `${opts.tls ? 'wss' : 'ws'}://127.0.0.1:${port}` }))
  }

  /** Starts nodes 1..size one after another (each waits for nothing but its own listening). */
  static async start(opts: InProcessClusterOptions): Promise<InProcessCluster> {
    const size = opts.size ?? 3
    const ports = await freePorts(size)
    const dirs: string[] = []
    for (let id = 1; id <= size; id++) dirs.push(await mkdtemp(join(tmpdir(), `${opts.dirPrefix}-${id}-`)))
    const cluster = new InProcessCluster(ports, dirs, opts)
    for (let id = 1; id <= size; id++) await cluster.startNode(id)
    return cluster
  }

  /** Starts node `id` on its port and data directory (again, after a stop). */
  async startNode(id: number, logger: StartBrokerOptions['logger'] = this.#opts.logger ?? silentLogger): Promise<RunningBroker> {
    const snapshots = this.#opts.snapshotEveryEntries
    const running = await startBroker({
      port: this.#ports.get(id)!,
      dataDir: this.#dirs.get(id)!,
      logger,
      nodeId: id,
      controllers: this.controllers,
      controllerTiming: { tickMs: 50, electionTicks: 10 },
      clusterTiming: { sessionTimeoutMs: this.#opts.sessionTimeoutMs ?? 1_500, preferredLeaderIntervalMs: 0, ...(snapshots !== undefined ? { snapshotEveryEntries: snapshots } : {}) },
      ...(this.#opts.replication ? { replication: this.#opts.replication } : {}),
      ...(this.#opts.config ? { config: this.#opts.config } : {}),
      ...(this.#opts.clusterSecret ? { clusterSecret: this.#opts.clusterSecret } : {}),
      ...(this.#opts.authentication ? { authentication: this.#opts.authentication } : {}),
      ...(this.#opts.authorization ? { authorization: this.#opts.authorization } : {}),
      ...(this.#opts.tls ? { tls: this.#opts.tls } : {}),
    })
    this.nodes.set(id, running)
    return running
  }

  /** Starts a broker-only node `id` (not a controller voter) on a new port and data directory: it joins the running cluster. */
  async addBrokerOnlyNode(id: number, logger: StartBrokerOptions['logger'] = this.#opts.logger ?? silentLogger): Promise<RunningBroker> {
    if (this.#ports.has(id)) throw new Error(`node ${id} exists already`)
    this.#ports.set(id, (await freePorts(1))[0]!)
    this.#dirs.set(id, await mkdtemp(join(tmpdir(), `${this.#opts.dirPrefix}-${id}-`)))
    return this.startNode(id, logger)
  }

  /** Stops node `id` without a controlled shutdown (as a crash looks to the others, minus the lost page cache). */
  async stopNode(id: number): Promise<void> {
    await this.nodes.get(id)!.close({ controlled: false })
    this.nodes.delete(id)
  }

  /** Node `id`'s data directory (it outlives a stop of the node). */
  dataDir(id: number): string {
    return this.#dirs.get(id)!
  }

  /** A raw connection to node `id`, closed with the cluster; it says hello with `token` (default: the cluster's `token` option), trusting the cluster's TLS CA. */
  async open(id: number, token: string | undefined = this.#opts.token): Promise<RawConnection> {
    const caFile = this.#opts.tls?.caFile
    const c = await RawConnection.open(this.nodes.get(id)!.url, { ...(token !== undefined ? { token } : {}), ...(caFile ? { ca: await readFile(caFile, 'utf8') } : {}) })
    this.#conns.add(c)
    return c
  }

  async metadataOf(id: number, topics: string[] | null): Promise<MetadataResponse> {
    const c = await this.open(id)
    try {
      const r = await c.request(exchanges.metadata, { topics })
      if (!r.ok) throw r.error
      return r.value
    } finally {
      c.close()
      this.#conns.delete(c)
    }
  }

  /** The partition as node `id`'s metadata shows it; undefined while the topic is unknown there. */
  async partitionOn(id: number, topic: string, partition = 0): Promise<PartitionMetadata | undefined> {
    const t = (await this.metadataOf(id, [topic])).topics[0]
    return t?.errorCode === 0 ? t.partitions[partition] : undefined
  }

  async close(): Promise<void> {
    for (const c of this.#conns) c.close()
    for (const n of this.nodes.values()) await n.close({ controlled: false }).catch(() => {})
    for (const d of this.#dirs.values()) await rm(d, { recursive: true, force: true })
  }
}
