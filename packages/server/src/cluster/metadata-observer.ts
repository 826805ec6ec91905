/**
 * @module MetadataObserver: the metadata log on a broker-only node, pure. As KRaft's brokers, a broker-only node is no
 * Raft voter: it observes the log. It long-polls a controller voter with `fetchMetadata` (the offset it has applied,
 * the controller leader it knows) and hands the answer to AppliedMetadata, the same code a voter applies its
 * committed entries with: the batches after its offset in order, or the whole image (a snapshot) when the voter no
 * longer keeps them. It is the broker's MetadataView, so ClusterNode, its ControllerChannel (which sends to the leader
 * this observer learned) and the replica manager run on it unchanged.
 *
 * Whom it asks: the controller leader every answer names (so it trails the active controller by about a round trip);
 * while none is known, the voters in turn. A voter that fails (connection lost, no answer within
 * `attemptTimeoutMs`, an error) is left for the next one, and the leader it was is forgotten. An answer from a term
 * below the one already seen does not change the leader.
 *
 * Invariants: the image only moves forward (batches at offsets above its own, a snapshot only above it); one fetch
 * is outstanding at a time; after a failure, or an early answer that changed nothing, the next fetch waits `retryMs`
 * (it never loops at the speed of a round trip); after `stop` nothing is applied.
 */
import { SamsaError, silentLogger, type FetchMetadataRequest, type FetchMetadataResponse, type Logger } from '@samsa/shared'
import type { Clock } from '../clock.js'
import { AppliedMetadata, type ImageListener } from '../controller/applied-metadata.js'
import type { MetadataImage } from '../controller/metadata/index.js'
import type { ControllerState, MetadataView } from '../controller/metadata-view.js'
import { withDeadline } from './controller-channel.js'

export interface MetadataObserverOptions {
  readonly nodeId: number
  /** The controller voters' node ids. */
  readonly voters: readonly number[]
  /** fetchMetadata to one voter (over a cluster-peer connection); rejects with its SamsaError or a network error. */
  readonly fetch: (voterId: number, req: FetchMetadataRequest) => Promise<FetchMetadataResponse>
  readonly clock: Clock
  readonly logger?: Logger
  /** The brokers' session timeout (heartbeats go every third of it). */
  readonly sessionTimeoutMs: number
  /** How long a voter may hold a fetch when nothing changes (default: a quarter of the session timeout). */
  readonly maxWaitMs?: number
  /** How long to wait for an answer before trying the next voter (default: maxWaitMs plus a quarter of the session timeout). */
  readonly attemptTimeoutMs?: number
  /** Entry bytes asked for per fetch (default 1 MiB). */
  readonly maxBytes?: number
  /** Pause after a failed fetch, or an early answer that changed nothing (default 100 ms). */
  readonly retryMs?: number
}

export class MetadataObserver implements MetadataView {
  readonly #o: MetadataObserverOptions
  readonly #logger: Logger
  readonly #applied: AppliedMetadata
  readonly config: { readonly sessionTimeoutMs: number }
  #leaderId = 0
  #term = 0
  /** The next voter to ask while no leader is known (an index into voters). */
  #cursor = 0
  /** The latest offset a voter reported (how far this node trails it). */
  #latestOffset = -1
  #running = false
  #stopped = false
  #wakeRetry: (() => void) | null = null

  constructor(opts: MetadataObserverOptions) {
    if (opts.voters.length === 0) throw new RangeError('a metadata observer needs at least one controller voter')
    if (opts.voters.includes(opts.nodeId)) throw new RangeError(`node ${opts.nodeId} is a controller voter: it has the metadata log itself`)
    this.#o = opts
    this.#logger = opts.logger ?? silentLogger
    this.#applied = new AppliedMetadata(opts.nodeId, opts.clock, this.#logger)
    this.config = { sessionTimeoutMs: opts.sessionTimeoutMs }
  }

  get image(): MetadataImage {
    return this.#applied.image
  }

  /** The latest metadata offset a voter has reported. */
  get latestOffset(): number {
    return this.#latestOffset
  }

  onImage(listener: ImageListener): () => void {
    return this.#applied.onImage(listener)
  }

  waitFor(pred: (image: MetadataImage) => boolean, timeoutMs: number, what: string): Promise<void> {
    return this.#applied.waitFor(pred, timeoutMs, what)
  }

  state(): ControllerState {
    const offset = this.#applied.image.offset
    return { active: false, role: 'observer', term: this.#term, leaderId: this.#leaderId, metadataOffset: offset, appliedIndex: offset }
  }

  /** Heartbeat times are the active controller's soft state; an observer has none. */
  lastHeartbeatMs(_brokerId: number): number | undefined {
    return undefined
  }

  /** Starts following the metadata log. */
  start(): void {
    if (this.#running || this.#stopped) return
    this.#running = true
    void this.#run()
  }

  stop(): void {
    this.#stopped = true
    this.#wakeRetry?.()
  }

  async #run(): Promise<void> {
    const { clock } = this.#o
    const maxWaitMs = this.#o.maxWaitMs ?? Math.max(50, Math.floor(this.#o.sessionTimeoutMs / 4))
    const attemptMs = this.#o.attemptTimeoutMs ?? maxWaitMs + Math.max(50, Math.floor(this.#o.sessionTimeoutMs / 4))
    while (!this.#stopped) {
      const target = this.#target()
      const req: FetchMetadataRequest = { afterOffset: this.#applied.image.offset, knownLeaderId: this.#leaderId, maxWaitMs, maxBytes: this.#o.maxBytes ?? 1024 * 1024 }
      const askedAt = clock.monotonicMs()
      try {
        const answer = await withDeadline(clock, this.#o.fetch(target, req), attemptMs, `fetchMetadata to controller ${target}`)
        if (this.#stopped) return
        const before = { offset: this.#applied.image.offset, leaderId: this.#leaderId, term: this.#term }
        this.#accept(target, answer)
        // An early answer that changed nothing (a voter shutting down, or holding its most fetches already) is not
        // asked again at once: that would loop as fast as the round trip.
        const unchanged = before.offset === this.#applied.image.offset && before.leaderId === this.#leaderId && before.term === this.#term
        if (unchanged && clock.monotonicMs() - askedAt < maxWaitMs / 2) await this.#pause()
      } catch (err) {
        if (this.#stopped) return
        this.#failed(target, err)
        await this.#pause()
      }
    }
  }

  /** Waits retryMs (stop ends it at once). */
  async #pause(): Promise<void> {
    const { clock } = this.#o
    await new Promise<void>((resolve) => {
      const timer = clock.setTimeout(() => resolve(), this.#o.retryMs ?? 100)
      this.#wakeRetry = () => (clock.clearTimeout(timer), resolve())
    })
    this.#wakeRetry = null
  }

  #target(): number {
    const { voters } = this.#o
    if (this.#leaderId !== 0 && voters.includes(this.#leaderId)) return this.#leaderId
    return voters[this.#cursor % voters.length]!
  }

  #accept(from: number, r: FetchMetadataResponse): void {
    if (r.term >= this.#term) {
      if (r.leaderId !== this.#leaderId) this.#logger.info({ nodeId: this.#o.nodeId, leaderId: r.leaderId, term: r.term, from }, 'metadata observer: controller leader')
      this.#term = r.term
      this.#leaderId = r.leaderId
    }
    // A voter that knows no leader (an election, or cut off from the quorum): the next fetch goes to the next voter.
    if (this.#leaderId === 0) this.#advance(from)
    this.#latestOffset = Math.max(this.#latestOffset, r.latestOffset)
    if (r.snapshot !== null && r.latestOffset > this.#applied.image.offset) {
      const image = this.#applied.restore(r.snapshot)
      this.#logger.info({ nodeId: this.#o.nodeId, offset: image.offset, from }, 'metadata observer: caught up from the image (snapshot)')
    }
    for (const e of r.entries) if (e.offset > this.#applied.image.offset) this.#applied.applyEntry(e.offset, e.data)
  }

  #failed(target: number, err: unknown): void {
    if (this.#leaderId === target) this.#leaderId = 0
    this.#advance(target)
    const why = err instanceof SamsaError ? `${err.errorName}: ${err.message}` : String(err)
    // An unreachable or slow voter is routine; anything else (a batch this node cannot apply, a refused hello) is not.
    const routine = err instanceof SamsaError && (err.errorName === 'NETWORK_EXCEPTION' || err.errorName === 'REQUEST_TIMED_OUT')
    this.#logger[routine ? 'debug' : 'warn']({ nodeId: this.#o.nodeId, target, err: why }, 'metadata observer: fetch failed; trying the next controller')
  }

  /** The voter after `from` in the rotation. */
  #advance(from: number): void {
    const i = this.#o.voters.indexOf(from)
    this.#cursor = i < 0 ? this.#cursor + 1 : i + 1
  }
}
