/**
 * @module SubscriptionTable: a connection's subscriptions by id, bounded by maxSubscriptionsPerConnection. A
 * subscription lives only while its connection may read its topic: when grants change (a reloaded ACL file, or a
 * new principal on reauthentication: recheckAuthorization) those no longer allowed end with TOPIC_AUTHORIZATION_FAILED.
 */
import { SamsaError, type SubscribeRequest, type SubscribeResponse } from '@samsa/shared'
import type { Broker } from '../broker/broker.js'
import { assertOffsetInRange } from '../broker/offset-range.js'
import { ErrorMessages } from '@samsa/shared'
import type { Principal } from '../security/principal.js'
import { Subscription, notLeaderError, topicDeletedError, type SubscriptionHost } from './subscription.js'

interface Host {
  readonly version: number
  /** Who the connection speaks for now (a cluster peer's connection may read everything). */
  readonly principal: Principal
  readonly peerNodeId: number
  send(frame: Uint8Array): void
  tryReserveOutput(bytes: number): boolean
  releaseOutput(bytes: number): void
}

export class SubscriptionTable {
  readonly #broker: Broker
  readonly #host: Host
  readonly #byId = new Map<number, Subscription>()
  /** Ids are never reused on a connection, so a late push can never be mistaken for a newer subscription. */
  #nextId = 1
  /** What every subscription of this connection is pushed through: one object per connection, made at the first subscribe. */
  #subscriptionHost: TableSubscriptionHost | null = null
  readonly #offDeleted: () => void
  readonly #offResigned: () => void
  readonly #offGrants: () => void

  constructor(broker: Broker, host: Host) {
    this.#broker = broker
    this.#host = host
    this.#offDeleted = broker.onTopicDeleted((topic) => {
      for (const s of [...this.#byId.values()]) if (s.topic === topic) s.end(topicDeletedError(topic))
    })
    // Only the leader serves subscriptions: when it stops leading, the client re-subscribes at the new leader.
    this.#offResigned = broker.onResigned((r) => {
      for (const s of [...this.#byId.values()]) if (s.topic === r.topic && s.partition === r.partition) s.end(notLeaderError(broker.limits.brokerId, r))
    })
    this.#offGrants = broker.access.onGrantsChanged(() => this.recheckAuthorization())
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
    const id = this.#nextId++
    this.#subscriptionHost ??= new TableSubscriptionHost(this.#broker, this.#host, this.#byId)
    const sub = new Subscription(id, req.topic, req.partition, log, this.#broker.pushReads.for(log), offset, req.creditBytes, this.#subscriptionHost)
    this.#byId.set(id, sub)
    // The response goes out before the first push: pump on the next turn.
    void Promise.resolve().then(() => sub.pump())
    return { subscriptionId: id, offset, logStartOffset: log.logStartOffset, highWatermark: log.highWatermark }
  }

  unsubscribe(id: number): void {
    const sub = this.#get(id)
    sub.close()
    this.#byId.delete(id)
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
    this.#offDeleted()
    this.#offResigned()
    this.#offGrants()
  }

  #get(id: number): Subscription {
    const sub = this.#byId.get(id)
    if (!sub) throw new SamsaError('UNKNOWN_SUBSCRIPTION', `no subscription ${id} on this connection`)
    return sub
  }
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
    this.#byId.delete(id)
  }
}
