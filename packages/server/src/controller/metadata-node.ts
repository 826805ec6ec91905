/**
 * @module MetadataNode: the metadata log made live on one node, between the Raft driver and the metadata layer.
 *
 * Every voter: the driver's `apply` hands each committed entry (one metadata batch) to AppliedMetadata, which applies
 * it to the committed MetadataImage at the entry's Raft index (so image.offset is a Raft index); `restore` replaces
 * the image by a snapshot's; every `snapshotEveryEntries` applied entries the image is encoded and handed to the
 * driver's `compact`. Listeners see each (before, after) pair in log order. The recent batches are also kept for
 * broker-only nodes, which fetch them from any voter (MetadataLogServer, `fetchMetadata`).
 *
 * The active controller (the Raft leader, once it has applied the log up to its own first entry of its term, which a
 * read-index round proves) runs QuorumController on its latest image: the committed image plus its own proposals not
 * yet applied, each at the index the driver will give it (lastIndex + 1, since a leader appends synchronously). So
 * consecutive decisions build on each other (a second fence, a second registration, never repeat the first). Each
 * decision's records are proposed as one entry; its promise settles once that entry is applied here. Leadership lost,
 * a term changed, or a proposal refused: the pending image is dropped and the node is inactive until it activates
 * again. Session fencing (`tick`) and preferred-leader elections run on timers through the Clock port.
 *
 * Invariants: decisions are only taken while active (else NOT_CONTROLLER with the known leader); the pending image is
 * null or equals the committed image plus exactly the records of the `#inFlight` proposals, in index order.
 */
import { SamsaError, silentLogger, type Logger } from '@samsa/shared'
import type { Clock, Timer } from '../clock.js'
import type { FetchMetadataRequest, FetchMetadataResponse } from '@samsa/shared'
import { AppliedMetadata, type ImageListener } from './applied-metadata.js'
import { MetadataLogServer } from './metadata-log-server.js'
import type { ControllerState, MetadataView } from './metadata-view.js'
import {
  QuorumController, applyBatch, encodeMetadataBatch, encodeMetadataImage, defaultQuorumControllerConfig, type BrokerHeartbeatRequest, type CreateTopicRequest, type MetadataImage, type MetadataRecord,
  type QuorumControllerConfig, type RegisterBrokerRequest, type AlterPartitionRequest, type PartitionRegistration,
} from './metadata/index.js'
import type { Entry, Snapshot } from './raft/index.js'
import type { Proposed, RaftDriverStatus } from './raft-driver.js'

/** What the metadata node needs of the Raft driver (RaftDriver has it). */
export interface MetadataRaft {
  status(): RaftDriverStatus
  propose(data: Uint8Array): Promise<Proposed>
  readIndex(): Promise<number>
  compact(index: number, data: Uint8Array): void
  /** When (monotonic ms) a message from node `id` last arrived; null: never. */
  lastHeardFromMs(id: number): number | null
}

export interface MetadataNodeOptions {
  readonly nodeId: number
  readonly clock: Clock
  /** Uniform in [0, 1): replica placement. */
  readonly random: () => number
  readonly logger?: Logger
  readonly controller?: Partial<QuorumControllerConfig>
  /** Compact the Raft log behind a snapshot of the image every this many applied entries (default 1,000). */
  readonly snapshotEveryEntries?: number
  /** How often the node checks its Raft role and runs session fencing (default 100 ms). */
  readonly pollMs?: number
  /** How often the active controller moves leadership back to preferred replicas (default 30 s; 0: never). */
  readonly preferredLeaderIntervalMs?: number
}

export type { ControllerState, ImageListener }

interface InFlight {
  readonly index: number
}

export class MetadataNode implements MetadataView {
  readonly #nodeId: number
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #controller: QuorumController
  readonly #config: QuorumControllerConfig
  readonly #snapshotEvery: number
  readonly #pollMs: number
  readonly #preferredEveryMs: number
  #raft: MetadataRaft | null = null
  readonly #applied: AppliedMetadata
  readonly #log: MetadataLogServer
  #lastSnapshotIndex = 0
  #appliedSinceSnapshot = 0
  /** The term this node is active in; 0 when inactive. */
  #activeTerm = 0
  /** The term an activation (a read-index round) is under way for. */
  #activatingTerm = 0
  /** The last quorum leader other than this node that this node saw leading (0: none yet). */
  #followedLeader = 0
  #pending: MetadataImage | null = null
  #inFlight: InFlight[] = []
  #timer: Timer | null = null
  #lastPreferredMs = 0
  #stopped = false

  constructor(opts: MetadataNodeOptions) {
    this.#nodeId = opts.nodeId
    this.#clock = opts.clock
    this.#logger = opts.logger ?? silentLogger
    this.#config = { ...defaultQuorumControllerConfig, ...opts.controller }
    this.#controller = new QuorumController(this.#config, { random: opts.random })
    this.#snapshotEvery = Math.max(1, opts.snapshotEveryEntries ?? 1_000)
    this.#pollMs = opts.pollMs ?? 100
    this.#preferredEveryMs = opts.preferredLeaderIntervalMs ?? 30_000
    this.#applied = new AppliedMetadata(opts.nodeId, opts.clock, this.#logger)
    this.#log = new MetadataLogServer({
      clock: opts.clock,
      maxKeptEntries: this.#snapshotEvery,
      current: () => {
        const s = this.#raft?.status()
        return { image: this.#applied.image, leaderId: s?.leaderId ?? 0, term: s?.term ?? 0 }
      },
    })
  }

  get config(): QuorumControllerConfig {
    return this.#config
  }

  /** The committed image (what every node agrees on up to its offset). */
  get image(): MetadataImage {
    return this.#applied.image
  }

  /** Connects the driver (created after this node, since it takes `apply` and `restore`) and starts the timer. */
  attach(raft: MetadataRaft): void {
    this.#raft = raft
    this.#lastPreferredMs = this.#clock.monotonicMs()
    this.#arm()
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer) this.#clock.clearTimeout(this.#timer)
    this.#timer = null
    this.#deactivate()
    this.#log.stop()
  }

  /** Runs `listener` after each change of the committed image; returns the unregister function. */
  onImage(listener: ImageListener): () => void {
    return this.#applied.onImage(listener)
  }

  /** Resolves once the committed image satisfies `pred` (at once when it does); rejects with REQUEST_TIMED_OUT after timeoutMs. */
  waitFor(pred: (image: MetadataImage) => boolean, timeoutMs: number, what: string): Promise<void> {
    return this.#applied.waitFor(pred, timeoutMs, what)
  }

  /** A broker-only node's long poll for the committed batches after its offset (any voter serves it). */
  /** Broker-only nodes' metadata fetches this voter holds now. */
  get metadataFetchesWaiting(): number {
    return this.#log.waiting
  }

  fetchMetadata(req: FetchMetadataRequest): Promise<FetchMetadataResponse> {
    return this.#log.fetch(req)
  }

  state(): ControllerState {
    const s = this.#raft?.status()
    return {
      active: this.#activeTerm !== 0,
      role: s?.role ?? 'follower',
      term: s?.term ?? 0,
      leaderId: s?.leaderId ?? 0,
      metadataOffset: this.#applied.image.offset,
      appliedIndex: s?.appliedIndex ?? 0,
    }
  }

  /** When the active controller last heard from a broker (undefined when inactive or not since activation). */
  lastHeartbeatMs(brokerId: number): number | undefined {
    return this.#activeTerm === 0 ? undefined : this.#controller.lastHeartbeatMs(brokerId)
  }

  // ---- the driver's callbacks ----

  /** The driver's `apply`: one committed entry = one metadata batch. A throw (damaged log, broken invariant) stops the driver. */
  apply(entry: Entry): MetadataImage {
    const after = this.#applied.applyEntry(entry.index, entry.data, () => {
      if (this.#inFlight.length > 0) {
        if (this.#inFlight[0]!.index === entry.index) this.#inFlight.shift()
        else if (this.#inFlight[0]!.index <= entry.index) this.#deactivate('an entry it did not propose took the index of its pending proposal')
      }
      if (this.#inFlight.length === 0) this.#pending = null
    })
    this.#log.onApplied(entry.index, entry.data)
    if (++this.#appliedSinceSnapshot >= this.#snapshotEvery) this.#scheduleCompaction(entry.index, after)
    return after
  }

  /** The driver's `restore`: the image of a snapshot (at start, or sent by the leader). */
  restore(snapshot: Snapshot): void {
    const after = this.#applied.restore(snapshot.data, () => {
      this.#lastSnapshotIndex = snapshot.metadata.index
      this.#appliedSinceSnapshot = 0
      this.#deactivate('a snapshot replaced the image')
    })
    this.#log.onRestored(after.offset)
  }

  // ---- the active controller's operations ----

  registerBroker(req: RegisterBrokerRequest): Promise<{ brokerEpoch: number }> {
    return this.#decide((img, now) => this.#controller.registerBroker(img, req, now), (r) => ({ brokerEpoch: r.brokerEpoch }))
  }

  heartbeat(req: BrokerHeartbeatRequest): Promise<{ fenced: boolean; shouldShutDown: boolean }> {
    return this.#decide((img, now) => this.#controller.heartbeat(img, req, now), (r) => ({ fenced: r.fenced, shouldShutDown: r.shouldShutDown }))
  }

  createTopic(req: CreateTopicRequest): Promise<{ name: string; partitions: number; offset: number }> {
    return this.#decide((img) => this.#controller.createTopic(img, req), (_r, offset) => ({ name: req.name, partitions: req.partitions, offset }))
  }

  deleteTopic(name: string): Promise<{ offset: number }> {
    return this.#decide((img) => this.#controller.deleteTopic(img, name), (_r, offset) => ({ offset }))
  }

  allocateProducerIds(brokerId: number, brokerEpoch: number): Promise<{ firstProducerId: number; size: number }> {
    return this.#decide((img) => this.#controller.allocateProducerIds(img, brokerId, brokerEpoch), (r) => ({ firstProducerId: r.firstProducerId, size: r.size }))
  }

  /** A partition leader's ISR change (QuorumController.alterPartition: leader, leader epoch and partition epoch checked). */
  alterPartition(req: AlterPartitionRequest): Promise<PartitionRegistration> {
    return this.#decide((img) => this.#controller.alterPartition(img, req), (r) => r.partition)
  }

  /**
   * Takes one decision on the latest image and proposes its records as one entry; resolves with `answer` once that
   * entry is applied here (at once when there is nothing to propose). A decision's own error rejects as is.
   */
  async #decide<R extends { records: MetadataRecord[] }, A>(decide: (image: MetadataImage, nowMs: number) => R, answer: (r: R, offset: number) => A): Promise<A> {
    const raft = this.#assertActive()
    const latest = this.#pending ?? this.#applied.image
    const result = decide(latest, this.#clock.nowMs())
    if (result.records.length === 0) return answer(result, latest.offset)
    const index = raft.status().lastIndex + 1
    // Checked here as on every node: a record the image refuses is never proposed.
    const next = applyBatch(latest, result.records, index)
    const proposed = raft.propose(encodeMetadataBatch(result.records))
    this.#pending = next
    this.#inFlight.push({ index })
    try {
      const p = await proposed
      if (p.index !== index) throw new SamsaError('NOT_CONTROLLER', `the proposal took index ${p.index}, not ${index}`)
      return answer(result, p.index)
    } catch (e) {
      this.#deactivate(`a proposal failed: ${e instanceof Error ? e.message : String(e)}`)
      throw e
    }
  }

  #assertActive(): MetadataRaft {
    const raft = this.#raft
    const s = raft?.status()
    if (!raft || !s || this.#stopped) throw new SamsaError('NOT_CONTROLLER', `node ${this.#nodeId} has no running controller`)
    if (this.#activeTerm !== 0 && (s.role !== 'leader' || s.term !== this.#activeTerm)) this.#deactivate('it is no longer the leader of its term')
    if (this.#activeTerm === 0) {
      const leader = s.role === 'leader' ? 0 : s.leaderId
      const why = s.role === 'leader' ? `node ${this.#nodeId} leads but has not yet applied the log of its term` : leader === 0 ? `node ${this.#nodeId} is not the active controller and knows of none` : `node ${this.#nodeId} is not the active controller; node ${leader} is`
      throw new SamsaError('NOT_CONTROLLER', why, leader === 0 ? {} : { leaderId: leader })
    }
    return raft
  }

  #deactivate(why?: string): void {
    if (this.#activeTerm !== 0 && why) this.#logger.info({ nodeId: this.#nodeId, term: this.#activeTerm, why }, 'no longer the active controller')
    this.#activeTerm = 0
    this.#activatingTerm = 0
    this.#pending = null
    this.#inFlight = []
  }

  /** After apply returns (the driver counts the entry applied only then), so `compact` sees it. */
  #scheduleCompaction(index: number, image: MetadataImage): void {
    this.#appliedSinceSnapshot = 0
    void Promise.resolve().then(() => {
      if (this.#stopped || !this.#raft || index <= this.#lastSnapshotIndex) return
      try {
        this.#raft.compact(index, encodeMetadataImage(image))
        this.#lastSnapshotIndex = index
      } catch (err) {
        this.#logger.warn({ err, index }, 'metadata log compaction failed; retrying at the next interval')
      }
    })
  }

  #arm(): void {
    if (this.#stopped) return
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null
      try {
        this.#poll()
      } catch (err) {
        this.#logger.error({ err }, 'the metadata controller timer failed')
      }
      this.#arm()
    }, this.#pollMs)
  }

  /** The quorum leader this node followed last, and when (wall ms) it last heard from it; undefined: none. */
  #formerController(raft: MetadataRaft): { brokerId: number; lastContactMs: number } | undefined {
    const id = this.#followedLeader
    const heard = id === 0 ? null : raft.lastHeardFromMs(id)
    if (heard === null) return undefined
    return { brokerId: id, lastContactMs: this.#clock.nowMs() - (this.#clock.monotonicMs() - heard) }
  }

  /** Follows the Raft role: activates after a read-index round in a new term as leader; fences expired sessions while active. */
  #poll(): void {
    const raft = this.#raft
    if (!raft) return
    const s = raft.status()
    if (s.leaderId !== 0 && s.leaderId !== this.#nodeId) this.#followedLeader = s.leaderId
    // Observers waiting on this voter learn a new controller leader at once.
    this.#log.wake()
    if (this.#activeTerm !== 0 && (s.role !== 'leader' || s.term !== this.#activeTerm)) this.#deactivate('it is no longer the leader of its term')
    if (s.role === 'leader' && this.#activeTerm === 0 && this.#activatingTerm !== s.term) {
      const term = s.term
      this.#activatingTerm = term
      // A read index is served once an entry of this term has committed and everything up to it is applied here.
      raft.readIndex().then(
        () => {
          const now = raft.status()
          if (this.#stopped || now.role !== 'leader' || now.term !== term || this.#activeTerm !== 0) return
          this.#activeTerm = term
          this.#pending = null
          this.#inFlight = []
          this.#controller.activate(this.#applied.image, this.#clock.nowMs(), this.#formerController(raft))
          this.#followedLeader = 0 // a later term's former controller is whoever this node follows after this one
          this.#lastPreferredMs = this.#clock.monotonicMs()
          this.#logger.info({ nodeId: this.#nodeId, term, metadataOffset: this.#applied.image.offset }, 'active controller')
        },
        () => {
          if (this.#activatingTerm === term) this.#activatingTerm = 0
        },
      )
    }
    if (this.#activeTerm === 0) return
    void this.#decide((img, now) => this.#controller.tick(img, now), (r) => r.fenced).then(
      (fenced) => fenced.length > 0 && this.#logger.warn({ brokers: fenced }, 'fenced brokers whose session expired'),
      (err: unknown) => this.#logger.warn({ err: String(err) }, 'session fencing failed; retrying'),
    )
    if (this.#preferredEveryMs > 0 && this.#clock.monotonicMs() - this.#lastPreferredMs >= this.#preferredEveryMs && this.#activeTerm !== 0) {
      this.#lastPreferredMs = this.#clock.monotonicMs()
      void this.#decide((img) => this.#controller.electPreferredLeaders(img), () => undefined).catch((err: unknown) => this.#logger.warn({ err: String(err) }, 'preferred leader election failed'))
    }
  }
}
