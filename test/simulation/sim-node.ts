/**
 * @module One simulated server: a RaftNode, the driver that honours its contract, a disk whose unsynced
 * writes a crash loses, and a tiny application (a running hash of the applied entries).
 *
 * The driver follows raft-node.ts: each Ready is written to the disk's write-ahead log at once, but its
 * messages, committed entries and read states are held until the next fsync (group commit); a crash loses
 * the held items and any unsynced tail of the log.
 */
import type { Entry, HardState, Membership, Message, NodeId, ReadState, Snapshot } from '../../packages/server/src/controller/raft/index.js'
import { MemoryRaftStorage, RaftNode } from '../../packages/server/src/controller/raft/index.js'
import { nextStateHash, type Invariants } from './invariants.js'
import type { SeededRandom } from './seeded-random.js'
import type { SimNetwork } from './sim-network.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

interface WalRecord {
  readonly snapshot?: Snapshot
  readonly entries: readonly Entry[]
  readonly hardState?: HardState
}

/** The durable state (a MemoryRaftStorage standing for the files) and the writes not yet fsynced. */
class SimDisk {
  readonly durable: MemoryRaftStorage
  #unsynced: WalRecord[] = []
  readonly #onHardState: (before: HardState, after: HardState) => void

  constructor(membership: Membership, onHardState: (before: HardState, after: HardState) => void) {
    this.durable = new MemoryRaftStorage(membership)
    this.#onHardState = onHardState
  }

  get unsyncedCount(): number {
    return this.#unsynced.length
  }

  write(record: WalRecord): void {
    this.#unsynced.push(record)
  }

  sync(): void {
    for (const r of this.#unsynced) this.#apply(r)
    this.#unsynced = []
  }

  /** A crash: the first `keep` unsynced records reached the disk (a torn log is cut at a record boundary), the rest is lost. */
  crash(keep: number): void {
    for (const r of this.#unsynced.slice(0, keep)) this.#apply(r)
    this.#unsynced = []
  }

  #apply(r: WalRecord): void {
    if (r.snapshot) this.durable.applySnapshot(r.snapshot)
    this.durable.append(r.entries)
    if (r.hardState) {
      this.#onHardState(this.durable.hardState(), r.hardState)
      this.durable.setHardState(r.hardState)
    }
  }
}

export interface SimNodeConfig {
  readonly id: NodeId
  readonly membership: Membership
  readonly electionTicks: number
  readonly heartbeatTicks: number
  readonly maxAppendBytes: number
  readonly maxInflightAppends: number
}

export class SimNode {
  readonly id: NodeId
  readonly #config: SimNodeConfig
  readonly #network: SimNetwork
  readonly #checker: Invariants
  readonly #disk: SimDisk
  node: RaftNode | undefined
  #view!: MemoryRaftStorage
  #outbox: Message[] = []
  #held: { snapshot?: Snapshot; entries: readonly Entry[]; readStates: readonly ReadState[] }[] = []
  #commit = 0
  #term = 0
  /** The application: applied index and state hash. */
  appliedIndex = 0
  stateHash = 0
  readonly #onApplied: (id: NodeId, data: string, index: number) => void

  constructor(config: SimNodeConfig, network: SimNetwork, checker: Invariants, onApplied: (id: NodeId, data: string, index: number) => void) {
    this.id = config.id
    this.#config = config
    this.#network = network
    this.#checker = checker
    this.#onApplied = onApplied
    this.#disk = new SimDisk(config.membership, (before, after) => checker.onDurableHardState(config.id, before, after))
  }

  get alive(): boolean {
    return this.node !== undefined
  }

  get unsyncedCount(): number {
    return this.#disk.unsyncedCount
  }

  /** (Re)starts from what is durable: the application from the persisted snapshot, the log from the disk. */
  start(random: SeededRandom): void {
    this.#view = this.#disk.durable.copy()
    const snapshot = this.#view.snapshot()
    this.#restoreApp(snapshot)
    this.node = new RaftNode({
      id: this.id,
      storage: this.#view,
      electionTicks: this.#config.electionTicks,
      heartbeatTicks: this.#config.heartbeatTicks,
      random: () => random.next(),
      maxAppendBytes: this.#config.maxAppendBytes,
      maxInflightAppends: this.#config.maxInflightAppends,
    })
    this.#commit = this.node.status().commit
    this.#term = this.node.status().term
  }

  crash(random: SeededRandom): void {
    this.node = undefined
    this.#outbox = []
    this.#held = []
    this.#disk.crash(random.int(0, this.#disk.unsyncedCount))
  }

  tick(nowTicks: number): void {
    this.node!.tick()
    this.#processReady(nowTicks)
  }

  step(m: Message, nowTicks: number): void {
    this.node!.step(m)
    this.#processReady(nowTicks)
  }

  propose(data: string, nowTicks: number): boolean {
    const ok = this.node!.propose(encoder.encode(data))
    this.#processReady(nowTicks)
    return ok
  }

  readIndex(context: string, nowTicks: number): boolean {
    this.#checker.onReadRequest(context)
    const ok = this.node!.readIndex(encoder.encode(context))
    this.#processReady(nowTicks)
    return ok
  }

  #processReady(_nowTicks: number): void {
    const node = this.node!
    while (node.hasReady()) {
      const rd = node.ready()
      if (rd.hardState) this.#term = rd.hardState.term
      this.#checker.onReady(this.id, node, rd, this.#commit, this.#term)
      if (rd.hardState) this.#commit = rd.hardState.commit
      // The raft's own view of stable storage, then the write-ahead log (durable at the next sync).
      if (rd.snapshot) this.#view.applySnapshot(rd.snapshot)
      this.#view.append(rd.entries)
      if (rd.hardState) this.#view.setHardState(rd.hardState)
      this.#disk.write({ ...(rd.snapshot ? { snapshot: rd.snapshot } : {}), entries: rd.entries, ...(rd.hardState ? { hardState: rd.hardState } : {}) })
      this.#outbox.push(...rd.messages)
      if (rd.snapshot || rd.committedEntries.length > 0 || rd.readStates.length > 0) {
        this.#held.push({ ...(rd.snapshot ? { snapshot: rd.snapshot } : {}), entries: rd.committedEntries, readStates: rd.readStates })
      }
      node.advance()
    }
  }

  /** fsync: what was written is durable, so its messages may leave and its entries be applied. */
  sync(nowTicks: number): void {
    this.#disk.sync()
    const out = this.#outbox
    this.#outbox = []
    for (const m of out) this.#network.send(m, nowTicks)
    const held = this.#held
    this.#held = []
    for (const h of held) {
      if (h.snapshot) this.#restoreApp(h.snapshot)
      for (const e of h.entries) {
        const hash = nextStateHash(this.stateHash, e)
        this.#checker.onApply(this.id, this.appliedIndex, e, hash)
        this.appliedIndex = e.index
        this.stateHash = hash
        if (e.data.length > 0) this.#onApplied(this.id, decoder.decode(e.data), e.index)
      }
      for (const rs of h.readStates) this.#checker.onReadState(this.id, rs, decoder.decode(rs.context))
    }
  }

  /** Compacts the log behind a snapshot of the application once `minEntries` applied entries are in it. */
  maybeCompact(minEntries: number): boolean {
    const first = this.#view.firstIndex()
    if (this.appliedIndex - first + 1 < minEntries || this.appliedIndex <= this.#disk.durable.snapshot().metadata.index) return false
    const data = encoder.encode(`${this.appliedIndex}:${this.stateHash}`)
    this.node!.compact(this.appliedIndex, data)
    // The snapshot file is written and fsynced before the log files behind it are dropped.
    this.#disk.durable.compact(this.appliedIndex, data)
    return true
  }

  #restoreApp(snapshot: Snapshot): void {
    const { index } = snapshot.metadata
    if (index === 0) {
      this.appliedIndex = 0
      this.stateHash = 0
      return
    }
    const [at, hash] = decoder.decode(snapshot.data).split(':').map(Number)
    if (at !== index) throw new Error(`snapshot data names index ${at}, metadata ${index}`)
    this.#checker.onRestore(this.id, index, hash!)
    this.appliedIndex = index
    this.stateHash = hash!
  }
}
