/**
 * @module `client.consumer({ groupId })`: a member of a consumer group. `subscribe(topics)` joins the group and
 * delivers the partitions the coordinator assigns (group-subscription.ts). One subscription at a time per consumer
 * (one member); close() leaves the group.
 */
import type { GroupAssignorName } from '@samsa/shared'
import type { SubscriptionDeps } from '../consumer/subscription-deps.js'
import { defaultLockManager, type LockManagerLike } from '../storage/identity-lock.js'
import { checkGroupSubscribe } from './group-arguments.js'
import { GroupSubscription } from './group-subscription.js'
import { defaultLifecycle, noLifecycle, type PageLifecycle } from './page-lifecycle.js'
import { claimTabInstance, defaultSessionStore, randomId, type SessionStoreLike } from './tab-instance.js'

export interface GroupConsumerOptions {
  /** The group to join (1..249 characters). */
  readonly groupId: string
  /**
   * Static membership: a member that comes back with the same instance id within the session timeout (a restart, a
   * reload) gets its partitions back without a rebalance. 'tab': one id per browser tab, kept across reloads in
   * sessionStorage. Default: a dynamic member.
   */
  readonly instanceId?: string
  /**
   * The group's session timeout as this member assumes it (the brokers' `groupSessionTimeoutMs`), ms. Default 45 000.
   * When no heartbeat has been answered for this long the coordinator may have given the member's partitions to
   * others, so delivery pauses (partitions kept) until a heartbeat is answered again or the member learns it was fenced.
   */
  readonly sessionTimeoutMs?: number
  /** How long the coordinator waits for this member to revoke partitions before it removes it, ms. Default 60 000. */
  readonly rebalanceTimeoutMs?: number
  /** The coordinator's assignor for the group. Default: the coordinator's ('uniform'). */
  readonly assignor?: GroupAssignorName
  /** Commits to the coordinator: every 5 s, on revoke, on pagehide and on close (true, the default), at another interval, or only by `sub.commit()` (false). */
  readonly autoCommit?: boolean | { readonly intervalMs: number }
  /** Bytes of pushes the broker may send ahead of consumption, per partition. Default 256 KiB. */
  readonly creditWindowBytes?: number
  /** The page lifecycle (hidden, visible, pagehide). Default: the global document in a browser; null: none. */
  readonly lifecycle?: PageLifecycle | null
  /** Where `instanceId: 'tab'` is kept. Default: sessionStorage. */
  readonly sessionStore?: SessionStoreLike
}

export interface GroupSubscribeOptions {
  /** Where a partition has no committed offset (and no stored position): from its earliest record (true) or its end (false, the default). */
  readonly fromBeginning?: boolean
  /** Closes the subscription (and leaves the group) when aborted. */
  readonly signal?: AbortSignal
}

export const DEFAULT_AUTO_COMMIT_INTERVAL_MS = 5_000
export const DEFAULT_REBALANCE_TIMEOUT_MS = 60_000
/** The brokers' default `groupSessionTimeoutMs`. */
export const DEFAULT_SESSION_TIMEOUT_MS = 45_000
/** Until the coordinator's first answer names its own. */
const INITIAL_HEARTBEAT_INTERVAL_MS = 5_000

export class GroupConsumer {
  readonly groupId: string
  readonly #opts: GroupConsumerOptions
  readonly #deps: SubscriptionDeps
  readonly #locks: LockManagerLike | undefined
  #current: GroupSubscription | null = null

  /** `opts` are checked by `client.consumer()` (group-arguments.ts). */
  constructor(opts: GroupConsumerOptions, deps: SubscriptionDeps, locks: LockManagerLike | undefined) {
    if (opts.instanceId === 'tab' && (opts.sessionStore ?? defaultSessionStore()) === null) {
      throw new TypeError("consumer(options): instanceId: 'tab' keeps the id in sessionStorage, which this runtime has not; give a fixed instanceId string (e.g. the host name in a Node service) or options.sessionStore")
    }
    this.groupId = opts.groupId
    this.#opts = opts
    this.#deps = deps
    this.#locks = locks
  }

  /** Joins the group subscribed to `topics`; throws a TypeError for bad arguments or while a subscription of this consumer is open. */
  subscribe(topics: string | readonly string[], opts: GroupSubscribeOptions = {}): GroupSubscription {
    const list = checkGroupSubscribe(topics, opts)
    if (this.#current !== null) throw new TypeError('groupConsumer.subscribe(): this consumer already has an open subscription (one member per consumer); close it first or create another consumer')
    const o = this.#opts
    const deps = this.#deps
    const auto = o.autoCommit ?? true
    const instanceId = o.instanceId === undefined ? Promise.resolve(null)
      : o.instanceId === 'tab' ? claimTabInstance(o.groupId, o.sessionStore ?? defaultSessionStore()!, this.#locks ?? defaultLockManager(), deps.random, deps.clock)
      : Promise.resolve({ id: o.instanceId, release: () => {} })
    const sub = new GroupSubscription(
      {
        groupId: o.groupId,
        memberId: randomId(deps.random),
        instanceId,
        topics: list,
        rebalanceTimeoutMs: o.rebalanceTimeoutMs ?? DEFAULT_REBALANCE_TIMEOUT_MS,
        assignor: o.assignor ?? null,
        autoCommitIntervalMs: auto === false ? null : auto === true ? DEFAULT_AUTO_COMMIT_INTERVAL_MS : auto.intervalMs,
        reset: opts.fromBeginning === true ? 'earliest' : 'latest',
        heartbeatIntervalMs: INITIAL_HEARTBEAT_INTERVAL_MS,
        sessionTimeoutMs: o.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
        ...(o.creditWindowBytes !== undefined && { creditWindowBytes: o.creditWindowBytes }),
      },
      { ...deps, lifecycle: o.lifecycle === null ? noLifecycle : (o.lifecycle ?? defaultLifecycle()) },
    )
    this.#current = sub
    void sub.closed.then(() => {
      if (this.#current === sub) this.#current = null
    })
    const signal = opts.signal
    if (signal !== undefined) {
      if (signal.aborted) void sub.close()
      else signal.addEventListener('abort', () => void sub.close(), { once: true })
    }
    return sub
  }

  /** Closes the open subscription (commits, leaves the group). */
  async close(): Promise<void> {
    await this.#current?.close()
  }
}
