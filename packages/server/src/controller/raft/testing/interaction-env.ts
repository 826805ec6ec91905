/**
 * @module The interaction-test environment (after etcd-raft's rafttest.InteractionEnv): nodes driven by text
 * commands, a message queue delivered on command, and every Ready printed. `process-ready` is the driver:
 * it persists the Ready (the node's storage is its durable state), queues the messages and applies the
 * committed entries; `restart` rebuilds a node from what `process-ready` persisted, losing everything else.
 *
 * Commands: add-nodes N voters=(..) [learners=(..)] [index=I] [prevote=false] [checkquorum=false] [random=R]
 * [heartbeat=TICKS] [max-append-bytes=B];
 * campaign ID; propose ID DATA; read-index ID CTX; process-ready [IDS]; deliver-msgs [IDS] [drop=true];
 * stabilize [IDS]; tick ID N; tick-election ID (electionTicks ticks); tick-heartbeat ID; isolate ID; heal;
 * restart ID; compact ID INDEX; status [IDS]; raft-state; raft-log ID; app [IDS]; log-level none|info.
 */
import type { Logger } from '@samsa/shared'
import type { Message, NodeId } from '../messages.js'
import { RaftNode } from '../raft-node.js'
import { MemoryRaftStorage } from '../raft-storage.js'
import { parseCommand, type Command } from './datadriven.js'
import { describeEntry, describeMessage, describeReady, describeStatus } from './describe.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

interface EnvNode {
  readonly id: NodeId
  readonly storage: MemoryRaftStorage
  node: RaftNode
  /** The application: the data of each applied non-empty entry, and the applied index. */
  app: string[]
  appliedIndex: number
  readonly options: { preVote: boolean; checkQuorum: boolean; random: number; heartbeatTicks: number; maxAppendBytes?: number }
}

const ELECTION_TICKS = 10
const HEARTBEAT_TICKS = 1

export class InteractionEnv {
  readonly #nodes = new Map<NodeId, EnvNode>()
  #queue: Message[] = []
  readonly #isolated = new Set<NodeId>()
  #out: string[] = []
  #logInfo = true

  /** Runs one command line and returns its output. */
  run(line: string): string {
    this.#out = []
    const cmd = parseCommand(line)
    this.#dispatch(cmd)
    return this.#out.join('\n')
  }

  #dispatch(cmd: Command): void {
    const ids = cmd.args.map(Number)
    switch (cmd.name) {
      case 'add-nodes':
        return this.#addNodes(Number(cmd.args[0]), cmd.kv)
      case 'campaign':
        return this.#node(ids[0]).node.campaign()
      case 'propose':
        if (!this.#node(ids[0]).node.propose(encoder.encode(cmd.args[1] ?? ''))) this.#print('dropped proposal')
        return
      case 'read-index':
        if (!this.#node(ids[0]).node.readIndex(encoder.encode(cmd.args[1] ?? ''))) this.#print('dropped read-index request')
        return
      case 'process-ready':
        for (const id of this.#ids(ids)) this.#processReady(id)
        return
      case 'deliver-msgs':
        for (const id of this.#ids(ids)) this.#deliver(id, cmd.kv.get('drop') === 'true')
        return
      case 'stabilize':
        return this.#stabilize(this.#ids(ids))
      case 'tick-election':
        for (let i = 0; i < ELECTION_TICKS; i++) this.#node(ids[0]).node.tick()
        return
      case 'tick':
        for (let i = 0; i < Number(cmd.args[1]); i++) this.#node(ids[0]).node.tick()
        return
      case 'tick-heartbeat':
        for (let i = 0; i < this.#node(ids[0]).options.heartbeatTicks; i++) this.#node(ids[0]).node.tick()
        return
      case 'isolate':
        this.#isolated.add(this.#node(ids[0]).id)
        return
      case 'heal':
        this.#isolated.clear()
        return
      case 'restart':
        return this.#restart(this.#node(ids[0]))
      case 'compact':
        return this.#compact(this.#node(ids[0]), Number(cmd.args[1]))
      case 'status':
        for (const id of this.#ids(ids)) this.#print(...describeStatus(this.#node(id).node.status()))
        return
      case 'raft-state':
        for (const n of this.#nodes.values()) {
          const s = n.node.status()
          this.#print(`${n.id}: ${s.role} term:${s.term} lead:${s.lead}${this.#isolated.has(n.id) ? ' (isolated)' : ''}`)
        }
        return
      case 'raft-log': {
        const entries = this.#node(ids[0]).node.entries()
        this.#print(...(entries.length === 0 ? ['log is empty'] : entries.map(describeEntry)))
        return
      }
      case 'app':
        for (const id of this.#ids(ids)) {
          const n = this.#node(id)
          this.#print(`${id}: applied:${n.appliedIndex} [${n.app.join(',')}]`)
        }
        return
      case 'log-level':
        this.#logInfo = cmd.args[0] !== 'none'
        return
      default:
        throw new Error(`unknown command ${cmd.name}`)
    }
  }

  #print(...lines: string[]): void {
    this.#out.push(...lines)
  }

  #node(id: number | undefined): EnvNode {
    const n = id === undefined ? undefined : this.#nodes.get(id)
    if (!n) throw new Error(`no node ${id}`)
    return n
  }

  #ids(ids: number[]): NodeId[] {
    return ids.length > 0 ? ids : [...this.#nodes.keys()]
  }

  #logger(): Logger {
    const write = (_: object, msg?: string) => {
      if (this.#logInfo && msg) this.#out.push(`INFO ${msg}`)
    }
    const logger: Logger = { debug() {}, info: write, warn: write, error: write, child: () => logger }
    return logger
  }

  #addNodes(count: number, kv: Command['kv']): void {
    const list = (k: string) => ((kv.get(k) as string[] | undefined) ?? []).map(Number)
    const voters = list('voters')
    const learners = list('learners')
    const index = Number(kv.get('index') ?? 0)
    // random=r fixes every election timeout at electionTicks + ⌊r·electionTicks⌋ (default r = 0: exactly electionTicks).
    const options = {
      preVote: kv.get('prevote') !== 'false',
      checkQuorum: kv.get('checkquorum') !== 'false',
      random: Number(kv.get('random') ?? 0),
      heartbeatTicks: Number(kv.get('heartbeat') ?? HEARTBEAT_TICKS),
      ...(kv.has('max-append-bytes') ? { maxAppendBytes: Number(kv.get('max-append-bytes')) } : {}),
    }
    const first = this.#nodes.size + 1
    for (let id = first; id < first + count; id++) {
      const storage = new MemoryRaftStorage({ voters, learners })
      if (index > 0) {
        // Every node starts from the same bootstrap snapshot at (index, term 1).
        storage.applySnapshot({ metadata: { index, term: 1, voters, learners }, data: new Uint8Array(0) })
        storage.setHardState({ term: 1, vote: 0, commit: index })
      }
      const n: EnvNode = { id, storage, node: this.#newNode(id, storage, options), app: [], appliedIndex: index, options }
      this.#nodes.set(id, n)
    }
  }

  #newNode(id: NodeId, storage: MemoryRaftStorage, options: EnvNode['options']): RaftNode {
    return new RaftNode({
      id,
      storage,
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: options.heartbeatTicks,
      random: () => options.random,
      preVote: options.preVote,
      checkQuorum: options.checkQuorum,
      ...(options.maxAppendBytes === undefined ? {} : { maxAppendBytes: options.maxAppendBytes }),
      logger: this.#logger(),
    })
  }

  #processReady(id: NodeId): void {
    const n = this.#node(id)
    if (!n.node.hasReady()) return
    const rd = n.node.ready()
    this.#print(`> ${id} handling Ready`, ...describeReady(rd).map((l) => `  ${l}`))
    if (rd.snapshot) {
      n.storage.applySnapshot(rd.snapshot)
      n.app = splitApp(rd.snapshot.data)
      n.appliedIndex = rd.snapshot.metadata.index
    }
    n.storage.append(rd.entries)
    if (rd.hardState) n.storage.setHardState(rd.hardState)
    this.#queue.push(...rd.messages)
    for (const e of rd.committedEntries) {
      if (e.data.length > 0) n.app.push(decoder.decode(e.data))
      n.appliedIndex = e.index
    }
    n.node.advance()
  }

  #deliver(id: NodeId, drop: boolean): void {
    const mine = this.#queue.filter((m) => m.to === id)
    if (mine.length === 0) return
    this.#queue = this.#queue.filter((m) => m.to !== id)
    this.#print(`> ${id} receiving messages`)
    for (const m of mine) {
      if (drop || this.#isolated.has(m.from) || this.#isolated.has(m.to)) {
        this.#print(`  dropped: ${describeMessage(m)}`)
        continue
      }
      this.#print(`  ${describeMessage(m)}`)
      this.#node(id).node.step(m)
    }
  }

  #stabilize(ids: NodeId[]): void {
    for (let round = 0; round < 1000; round++) {
      let busy = false
      for (const id of ids) {
        if (this.#node(id).node.hasReady()) {
          busy = true
          this.#processReady(id)
        }
      }
      for (const id of ids) {
        if (this.#queue.some((m) => m.to === id)) {
          busy = true
          this.#deliver(id, false)
        }
      }
      if (!busy) return
    }
    throw new Error('stabilize did not settle in 1000 rounds')
  }

  /** A crash and restart: the node keeps only what process-ready persisted; the application restarts from the snapshot. */
  #restart(n: EnvNode): void {
    n.node = this.#newNode(n.id, n.storage, n.options)
    const snapshot = n.storage.snapshot()
    n.app = splitApp(snapshot.data)
    n.appliedIndex = snapshot.metadata.index
  }

  #compact(n: EnvNode, index: number): void {
    if (index !== n.appliedIndex) throw new Error(`compact ${index}: the interaction env snapshots at the applied index (${n.appliedIndex})`)
    n.node.compact(index, encoder.encode(n.app.join(',')))
  }
}

function splitApp(data: Uint8Array): string[] {
  const s = decoder.decode(data)
  return s === '' ? [] : s.split(',')
}
