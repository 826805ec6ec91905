/**
 * @module A Samsa cluster (3 nodes, or `nodes: 5`) of REAL child processes (the built `samsa start`, combined controller + broker),
 * plus `brokerOnly` broker-only nodes (ids after the voters, not among `--controllers`), each node behind its own TCP
 * proxy, for fault tests.
 *
 * Wiring: node i listens on its own port R_i; proxy i listens on X_i and forwards to R_i. Node i is started with
 * `--advertised-url ws://127.0.0.1:X_i` and `--controllers 1@127.0.0.1:X_1,2@…:X_2,3@…:X_3`, so EVERY connection
 * INTO node i goes through proxy i: clients (who learn leaders' URLs from metadata), other nodes' controller (Raft)
 * links, heartbeats and follower fetches. Acting on proxy i (cut / block / dropReplies) cuts node i's inbound links
 * from everyone at once. Per-link faults use the source a proxy reads from each connection's request line (a peer
 * link asks for `/ws?peer=<id>`): `splitNetwork([[1], [2, 3]])` cuts every link between the groups both ways and leaves
 * clients alone; `isolateFromClients(id)` cuts the clients from node id and leaves its peers alone; `cutReplication`
 * cuts only followers' replica fetch links into a leader (a peer link names its kind: raft, controller or replica),
 * so the leader's Raft and controller links stay up, as ZooKeeper's did in Kafka 0.8; `blackholeClients(id)`
 * silences the clients' links to node id both ways without closing them (not even when node id is killed). The test's own
 * observations (status, metadata samples) use R_i directly, so they keep working while a proxy is faulted.
 *
 * Faults: kill -9 (`kill(id)`), SIGTERM (`stop(id)`: a controlled shutdown), SIGSTOP/SIGCONT (`pause` / `resume`), restart on the same data directory and
 * port (`restart(id)`), and the proxies. Waits: a controller leader, every node registered and unfenced, the
 * partition leader as the nodes' metadata says.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
// The protocol from the sources, as RawConnection uses it (the same types under vitest and Playwright).
import { encodeRecordBatch, exchanges, type PartitionMetadata } from '../../../packages/shared/src/index.js'
import { killAll, startChildBroker, type ChildBroker, type JsonLogLine } from '../../support/child-broker.js'
import { RawConnection } from '../../support/raw-connection.js'
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js'
import { until } from '../../support/until.js'

export interface ClusterOptions {
  /** Controller voters (combined mode), ids 1..nodes. Default 3. */
  readonly nodes?: number
  /** Broker-only nodes after the voters (ids nodes+1..), observers of the metadata log. Default 0. */
  readonly brokerOnly?: number
  /** --session-timeout-ms: how long a silent broker keeps its leadership. Default 2 000. */
  readonly sessionTimeoutMs?: number
  /** --replica-lag-time-max-ms: how long a follower may lag before its leader proposes it out of the ISR. Default 30 000. */
  readonly replicaLagTimeMaxMs?: number
  /** Extra `samsa start` arguments for every node (e.g. ['--fsync', 'never']). */
  readonly extraArgs?: readonly string[]
}

/** What /v1/cluster (`samsa cluster status --json`) answers. */
export interface ClusterStatus {
  nodeId: number
  role: string
  term: number | null
  leaderId: number | null
  metadataOffset?: number
  /** This node's own registration: its broker epoch (−1 until registered) and whether it is fenced. */
  brokerEpoch?: number
  fenced?: boolean
  /** The node is the Raft leader and has activated as the controller (its first read-index round is done). */
  controllerActive?: boolean
  nodes?: { id: number; url: string | null; role: string; registered: boolean; fenced: boolean; brokerEpoch: number | null; lastHeartbeatAgoMs: number | null }[]
}

export interface ClusterNode {
  readonly id: number
  readonly dataDir: string
  /** The port the process listens on (the test's own observations go here). */
  readonly port: number
  readonly proxy: TcpProxy
  /** The running process, or null while killed. */
  process: ChildBroker | null
  paused: boolean
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<Server>((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => resolve(s))
  })))
  const ports = servers.map((s) => (s.address() as AddressInfo).port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}

/** The wall-clock time (epoch ms) a node's JSON log line was written (pino's ISO `time`). */
export function logTimeMs(l: JsonLogLine): number {
  return Date.parse(String(l.time))
}

export class FaultCluster {
  readonly nodes = new Map<number, ClusterNode>()
  readonly #args: (id: number) => string[]
  readonly #root: string

  private constructor(root: string, args: (id: number) => string[]) {
    this.#root = root
    this.#args = args
  }

  static async start(opts: ClusterOptions = {}): Promise<FaultCluster> {
    const voters = opts.nodes ?? 3
    const n = voters + (opts.brokerOnly ?? 0)
    const root = await mkdtemp(join(tmpdir(), 'samsa-fault-'))
    // Proxies first (they keep their ports), then the nodes' ports: a port freed for a node cannot go to a proxy.
    const proxies: TcpProxy[] = []
    for (let i = 0; i < n; i++) proxies.push(await startTcpProxy({ targetPort: 1 }))
    const ports = await freePorts(n)
    ports.forEach((p, i) => proxies[i]!.setTarget(p))
    const controllers = proxies.slice(0, voters).map((p, i) => `${i + 1}@127.0.0.1:${p.port}`).join(',')
    const cluster = new FaultCluster(root, (id) => [
      '--node-id', String(id),
      '--controllers', controllers,
      '--advertised-url', proxies[id - 1]!.url,
      '--session-timeout-ms', String(opts.sessionTimeoutMs ?? 2_000),
      ...(opts.replicaLagTimeMaxMs !== undefined ? ['--replica-lag-time-max-ms', String(opts.replicaLagTimeMaxMs)] : []),
      ...(opts.extraArgs ?? []),
    ])
    for (let i = 0; i < n; i++) cluster.nodes.set(i + 1, { id: i + 1, dataDir: join(root, `node-${i + 1}`), port: ports[i]!, proxy: proxies[i]!, process: null, paused: false })
    try {
      await Promise.all([...cluster.nodes.keys()].map((id) => cluster.restart(id)))
    } catch (e) {
      await cluster.close()
      throw e
    }
    return cluster
  }

  node(id: number): ClusterNode {
    const n = this.nodes.get(id)
    if (!n) throw new Error(`no node ${id}`)
    return n
  }

  /** Bootstrap URLs for clients: every node's proxy. */
  get brokerUrls(): string[] {
    return [...this.nodes.values()].map((n) => n.proxy.url)
  }

  /** Ids of nodes whose process runs and is not paused. */
  live(): number[] {
    return [...this.nodes.values()].filter((n) => n.process && !n.paused).map((n) => n.id)
  }

  /** (Re)starts node `id` on its data directory and port; resolves when it logs "broker listening". */
  async restart(id: number): Promise<void> {
    const node = this.node(id)
    if (node.process) throw new Error(`node ${id} is running`)
    node.process = await startChildBroker(node.dataDir, this.#args(id), { port: node.port, timeoutMs: 30_000 })
    node.paused = false
  }

  /** kill -9; resolves once the process is gone. Connections through its proxy are cut as the kernel would. */
  async kill(id: number): Promise<void> {
    const node = this.node(id)
    const p = node.process
    if (!p) throw new Error(`node ${id} is not running`)
    if (node.paused) p.kill('SIGCONT')
    p.kill('SIGKILL')
    await p.exited
    node.process = null
    node.paused = false
  }

  /** SIGTERM (a controlled shutdown: leadership handed away first); resolves with how the process exited. */
  async stop(id: number, timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const node = this.node(id)
    const p = node.process
    if (!p) throw new Error(`node ${id} is not running`)
    if (node.paused) this.resume(id)
    const exit = await p.stop(timeoutMs)
    node.process = null
    return exit
  }

  pause(id: number): void {
    const node = this.node(id)
    if (!node.process) throw new Error(`node ${id} is not running`)
    node.process.kill('SIGSTOP')
    node.paused = true
  }

  resume(id: number): void {
    const node = this.node(id)
    if (!node.process) throw new Error(`node ${id} is not running`)
    node.process.kill('SIGCONT')
    node.paused = false
  }

  /**
   * Network partition between groups of nodes: every peer link between two groups is cut, both ways, and stays cut
   * until `heal()`; links within a group and every client link stay up. A node in no group is cut from all others.
   */
  splitNetwork(groups: readonly (readonly number[])[]): void {
    const groupOf = new Map<number, number>()
    groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)))
    for (const n of this.nodes.values()) {
      const blocked = [...this.nodes.keys()].filter((other) => other !== n.id && (groupOf.get(other) ?? -other) !== (groupOf.get(n.id) ?? -n.id))
      n.proxy.blockSources(blocked.map((id) => `peer:${id}`))
    }
  }

  /** Cuts the links between `a` and `b`, both ways (and nothing else, replacing any earlier per-link fault). */
  cutLinks(pairs: readonly (readonly [number, number])[]): void {
    const blocked = new Map<number, string[]>([...this.nodes.keys()].map((id) => [id, []]))
    for (const [a, b] of pairs) {
      blocked.get(a)!.push(`peer:${b}`)
      blocked.get(b)!.push(`peer:${a}`)
    }
    for (const n of this.nodes.values()) n.proxy.blockSources(blocked.get(n.id)!)
  }

  /**
   * Each `[follower, leader]`: the follower's replica fetches from that leader are cut (its Raft and controller links,
   * and the leader's links to it, stay up), replacing any earlier per-link fault, until `heal()`.
   */
  cutReplication(pairs: readonly (readonly [follower: number, leader: number])[]): void {
    const blocked = new Map<number, string[]>([...this.nodes.keys()].map((id) => [id, []]))
    for (const [follower, leader] of pairs) blocked.get(leader)!.push(`peer:${follower}/replica`)
    for (const n of this.nodes.values()) n.proxy.blockSources(blocked.get(n.id)!)
  }

  /**
   * A ring: each node keeps its peer links only to its two neighbours in `order` (a permutation of every node id);
   * every other pair is cut both ways, client links stay up. Replaces any earlier per-link fault; `heal()` ends it.
   */
  ringPartition(order: readonly number[]): void {
    if (order.length !== this.nodes.size || new Set(order).size !== order.length || order.some((id) => !this.nodes.has(id))) {
      throw new Error(`ring ${order.join('-')} is not a permutation of the nodes`)
    }
    const n = order.length
    const adjacent = (a: number, b: number) => {
      const d = Math.abs(order.indexOf(a) - order.indexOf(b))
      return d === 1 || d === n - 1
    }
    const pairs: [number, number][] = []
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (!adjacent(order[i]!, order[j]!)) pairs.push([order[i]!, order[j]!])
    this.cutLinks(pairs)
  }

  /** Clients cannot reach node `id` (its peer links stay up) until `heal()`. */
  isolateFromClients(id: number): void {
    const proxy = this.node(id).proxy
    proxy.blockSources([...proxy.blockedSources, 'client'])
  }

  /**
   * The clients' links to node `id` become a blackhole until `heal()`: nothing flows either way and nothing closes,
   * even when the node dies; clients find out only by their own timeouts. Its peer links stay as they are.
   */
  blackholeClients(id: number): void {
    const proxy = this.node(id).proxy
    proxy.blackholeSources([...proxy.blackholedSources, 'client'])
  }

  /** Removes every per-link fault (partition, cut links, client isolation, blackholes: the links a blackhole damaged are reset). */
  heal(): void {
    for (const n of this.nodes.values()) {
      n.proxy.blockSources([])
      n.proxy.blackholeSources([])
    }
  }

  /** /v1/cluster of node `id`, straight to its port (not through its proxy); null when it does not answer in time. */
  async status(id: number, timeoutMs = 2_000): Promise<ClusterStatus | null> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.node(id).port}/v1/cluster`, { signal: AbortSignal.timeout(timeoutMs) })
      return res.ok ? ((await res.json()) as ClusterStatus) : null
    } catch {
      return null
    }
  }

  /** The sum of a metric's series in node `id`'s /metrics (straight to its port); null when it does not answer. */
  async metric(id: number, name: string, timeoutMs = 1_000): Promise<number | null> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.node(id).port}/metrics`, { signal: AbortSignal.timeout(timeoutMs) })
      if (!res.ok) return null
      let sum = 0
      for (const line of (await res.text()).split('\n')) {
        const m = /^(\S+?)(?:\{[^}]*\})? (\S+)$/.exec(line)
        if (m && m[1] === name) sum += Number(m[2])
      }
      return sum
    } catch {
      return null
    }
  }

  /** Partition metadata as node `id` sees it (straight to its port); null when it does not answer or lacks the topic. */
  async partition(id: number, topic: string, partition: number, timeoutMs = 2_000): Promise<PartitionMetadata | null> {
    let conn: RawConnection | null = null
    const timer = new Promise<null>((r) => setTimeout(() => r(null), timeoutMs).unref())
    try {
      const answer = (async () => {
        conn = await RawConnection.open(`ws://127.0.0.1:${this.node(id).port}`)
        const r = await conn.request(exchanges.metadata, { topics: [topic] })
        if (!r.ok) return null
        const t = r.value.topics.find((x) => x.name === topic)
        return t?.errorCode === 0 ? t.partitions.find((p) => p.partition === partition) ?? null : null
      })()
      return await Promise.race([answer.catch(() => null), timer])
    } finally {
      ;(conn as RawConnection | null)?.close()
    }
  }

  /** Every live node's view of the partition (straight to its port), null where it does not answer. */
  async partitionViews(topic: string, partition: number, timeoutMs = 2_000): Promise<Map<number, PartitionMetadata | null>> {
    const live = this.live()
    const views = await Promise.all(live.map((id) => this.partition(id, topic, partition, timeoutMs)))
    return new Map(live.map((id, i) => [id, views[i]!]))
  }

  /**
   * One produce (acks=all, no producer id) of `values` sent to node `id` THROUGH its proxy, as a client would: a probe
   * of whether that node acknowledges writes now. The broker's answer (its offset or its error), or an `error` naming
   * the client-side timeout when none arrives in timeoutMs + 2 s.
   */
  async probeProduce(id: number, topic: string, partition: number, values: readonly string[], timeoutMs: number): Promise<{ ok: true; baseOffset: number } | { ok: false; error: string }> {
    let conn: RawConnection | null = null
    try {
      conn = await RawConnection.open(this.node(id).proxy.url)
      const batch = encodeRecordBatch({ records: values.map((v, i) => ({ key: null, value: new TextEncoder().encode(v), headers: [], timestamp: Date.now() + i })) })
      const r = await Promise.race([
        conn.request(exchanges.produce, { topic, partition, acks: -1, timeoutMs, batch }),
        new Promise<null>((resolve) => setTimeout(() => resolve(null), timeoutMs + 2_000).unref()),
      ])
      if (r === null) return { ok: false, error: `no answer in ${timeoutMs + 2_000} ms` }
      return r.ok ? { ok: true, baseOffset: r.value.baseOffset } : { ok: false, error: r.error.errorName ?? String(r.error) }
    } catch (e) {
      return { ok: false, error: String((e as Error)?.message ?? e) }
    } finally {
      ;(conn as RawConnection | null)?.close()
    }
  }

  /**
   * A controller leader every live node agrees on, with every node registered and unfenced by its CURRENT process:
   * each node's own registration (broker epoch) is the one the controller holds. (Right after a restart the replayed
   * image still shows the old process's registration, unfenced, until its session expires.)
   */
  async waitHealthy(timeoutMs = 30_000): Promise<{ leaderId: number; term: number }> {
    return until(async () => {
      const live = this.live()
      if (live.length !== this.nodes.size) return null
      const views = await Promise.all(live.map((id) => this.status(id)))
      if (views.some((v) => !v || v.leaderId === null)) return null
      const leaderIds = new Set(views.map((v) => v!.leaderId))
      if (leaderIds.size !== 1) return null
      const leaderView = views.find((v) => v!.nodeId === v!.leaderId)
      if (!leaderView?.nodes || leaderView.nodes.length !== this.nodes.size || leaderView.nodes.some((n) => !n.registered || n.fenced)) return null
      const current = views.every((v) => v!.brokerEpoch !== undefined && v!.brokerEpoch >= 0 && v!.fenced === false && leaderView.nodes!.find((n) => n.id === v!.nodeId)?.brokerEpoch === v!.brokerEpoch)
      if (!current) return null
      return { leaderId: leaderView.leaderId!, term: leaderView.term! }
    }, { timeoutMs, what: 'a controller leader and every node registered and unfenced' })
  }

  /**
   * The active controller as the LIVE nodes see it, tolerating dead or paused ones (which are not asked): every live
   * node names the same live leader at the same term, the leader reports itself active, and `accept` holds (e.g. a
   * term above the one before a kill). Unlike `waitHealthy` it does not wait for every node to be registered.
   */
  async waitController(accept: (c: { leaderId: number; term: number }) => boolean = () => true, timeoutMs = 30_000): Promise<{ leaderId: number; term: number }> {
    return until(async () => {
      const live = this.live()
      const views = await Promise.all(live.map((id) => this.status(id)))
      if (views.length === 0 || views.some((v) => !v || v.leaderId === null || v.term === null)) return null
      const first = views[0]!
      if (views.some((v) => v!.leaderId !== first.leaderId || v!.term !== first.term) || !live.includes(first.leaderId!)) return null
      const leaderView = views.find((v) => v!.nodeId === first.leaderId)
      const c = { leaderId: first.leaderId!, term: first.term! }
      return leaderView?.controllerActive === true && accept(c) ? c : null
    }, { timeoutMs, what: 'an active controller every live node agrees on' })
  }

  /**
   * The partition's leader at the newest leader epoch any live node reports, once the leader itself reports that
   * epoch and `accept` holds for its view. (A node just restarted can answer from a stale metadata image, naming an
   * old leader at an old epoch: the newest epoch wins.)
   */
  async waitLeader(topic: string, partition: number, accept: (p: PartitionMetadata) => boolean = () => true, timeoutMs = 30_000): Promise<PartitionMetadata> {
    return until(async () => {
      const live = this.live()
      const views = (await Promise.all(live.map((id) => this.partition(id, topic, partition)))).filter((p): p is PartitionMetadata => p !== null)
      if (views.length === 0) return null
      const newest = views.reduce((a, b) => (b.leaderEpoch > a.leaderEpoch ? b : a))
      if (newest.leader <= 0 || !live.includes(newest.leader)) return null
      const own = await this.partition(newest.leader, topic, partition)
      return own && own.leader === newest.leader && own.leaderEpoch === newest.leaderEpoch && accept(own) ? own : null
    }, { timeoutMs, what: `a live leader of ${topic}/${partition}` })
  }

  /** The active controller every live node names (waits up to timeoutMs). */
  async activeController(timeoutMs = 30_000): Promise<{ leaderId: number; term: number }> {
    return until(async () => {
      const views = await Promise.all(this.live().map((id) => this.status(id)))
      if (views.some((v) => !v || v.leaderId === null || v.term === null)) return null
      const ids = new Set(views.map((v) => v!.leaderId))
      const leader = views.find((v) => v!.nodeId === v!.leaderId)
      return ids.size === 1 && leader ? { leaderId: leader.leaderId!, term: leader.term! } : null
    }, { timeoutMs, what: 'an active controller every live node names' })
  }

  /** How many log lines node `id` has written so far: a mark for `waitLog`. */
  logMark(id: number): number {
    return this.node(id).process?.logs.length ?? 0
  }

  /** The first log line of node `id` after `mark` (from `logMark`) that `match` accepts; waits up to timeoutMs. */
  waitLog(id: number, mark: number, match: (l: JsonLogLine) => boolean, what: string, timeoutMs = 30_000): Promise<JsonLogLine> {
    return until(() => this.node(id).process?.logs.slice(mark).find(match), { timeoutMs, what: `node ${id} to log ${what}` })
  }

  /** SIGKILLs what still runs, closes the proxies, deletes the data directories. */
  async close(): Promise<void> {
    for (const n of this.nodes.values()) {
      if (n.process) {
        if (n.paused) n.process.kill('SIGCONT')
        n.process.kill('SIGKILL')
        await n.process.exited
        n.process = null
      }
    }
    await killAll()
    await Promise.all([...this.nodes.values()].map((n) => n.proxy.close()))
    await rm(this.#root, { recursive: true, force: true })
  }
}
