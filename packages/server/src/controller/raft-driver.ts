/**
 * @module RaftDriver: runs a RaftNode over a RaftLogStore, a transport and a clock, exactly per the core's contract
 * (raft/raft-node.ts): tick → ready → persist → send → apply → advance. Pure: time comes from the Clock port,
 * randomness from `random`, I/O from the store (over LogStorage) and the transport port.
 *
 * Group commit: each round drains every Ready the node has into the store's view (advance() right away, as the
 * contract allows), then makes them durable with one store.sync(), and only then sends their messages, restores
 * a received snapshot, applies their committed entries in order and serves their read states. So nothing of a
 * Ready leaves the node, and no entry is applied, before that Ready is durable. Input that arrives during the
 * sync (ticks, messages, proposals) is stepped into the node at once and handled by the next round.
 *
 * Proposals are accepted by the leader only (a follower answers NOT_CONTROLLER naming the leader, as KRaft's
 * brokers send their requests to the active controller). A proposal is tracked by (index, term): it resolves
 * when that entry is applied, and is rejected with NOT_CONTROLLER when another entry is applied at its index
 * (overwritten) or this node stops leading before it applies (then its outcome is unknown: it may still commit).
 * A storage failure stops the driver (fail-stop): every pending call is rejected and `failure` is set.
 */
import { SamsaError, silentLogger, type Logger } from '@samsa/shared'
import type { Clock, Timer } from '../clock.js'
import type { Entry, Message, NodeId, Ready, Role, Snapshot } from './raft/index.js'
import { NONE, RaftNode } from './raft/index.js'
import type { RaftLogStore } from './raft-log-store.js'

/** How a driver reaches the other members. Delivery is best-effort: Raft tolerates loss, duplication and reordering. */
export interface RaftTransport {
  send(to: NodeId, messages: readonly Message[]): void
}

export interface RaftDriverOptions {
  readonly id: NodeId
  readonly store: RaftLogStore
  readonly clock: Clock
  readonly transport: RaftTransport
  /** Uniform in [0, 1): randomizes election timeouts (seeded in tests). */
  readonly random: () => number
  /** Applies one committed entry (never a leader's empty no-op); its result resolves the matching proposal. A throw stops the driver. */
  readonly apply: (entry: Entry) => unknown
  /** Replaces the application state by a snapshot's (at start and when the leader sends one). */
  readonly restore?: (snapshot: Snapshot) => void
  /** One Raft tick (default 100 ms). */
  readonly tickMs?: number
  /** Election timeout in ticks (default 10); heartbeats every heartbeatTicks (default 1). */
  readonly electionTicks?: number
  readonly heartbeatTicks?: number
  /** A read-index request unanswered after this long is rejected with REQUEST_TIMED_OUT (default two election timeouts). */
  readonly readTimeoutMs?: number
  readonly logger?: Logger
  /** Called once when the driver stops on a failure (storage, apply). */
  readonly onFailure?: (error: Error) => void
}

export interface RaftDriverStatus {
  readonly nodeId: NodeId
  readonly role: Role
  readonly term: number
  /** NONE (0) when unknown. */
  readonly leaderId: NodeId
  readonly commitIndex: number
  readonly appliedIndex: number
  /** The last index in this node's log: a leader's next proposal takes lastIndex + 1. */
  readonly lastIndex: number
}

export interface Proposed {
  readonly index: number
  readonly term: number
  /** What apply() returned for the entry. */
  readonly result: unknown
}

interface PendingProposal {
  readonly term: number
  readonly resolve: (p: Proposed) => void
  readonly reject: (e: Error) => void
}

interface PendingRead {
  readonly resolve: (index: number) => void
  readonly reject: (e: Error) => void
  readonly timer: Timer
  /** Set once the read state arrives: resolve when applied reaches it. */
  index?: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export class RaftDriver {
  readonly #node: RaftNode
  readonly #store: RaftLogStore
  readonly #clock: Clock
  readonly #transport: RaftTransport
  readonly #apply: (entry: Entry) => unknown
  readonly #restore: ((snapshot: Snapshot) => void) | undefined
  readonly #tickMs: number
  readonly #readTimeoutMs: number
  readonly #logger: Logger
  readonly #onFailure: ((error: Error) => void) | undefined
  #tickTimer: Timer | null = null
  #running = false
  #again = false
  #idleWaiters: (() => void)[] = []
  #stopped = false
  #failure: Error | null = null
  #role: Role = 'follower'
  #leaderId: NodeId = NONE
  #appliedIndex: number
  readonly #proposals = new Map<number, PendingProposal>()
  readonly #reads = new Map<string, PendingRead>()
  #nextReadId = 1
  /** Per peer, when (monotonic ms) a message from it last arrived. */
  readonly #heardAt = new Map<NodeId, number>()

  constructor(opts: RaftDriverOptions) {
    const electionTicks = opts.electionTicks ?? 10
    this.#store = opts.store
    this.#clock = opts.clock
    this.#transport = opts.transport
    this.#apply = opts.apply
    this.#restore = opts.restore
    this.#tickMs = opts.tickMs ?? 100
    this.#readTimeoutMs = opts.readTimeoutMs ?? 2 * electionTicks * this.#tickMs
    this.#logger = opts.logger ?? silentLogger
    this.#onFailure = opts.onFailure
    this.#node = new RaftNode({
      id: opts.id,
      storage: opts.store.view,
      electionTicks,
      heartbeatTicks: opts.heartbeatTicks ?? 1,
      random: opts.random,
      logger: this.#logger,
    })
    const snapshot = opts.store.view.snapshot()
    this.#appliedIndex = snapshot.metadata.index
    if (snapshot.metadata.index > 0) this.#restore?.(snapshot)
  }

  get id(): NodeId {
    return this.#node.id
  }

  /** Why the driver stopped on its own, or null. */
  get failure(): Error | null {
    return this.#failure
  }

  /** Starts ticking. */
  start(): void {
    if (this.#stopped || this.#tickTimer) return
    this.#armTick()
    this.#kick()
  }

  status(): RaftDriverStatus {
    const s = this.#node.status()
    return { nodeId: s.id, role: s.role, term: s.term, leaderId: s.lead, commitIndex: s.commit, appliedIndex: this.#appliedIndex, lastIndex: s.lastIndex }
  }

  /** When (monotonic ms) this node last received a message from `id`; null: never since it started. */
  lastHeardFromMs(id: NodeId): number | null {
    return this.#heardAt.get(id) ?? null
  }

  /** Messages from the transport; any not addressed to this node or from a non-member are ignored. */
  receive(messages: readonly Message[]): void {
    if (this.#stopped) return
    const now = this.#clock.monotonicMs()
    for (const m of messages) this.#heardAt.set(m.from, now)
    try {
      for (const m of messages) this.#node.step(m)
    } catch (e) {
      return this.#fail(e)
    }
    this.#kick()
  }

  /** Resolves once the entry is committed and applied here; NOT_CONTROLLER when this node does not lead or stops leading first. */
  propose(data: Uint8Array): Promise<Proposed> {
    if (this.#stopped) return Promise.reject(this.#stoppedError())
    if (data.length === 0) return Promise.reject(new RangeError('a proposal needs data (empty entries are leader no-ops)'))
    const s = this.#node.status()
    if (s.role !== 'leader') return Promise.reject(notController(s.lead))
    if (!this.#node.propose(data)) return Promise.reject(notController(NONE))
    const { lastIndex, term } = this.#node.status()
    return new Promise<Proposed>((resolve, reject) => {
      this.#proposals.set(lastIndex, { term, resolve, reject })
      this.#kick()
    })
  }

  /** A linearizable read point: resolves with an index once everything committed before the call is applied here. */
  readIndex(): Promise<number> {
    if (this.#stopped) return Promise.reject(this.#stoppedError())
    const id = `${this.#node.id}:${this.#nextReadId++}`
    if (!this.#node.readIndex(encoder.encode(id))) return Promise.reject(notController(this.#node.status().lead))
    return new Promise<number>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#reads.delete(id)
        reject(new SamsaError('REQUEST_TIMED_OUT', `no read index within ${this.#readTimeoutMs} ms`))
      }, this.#readTimeoutMs)
      this.#reads.set(id, { resolve, reject, timer })
      this.#kick()
    })
  }

  /**
   * Compacts the log behind a snapshot of the application state as of `index` (≤ the applied index); the
   * snapshot is durable before the segments it covers go.
   */
  compact(index: number, data: Uint8Array): void {
    if (index > this.#appliedIndex) throw new RangeError(`compaction at ${index} is beyond the applied index ${this.#appliedIndex}`)
    const snapshot = this.#node.compact(index, data)
    this.#store.compacted(snapshot)
    this.#kick()
  }

  /** Resolves when no round is running and the node has nothing ready (tests: deterministic settling). */
  idle(): Promise<void> {
    if (!this.#running && (this.#stopped || !this.#node.hasReady())) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  /** Stops ticking, lets the current round finish, rejects what is pending and closes the store. */
  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    if (this.#tickTimer) this.#clock.clearTimeout(this.#tickTimer)
    this.#tickTimer = null
    await this.idle()
    this.#rejectAll(this.#stoppedError())
    await this.#store.close()
  }

  #armTick(): void {
    this.#tickTimer = this.#clock.setTimeout(() => {
      this.#tickTimer = null
      if (this.#stopped) return
      this.#node.tick()
      this.#armTick()
      this.#kick()
    }, this.#tickMs)
  }

  #kick(): void {
    if (this.#stopped && !this.#running) return
    if (this.#running) {
      this.#again = true
      return
    }
    if (!this.#node.hasReady()) return
    this.#running = true
    void this.#loop()
  }

  async #loop(): Promise<void> {
    try {
      do {
        this.#again = false
        await this.#round()
      } while ((this.#again || this.#node.hasReady()) && !this.#failure)
    } catch (e) {
      this.#fail(e)
    } finally {
      this.#running = false
      const waiters = this.#idleWaiters
      this.#idleWaiters = []
      for (const w of waiters) w()
    }
  }

  /** One group commit: drain the Readies, one sync, then send, restore, apply and serve reads. */
  async #round(): Promise<void> {
    const readies: Ready[] = []
    while (this.#node.hasReady()) {
      const rd = this.#node.ready()
      this.#store.write(rd)
      this.#node.advance()
      readies.push(rd)
    }
    if (readies.length === 0) return
    if (this.#store.dirty) await this.#store.sync()
    const byPeer = new Map<NodeId, Message[]>()
    for (const rd of readies) {
      for (const m of rd.messages) {
        const list = byPeer.get(m.to)
        if (list) list.push(m)
        else byPeer.set(m.to, [m])
      }
    }
    for (const [to, messages] of byPeer) this.#transport.send(to, messages)
    for (const rd of readies) {
      if (rd.softState) this.#roleChanged(rd.softState.role, rd.softState.lead)
      if (rd.snapshot) {
        this.#restore?.(rd.snapshot)
        this.#appliedIndex = rd.snapshot.metadata.index
        // Proposals at or below the snapshot were decided somewhere we cannot see.
        for (const [index, p] of this.#proposals) {
          if (index > rd.snapshot.metadata.index) continue
          this.#proposals.delete(index)
          p.reject(new SamsaError('NOT_CONTROLLER', `proposal at ${index} was overtaken by a snapshot: its outcome is unknown`))
        }
      }
      for (const e of rd.committedEntries) this.#applyEntry(e)
      for (const rs of rd.readStates) {
        const read = this.#reads.get(decoder.decode(rs.context))
        if (read) read.index = rs.index
      }
    }
    this.#serveReads()
  }

  #applyEntry(e: Entry): void {
    const result = e.data.length > 0 ? this.#apply(e) : undefined
    this.#appliedIndex = e.index
    const p = this.#proposals.get(e.index)
    if (!p) return
    this.#proposals.delete(e.index)
    if (p.term === e.term) p.resolve({ index: e.index, term: e.term, result })
    else p.reject(new SamsaError('NOT_CONTROLLER', `proposal at ${e.index} (term ${p.term}) was overwritten by a newer leader's entry (term ${e.term})`))
  }

  #serveReads(): void {
    for (const [id, read] of this.#reads) {
      if (read.index === undefined || read.index > this.#appliedIndex) continue
      this.#reads.delete(id)
      this.#clock.clearTimeout(read.timer)
      read.resolve(read.index)
    }
  }

  #roleChanged(role: Role, lead: NodeId): void {
    const wasLeader = this.#role === 'leader'
    if (role !== this.#role || lead !== this.#leaderId) this.#logger.info({ raft: this.#node.id, role, leaderId: lead, term: this.#node.status().term }, 'controller role changed')
    this.#role = role
    this.#leaderId = lead
    if (wasLeader && role !== 'leader') {
      for (const [index, p] of this.#proposals) p.reject(notController(lead, `this node stopped leading before entry ${index} was applied; its outcome is unknown`))
      this.#proposals.clear()
    }
  }

  #stoppedError(): Error {
    return this.#failure ?? new SamsaError('NOT_CONTROLLER', 'the controller is stopped')
  }

  #rejectAll(error: Error): void {
    for (const p of this.#proposals.values()) p.reject(error)
    this.#proposals.clear()
    for (const r of this.#reads.values()) {
      this.#clock.clearTimeout(r.timer)
      r.reject(error)
    }
    this.#reads.clear()
  }

  #fail(e: unknown): void {
    if (this.#failure) return
    const error = e instanceof Error ? e : new Error(String(e))
    this.#failure = error
    this.#stopped = true
    if (this.#tickTimer) this.#clock.clearTimeout(this.#tickTimer)
    this.#tickTimer = null
    this.#logger.error({ err: error, raft: this.#node.id }, 'controller raft driver stopped')
    this.#rejectAll(error)
    this.#onFailure?.(error)
  }
}

function notController(leaderId: NodeId, why?: string): SamsaError {
  const message = why ?? (leaderId === NONE ? 'this node is not the active controller and knows of none' : `this node is not the active controller; node ${leaderId} is`)
  return new SamsaError('NOT_CONTROLLER', message, leaderId === NONE ? {} : { leaderId })
}
