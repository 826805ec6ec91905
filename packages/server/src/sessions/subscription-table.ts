/**
 * @module SubscriptionTable: a connection's subscriptions by id, bounded by maxSubscriptionsPerConnection. A
 * subscription lives only while its connection may read its topic: when grants change (a reloaded ACL file, or a
 * new principal on reauthentication: recheckAuthorization) those no longer allowed end with TOPIC_AUTHORIZATION_FAILED.
 * A table with subscriptions is in its broker's set (brokerTables) from its first subscribe until closeAll: one listener
 * per broker event serves every connection, so an idle connection holds no listener of its own.
 */
import { SamsaError, type SubscribeRequest, type SubscribeResponse } from '@samsa/shared'
import type { Broker } from '../broker/broker.js'
import { assertOffsetInRange } from '../broker/offset-range.js'
import { ErrorMessages } from '@samsa/shared'
import type { Principal } from '../security/principal.js'
import type { Resignation } from '../broker/partition-leadership.js'
import { Subscription, notLeaderError, topicDeletedError, type SubscriptionHost } from './subscription.js'

interface Host {
  readonly version: number
  /** Who the connection speaks for now (a cluster peer's connection may read everything). */
  readonly principal: Principal
  readonly peerNodeId: number
  send(frame: Uint8Array): void
  tryReserveOutput(bytes: number): boolean
  releaseOutput(bytes: number): void
  /**
   * The table got its first subscription (true), or has none any more (false: an unsubscribe, or the last one ended
   * by itself), while the connection is open: a connection with a subscription is never idle.
   */
  hasSubscriptions?(has: boolean): void
}

export class SubscriptionTable {
  readonly #broker: Broker
  readonly #host: Host
  readonly #byId = new Map<number, Subscription>()
  /** Ids are never reused on a connection, so a late push can never be mistaken for a newer subscription. */
  #nextId = 1
  /** What every subscription of this connection is pushed through: one object per connection, made at the first subscribe. */
  #subscriptionHost: TableSubscriptionHost | null = null
  /** In the broker's set of tables with subscriptions (brokerTables) since its first subscribe, until closeAll. */
  #listed = false

  constructor(broker: Broker, host: Host) {
    this.#broker = broker
    this.#host = host
  }

  /** The topic was deleted: its subscriptions end. */
  topicDeleted(topic: string): void {
    for (const s of [...this.#byId.values()]) if (s.topic === topic) s.end(topicDeletedError(topic))
  }

  /** Only the leader serves subscriptions: when it stops leading, the client re-subscribes at the new leader. */
  resigned(r: Resignation): void {
    for (const s of [...this.#byId.values()]) if (s.topic === r.topic && s.partition === r.partition) s.end(notLeaderError(this.#broker.limits.brokerId, r))
  }

  /** Ends every subscription whose topic the connection may no longer read. */
  recheckAuthorization(): void {
    if (this.#host.peerNodeId !== 0) return
    const principal = this.#host.principal
    for (const s of [...this.#byId.values()]) {
      if (!this.#broker.access.may(principal, 'read', s.topic)) s.end(new SamsaError('TOPIC_AUTHORIZATION_FAILED', ErrorMessages.topicNotAuthorized(principal.name, 'read', s.topic)))
    }
  }

  get size(): number {
    return this.#byId.size
  }

  subscribe(req: SubscribeRequest): SubscribeResponse {
    const max = this.#broker.limits.maxSubscriptionsPerConnection
    if (this.#byId.size >= max) {
      this.#broker.metrics.quotaExceeded('subscriptions_per_connection')
      throw new SamsaError('TOO_MANY_SUBSCRIPTIONS', `this connection already has ${max} subscriptions`, { maxSubscriptions: max })
    }
    const log = this.#broker.partition(req.topic, req.partition)
    const offset = req.offset === -2 ? log.logStartOffset : req.offset === -1 ? log.highWatermark : req.offset
    assertOffsetInRange(log, offset, req.topic, req.partition)
    if (!this.#listed) {
      brokerTables(this.#broker).add(this)
      this.#listed = true
    }
    const id = this.#nextId++
    this.#subscriptionHost ??= new TableSubscriptionHost(this.#broker, this.#host, this.#byId)
    const sub = new Subscription(id, req.topic, req.partition, log, this.#broker.pushReads.for(log), offset, req.creditBytes, this.#subscriptionHost)
    this.#byId.set(id, sub)
    if (this.#byId.size === 1) this.#host.hasSubscriptions?.(true)
    // The response goes out before the first push: pump on the next turn.
    void Promise.resolve().then(() => sub.pump())
    return { subscriptionId: id, offset, logStartOffset: log.logStartOffset, highWatermark: log.highWatermark }
  }

  unsubscribe(id: number): void {
    const sub = this.#get(id)
    sub.close()
    forget(this.#byId, this.#host, id)
  }

  credit(id: number, bytes: number): void {
    this.#get(id).addCredit(bytes)
  }

  pumpAll(): void {
    for (const s of this.#byId.values()) s.pump()
  }

  closeAll(): void {
    for (const s of this.#byId.values()) s.close()
    this.#byId.clear()
    if (this.#listed) brokerTables(this.#broker).delete(this)
    this.#listed = false
  }

  #get(id: number): Subscription {
    const sub = this.#byId.get(id)
    if (!sub) throw new SamsaError('UNKNOWN_SUBSCRIPTION', `no subscription ${id} on this connection`)
    return sub
  }
}

/** A subscription is gone from the table (unsubscribed, or ended by itself); the host hears when none is left. */
function forget(byId: Map<number, Subscription>, host: Host, id: number): void {
  if (byId.delete(id) && byId.size === 0) host.hasSubscriptions?.(false)
}

/**
 * The tables with subscriptions of each broker, behind one listener per broker event (a topic deleted, a partition
 * resigned, grants changed) instead of three listeners and their closures per connection.
 */
const tablesByBroker = new WeakMap<Broker, Set<SubscriptionTable>>()

function brokerTables(broker: Broker): Set<SubscriptionTable> {
  let tables = tablesByBroker.get(broker)
  if (tables) return tables
  const all = new Set<SubscriptionTable>()
  broker.onTopicDeleted((topic) => {
    for (const t of [...all]) t.topicDeleted(topic)
  })
  broker.onResigned((r) => {
    for (const t of [...all]) t.resigned(r)
  })
  broker.access.onGrantsChanged(() => {
    for (const t of [...all]) t.recheckAuthorization()
  })
  tables = all
  tablesByBroker.set(broker, tables)
  return tables
}

/** The connection as its subscriptions see it; its methods live on the prototype, so a subscription adds no closures. */
class TableSubscriptionHost implements SubscriptionHost {
  readonly #broker: Broker
  readonly #host: Host
  readonly #byId: Map<number, Subscription>

  constructor(broker: Broker, host: Host, byId: Map<number, Subscription>) {
    this.#broker = broker
    this.#host = host
    this.#byId = byId
  }

  get apiVersion(): number {
    return this.#host.version
  }

  get maxPushBytes(): number {
    return this.#broker.limits.maxPushBytes
  }

  get maxCreditBytes(): number {
    return this.#broker.limits.maxCreditBytes
  }

  send(frame: Uint8Array): void {
    this.#host.send(frame)
  }

  tryReserve(bytes: number): boolean {
    return this.#host.tryReserveOutput(bytes)
  }

  release(bytes: number): void {
    this.#host.releaseOutput(bytes)
  }

  recordsOut(topic: string, records: number, bytes: number): void {
    this.#broker.metrics.recordsOut(topic, records, bytes)
  }

  ended(id: number): void {
    forget(this.#byId, this.#host, id)
  }
}
