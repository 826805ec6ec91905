/**
 * @module BrokerLifecycle: a broker's membership as seen by the controller. On start it registers (getting a broker
 * epoch; it starts fenced), then heartbeats about every third of the session timeout with the metadata offset it has
 * applied, which unfences it once it has caught up to its own registration. A heartbeat answered STALE_BROKER_EPOCH
 * or BROKER_ID_NOT_REGISTERED registers again (naming the old epoch); DUPLICATE_BROKER_REGISTRATION (an earlier
 * process's session is still live) is retried until that session ends. `shutdown` asks for a controlled shutdown
 * (leadership moved away, the broker fenced) before the process goes. The replicas this process recovered incomplete
 * are named in every registration until one is accepted (the controller takes the broker out of their ISRs then),
 * and in none after: later registrations of the same process find them repaired or already out. Replicas found
 * incomplete while running (`reportIncomplete`: a read found one damaged and recovery cut it) are named in the next
 * heartbeat, sent at once, or registration, and in every one until one is accepted.
 *
 * Each registration or heartbeat waits at most one heartbeat interval for its answer: a controller that stopped
 * answering (paused, blackholed) keeps its connection open, and a heartbeat stuck there would never reach the new
 * controller, which would fence this live broker once its session ran out.
 *
 * Invariants: one request in flight at a time; timers through the Clock port; nothing here throws into its caller.
 */
import { SamsaError, silentLogger, type Logger } from '@samsa/shared'
import type { Clock, Timer } from '../clock.js'
import type { ControllerChannel } from './controller-channel.js'

export interface BrokerLifecycleOptions {
  readonly brokerId: number
  readonly clusterId: string
  readonly advertisedUrl: string
  readonly rack?: string | null
  readonly channel: ControllerChannel
  readonly clock: Clock
  readonly logger?: Logger
  /** Between heartbeats (Kafka: broker.heartbeat.interval.ms); about a third of the session timeout. */
  readonly heartbeatIntervalMs: number
  /** Local replicas whose log recovery found committed records damaged or missing when this process started. */
  readonly incompleteReplicas?: readonly { readonly topic: string; readonly partition: number }[]
  /** The offset of the last metadata batch this broker has applied. */
  readonly metadataOffset: () => number
  /**
   * Called when a heartbeat's answer changes the fenced state (after the state is updated). The controller unfences
   * a registration only once the metadata offset this broker reported has reached that registration's record.
   */
  readonly onFencedChange?: (fenced: boolean) => void
}

export interface BrokerLifecycleState {
  /** -1 until registered. */
  readonly brokerEpoch: number
  readonly fenced: boolean
  /** Monotonic ms of the last heartbeat the controller answered; null before any. */
  readonly lastHeartbeatMs: number | null
}

export class BrokerLifecycle {
  readonly #o: BrokerLifecycleOptions
  readonly #logger: Logger
  #brokerEpoch = -1
  /** The epoch to name when registering again (the one the controller replaced or forgot). */
  #previousEpoch = -1
  #fenced = true
  #lastHeartbeatMs: number | null = null
  #timer: Timer | null = null
  #running: Promise<void> | null = null
  #stopped = false
  #lastError = ''
  /** Named in registrations and heartbeats until one is accepted. */
  #incompleteReplicas: readonly { readonly topic: string; readonly partition: number }[]

  constructor(opts: BrokerLifecycleOptions) {
    this.#o = opts
    this.#logger = opts.logger ?? silentLogger
    this.#incompleteReplicas = opts.incompleteReplicas ?? []
  }

  state(): BrokerLifecycleState {
    return { brokerEpoch: this.#brokerEpoch, fenced: this.#fenced, lastHeartbeatMs: this.#lastHeartbeatMs }
  }

  get brokerEpoch(): number {
    return this.#brokerEpoch
  }

  start(): void {
    this.#schedule(0)
  }

  /** Controlled shutdown: one heartbeat with wantShutDown (bounded by timeoutMs), then stops. Never throws. */
  async shutdown(timeoutMs: number): Promise<void> {
    this.#stop()
    await this.#running?.catch(() => {})
    if (this.#brokerEpoch < 0) return
    const req = { brokerId: this.#o.brokerId, brokerEpoch: this.#brokerEpoch, metadataOffset: this.#o.metadataOffset(), wantShutDown: true, incompleteReplicas: this.#incompleteReplicas }
    try {
      await this.#o.channel.call('brokerHeartbeat', req, timeoutMs)
      this.#logger.info({ brokerId: this.#o.brokerId }, 'controlled shutdown: the controller moved this broker\'s leadership away')
    } catch (err) {
      this.#logger.warn({ err: String(err) }, 'controlled shutdown was not acknowledged; the session timeout will fence this broker')
    }
  }

  /** Names the local replica as incomplete to the controller: in the next heartbeat (sent now) or registration. */
  reportIncomplete(topic: string, partition: number): void {
    if (this.#incompleteReplicas.some((r) => r.topic === topic && r.partition === partition)) return
    this.#incompleteReplicas = [...this.#incompleteReplicas, { topic, partition }]
    if (this.#timer !== null && !this.#stopped) {
      this.#o.clock.clearTimeout(this.#timer)
      this.#schedule(0)
    }
  }

  /** Stops without telling the controller (the session expires). */
  stop(): void {
    this.#stop()
  }

  #stop(): void {
    this.#stopped = true
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer)
    this.#timer = null
  }

  #schedule(ms: number): void {
    if (this.#stopped) return
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = null
      this.#running = this.#step().finally(() => {
        this.#running = null
      })
    }, ms)
  }

  async #step(): Promise<void> {
    const interval = this.#o.heartbeatIntervalMs
    // Until unfenced, heartbeat sooner: unfencing waits only for the metadata log to reach the registration.
    const soon = Math.min(interval, 200)
    try {
      if (this.#brokerEpoch < 0) {
        await this.#register()
        return this.#schedule(0)
      }
      await this.#heartbeat()
      this.#lastError = ''
      this.#schedule(this.#incompleteReplicas.length > 0 ? 0 : this.#fenced ? soon : interval) // a report made meanwhile goes now
    } catch (e) {
      const name = e instanceof SamsaError ? e.errorName : ''
      if (name === 'STALE_BROKER_EPOCH' || name === 'BROKER_ID_NOT_REGISTERED') {
        this.#logger.warn({ brokerId: this.#o.brokerId, brokerEpoch: this.#brokerEpoch, err: String(e) }, 'the controller no longer knows this registration; registering again')
        this.#previousEpoch = this.#brokerEpoch
        this.#brokerEpoch = -1
        this.#fenced = true
        return this.#schedule(0)
      }
      const message = String(e)
      if (message !== this.#lastError) this.#logger.warn({ brokerId: this.#o.brokerId, err: message }, this.#brokerEpoch < 0 ? 'broker registration failed; retrying' : 'broker heartbeat failed; retrying')
      this.#lastError = message
      this.#schedule(soon)
    }
  }

  async #register(): Promise<void> {
    const { brokerId, clusterId, advertisedUrl } = this.#o
    const incompleteReplicas = this.#incompleteReplicas
    const r = await this.#o.channel.call('brokerRegistration', { brokerId, clusterId, advertisedUrl, rack: this.#o.rack ?? null, previousBrokerEpoch: this.#previousEpoch, incompleteReplicas }, 0, this.#o.heartbeatIntervalMs)
    this.#accepted(incompleteReplicas)
    if (this.#stopped) return
    this.#brokerEpoch = r.brokerEpoch
    this.#fenced = true
    this.#logger.info({ brokerId, brokerEpoch: r.brokerEpoch, incompleteReplicas }, 'broker registered with the controller')
  }

  /** The controller accepted a request naming `sent`: those are out of their ISRs now (reports made since stay). */
  #accepted(sent: readonly { readonly topic: string; readonly partition: number }[]): void {
    if (sent.length > 0) this.#incompleteReplicas = this.#incompleteReplicas.filter((r) => !sent.includes(r))
  }

  async #heartbeat(): Promise<void> {
    const incompleteReplicas = this.#incompleteReplicas
    const r = await this.#o.channel.call('brokerHeartbeat', { brokerId: this.#o.brokerId, brokerEpoch: this.#brokerEpoch, metadataOffset: this.#o.metadataOffset(), wantShutDown: false, incompleteReplicas }, 0, this.#o.heartbeatIntervalMs)
    this.#accepted(incompleteReplicas)
    if (incompleteReplicas.length > 0) this.#logger.info({ brokerId: this.#o.brokerId, incompleteReplicas }, 'the controller took this broker out of the ISRs of replicas found incomplete')
    this.#lastHeartbeatMs = this.#o.clock.monotonicMs()
    const changed = r.isFenced !== this.#fenced
    if (changed) this.#logger.info({ brokerId: this.#o.brokerId, fenced: r.isFenced }, r.isFenced ? 'broker fenced by the controller' : 'broker unfenced')
    this.#fenced = r.isFenced
    if (changed) this.#o.onFencedChange?.(r.isFenced)
  }
}
