/**
 * @module The member loop (I/O driver of member-state.ts): heartbeats on the client's clock, one at a time, and
 * beside them the reconciliation of the target assignment, performed by the host step by step: revoke, a heartbeat
 * that says so, then assign and a heartbeat at once. Errors are handled as member-state.ts decides (find the
 * coordinator again, drop everything and rejoin at epoch 0, back off, or fail).
 *
 * Invariants: heartbeats go on while a reconciliation step waits for the application (so a slow record does not
 * cost the session; the coordinator's rebalance timeout bounds it); a step started before a rejoin never changes
 * the state after it (generations); while paused (a hidden page) no heartbeat is sent and the partitions are kept;
 * with no heartbeat answered for the session timeout the host is told the member is stale (delivery pauses) until
 * one is; a failed heartbeat is retried after a backoff that never exceeds the heartbeat interval; after depart() (pagehide) answers are ignored and resume() rejoins; after leave() no heartbeat but the
 * leave is sent, and none at all after depart().
 */
import { SamsaError } from '@samsa/shared'
import { backoffDelayMs, type BackoffPolicy } from '../connection/backoff.js'
import type { Clock, Logger, Random, TimerHandle } from '../ports.js'
import type { CoordinatorLink } from './coordinator-link.js'
import { afterError, assigned, errorAction, heartbeatRequest, initialMemberState, nextStep, onHeartbeat, revoked, type MemberConfig, type MemberState, type TopicPartition } from './member-state.js'

export interface MemberHost {
  /**
   * Stops delivering `partitions`, waits for the application to be done with their records, commits, emits
   * `revoked`; does nothing more once `current()` is false (the member rejoined meanwhile).
   */
  revoke(partitions: readonly TopicPartition[], current: () => boolean): Promise<void>
  /** Starts delivering `partitions` from their committed (or stored) positions, emits `assigned`; not once `current()` is false. */
  assign(partitions: readonly TopicPartition[], current: () => boolean): Promise<void>
  /** Fenced or removed: stop every partition without committing (emits `lost`). */
  lose(partitions: readonly TopicPartition[]): void
  /**
   * No heartbeat was answered for the session timeout (true): the coordinator may have given the partitions to
   * others, so delivery pauses, the partitions kept; a heartbeat answered again (false) resumes it.
   */
  stale(stale: boolean): void
  /** A fatal error: the subscription ends with it. */
  fail(error: Error): void
}

export interface MemberDeps {
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
  readonly backoff: BackoffPolicy
}

export class GroupMember {
  readonly config: MemberConfig
  readonly #link: CoordinatorLink
  readonly #host: MemberHost
  readonly #deps: MemberDeps
  #state: MemberState
  #timer: TimerHandle | null = null
  readonly #sessionTimeoutMs: number
  /** Fires when no heartbeat was answered for the session timeout (armed by each answer). */
  #staleTimer: TimerHandle | null = null
  #stale = false
  #running: Promise<void> | null = null
  #again = false
  #paused = false
  /** depart() sent (or is sending) the leave: the member is out of the group until resume() rejoins. */
  #departed = false
  #stopped = false
  #failures = 0
  #answered = 0
  /** Bumped by a rejoin: a reconciliation step of an older generation changes nothing. */
  #generation = 0
  #reconciling: Promise<void> | null = null
  readonly #beatWaiters: (() => void)[] = []

  constructor(config: MemberConfig, link: CoordinatorLink, host: MemberHost, deps: MemberDeps, timing: { readonly heartbeatIntervalMs: number; readonly sessionTimeoutMs: number }) {
    this.config = config
    this.#link = link
    this.#host = host
    this.#deps = deps
    this.#sessionTimeoutMs = timing.sessionTimeoutMs
    this.#state = initialMemberState(timing.heartbeatIntervalMs)
  }

  get state(): MemberState {
    return this.#state
  }

  /** Heartbeat answers handled (errors included), for tests and tools. */
  get answered(): number {
    return this.#answered
  }

  /** depart() sent the leave and the page has not come back (resume()). */
  get departed(): boolean {
    return this.#departed
  }

  /** Joins (the first heartbeat, now). */
  start(): void {
    this.#kick()
  }

  /** Resolves after the next successful heartbeat answer. */
  nextHeartbeat(): Promise<void> {
    return new Promise((resolve) => {
      this.#beatWaiters.push(resolve)
      this.#kick()
    })
  }

  /** No heartbeats (a hidden page): the coordinator keeps the partitions until the session timeout. */
  pause(): void {
    this.#paused = true
    this.#clearTimer()
  }

  /** Heartbeats again, the first one now; after depart(), drops every partition (`lose`) and rejoins at epoch 0. */
  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    if (this.#departed) {
      this.#departed = false
      this.#rejoin()
    }
    this.#kick()
  }

  /**
   * The page is going away (pagehide): pauses, then sends the leave heartbeat (−2 keeps a static member's partitions
   * for its session timeout, so a reload gets them back; −1 moves a dynamic member's at once). If the page comes back
   * (the back/forward cache), resume() rejoins.
   */
  async depart(): Promise<void> {
    if (this.#stopped || this.#departed) return
    this.pause()
    this.#departed = true
    // At once, without waiting for a heartbeat in flight (whose answer is ignored now): the page may be gone soon.
    if (this.#state.epoch <= 0) return
    await this.#link.heartbeat(heartbeatRequest(this.config, this.#state, true)).catch((error: unknown) => this.#deps.logger.warn({ groupId: this.config.groupId, error }, 'leaving the group on pagehide failed'))
  }

  /** Stops the loop and sends the leave heartbeat (epoch −1, or −2 for a static member); resolves once answered or failed. */
  async leave(): Promise<void> {
    if (this.#stopped) return
    this.stop()
    await this.#running?.catch(() => {})
    for (const w of this.#beatWaiters.splice(0)) w()
    // After depart() the member has left already (and a reloaded page may have taken its place).
    if (this.#state.epoch <= 0 || this.#departed) return
    await this.#link.heartbeat(heartbeatRequest(this.config, this.#state, true)).catch((error: unknown) => this.#deps.logger.warn({ groupId: this.config.groupId, error }, 'leaving the group failed; the coordinator removes the member after its session timeout'))
  }

  /** Stops the loop without leaving (the subscription failed). */
  stop(): void {
    this.#stopped = true
    this.#clearTimer()
    if (this.#staleTimer !== null) this.#deps.clock.clearTimeout(this.#staleTimer)
    for (const w of this.#beatWaiters.splice(0)) w()
  }

  #kick(): void {
    if (this.#stopped || this.#paused) return
    this.#clearTimer()
    if (this.#running !== null) {
      this.#again = true
      return
    }
    this.#running = this.#beat().finally(() => {
      this.#running = null
      if (this.#again) {
        this.#again = false
        this.#kick()
      }
    })
  }

  #schedule(ms: number): void {
    this.#clearTimer()
    if (this.#stopped || this.#paused) return
    this.#timer = this.#deps.clock.setTimeout(() => {
      this.#timer = null
      this.#kick()
    }, ms)
  }

  /** A heartbeat was answered: not stale (any more), and the session timeout counts from now. */
  #answeredNow(): void {
    if (this.#staleTimer !== null) this.#deps.clock.clearTimeout(this.#staleTimer)
    this.#staleTimer = this.#deps.clock.setTimeout(() => {
      this.#staleTimer = null
      if (this.#stopped || this.#stale) return
      this.#stale = true
      this.#deps.logger.warn({ groupId: this.config.groupId, memberId: this.config.memberId, sessionTimeoutMs: this.#sessionTimeoutMs }, 'no heartbeat answered for the session timeout: delivery pauses')
      this.#host.stale(true)
    }, this.#sessionTimeoutMs)
    if (this.#stale) {
      this.#stale = false
      this.#host.stale(false)
    }
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.#deps.clock.clearTimeout(this.#timer)
    this.#timer = null
  }

  /** One heartbeat; its answer may start a reconciliation; schedules the next one. */
  async #beat(): Promise<void> {
    const sent = heartbeatRequest(this.config, this.#state)
    try {
      const answer = await this.#link.heartbeat(sent).finally(() => this.#answered++)
      if (this.#stopped || this.#departed) return
      this.#failures = 0
      this.#state = onHeartbeat(this.#state, sent, answer)
      this.#answeredNow()
    } catch (error) {
      if (this.#stopped || this.#departed) return
      return this.#failed(error)
    }
    for (const w of this.#beatWaiters.splice(0)) w()
    this.#reconcile()
    this.#schedule(this.#state.heartbeatIntervalMs)
  }

  /** Runs the reconciliation steps until the member owns its target, unless one runs already. */
  #reconcile(): void {
    if (this.#reconciling !== null || this.#stopped) return
    const generation = this.#generation
    const current = () => generation === this.#generation && !this.#stopped
    this.#reconciling = (async () => {
      for (let step = nextStep(this.#state); step !== null && current(); step = nextStep(this.#state)) {
        if ('revoke' in step) {
          await this.#host.revoke(step.revoke, current)
          if (!current()) return
          this.#state = revoked(this.#state, step.revoke)
          // The coordinator hears that the partitions are gone before anything new starts.
          await this.nextHeartbeat()
        } else {
          await this.#host.assign(step.assign, current)
          if (!current()) return
          this.#state = assigned(this.#state, step.assign)
          this.#kick()
        }
      }
    })()
      .catch((error: unknown) => this.#deps.logger.warn({ groupId: this.config.groupId, error }, 'reconciling the assignment failed; retrying after the next heartbeat'))
      .finally(() => (this.#reconciling = null))
  }

  /** Drops every partition without committing (`lose`) and makes the next heartbeat a join. */
  #rejoin(): void {
    const lost = this.#state.owned
    this.#generation++
    // `lost` is emitted while the member still reports the epoch it owned those partitions in.
    if (lost.length > 0) this.#host.lose(lost)
    this.#state = afterError(this.#state, 'rejoin')
  }

  #failed(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error))
    const action = e instanceof SamsaError ? errorAction(e) : 'refind'
    const log = { groupId: this.config.groupId, memberId: this.config.memberId, error: e }
    if (action === 'fatal') {
      this.#deps.logger.warn(log, 'the group refused the member')
      this.stop()
      return this.#host.fail(e)
    }
    if (action === 'rejoin') {
      this.#deps.logger.warn(log, 'the member was fenced: its partitions are dropped and it rejoins')
      this.#rejoin()
      // Rejoin at once (the loop runs again as this heartbeat ends).
      this.#again = true
      return
    }
    this.#state = afterError(this.#state, action)
    this.#failures++
    if (action === 'refind') this.#deps.logger.info(log, 'the group coordinator moved or is unreachable: finding it again')
    else this.#deps.logger.info(log, 'the heartbeat failed: retrying after a backoff')
    // Never longer than the heartbeat interval: a member that backs off past it while the coordinator moves would
    // outlive its session on the new coordinator (which loaded it at its epoch) before heartbeating there.
    const { baseMs, capMs } = this.#deps.backoff
    this.#schedule(backoffDelayMs(this.#failures, { baseMs, capMs: Math.min(capMs, Math.max(baseMs, this.#state.heartbeatIntervalMs)) }, this.#deps.random))
  }
}
