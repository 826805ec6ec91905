/**
 * @module BrokerQuotas: the broker-wide quota state, per principal and per client address, on the broker's clock.
 * Invariants: a rate of 0 is no limit (no bucket is ever made for it); every bucket map is bounded (KeyedRate);
 * connection counts follow open connections exactly (each acquire is released once, by the connection).
 * The key of a principal (quotaPrincipal): `user:<name>` for a user; an anonymous connection is its own principal per
 * address (`anonymous@<address>`), so anonymous clients never share one budget; peers have no quotas.
 */
import { ErrorMessages, SamsaError } from '@samsa/shared'
import type { BrokerConfig } from '../../broker/broker-config.js'
import type { Clock } from '../../clock.js'
import type { BrokerMetrics } from '../../observability/broker-metrics.js'
import type { Principal } from '../principal.js'
import { KeyedCounts, KeyedRate, type RateSpec } from './token-bucket.js'

/** The broker settings quotas read (documented in broker-config.ts; a rate of 0 is no limit). */
export type QuotaConfig = Pick<BrokerConfig,
  | 'maxConnectionsPerIp' | 'maxConnectionsPerPrincipal'
  | 'produceBytesPerSecondPerPrincipal' | 'produceBytesPerSecondPerIp' | 'fetchBytesPerSecondPerPrincipal' | 'fetchBytesPerSecondPerIp'
  | 'requestsPerSecondPerConnection' | 'requestsPerSecondPerPrincipal' | 'topicCreationsPerMinutePerPrincipal' | 'quotaMaxThrottleMs'>

/** The quota a throttle, a refusal or a close is counted under (the `quota` label of the metrics). */
export type QuotaName =
  | 'produce_bytes' | 'fetch_bytes' | 'requests' | 'connections_per_ip' | 'connections_per_principal'
  | 'subscriptions_per_connection' | 'topic_creations'

export interface Throttle {
  /** 0: not throttled. */
  readonly ms: number
  readonly quota: QuotaName
}

/** A byte or request rate may be spent one second's worth at once (Kafka measures over 1 s samples too). */
export const QUOTA_BURST_MS = 1_000
/** Topic creations per minute may all be spent at once. */
const CREATION_BURST_MS = 60_000
/** Buckets kept per quota; past it idle buckets go first, then the least recently used. */
export const MAX_QUOTA_KEYS = 100_000

export function quotaPrincipal(principal: Principal, remoteAddress: string | undefined): string | null {
  if (principal.kind === 'peer') return null
  if (principal.kind === 'anonymous') return `anonymous@${remoteAddress ?? 'unknown'}`
  return `user:${principal.name}`
}

function rate(ratePerSecond: number, burstMs = QUOTA_BURST_MS): KeyedRate | null {
  const spec: RateSpec = { ratePerSecond, burstMs }
  return ratePerSecond > 0 ? new KeyedRate(spec, MAX_QUOTA_KEYS) : null
}

/** The larger of two throttles (the one that decides). */
export function longer(a: Throttle, b: Throttle): Throttle {
  return b.ms > a.ms ? b : a
}

const NONE_PRODUCE: Throttle = { ms: 0, quota: 'produce_bytes' }
const NONE_FETCH: Throttle = { ms: 0, quota: 'fetch_bytes' }

export class BrokerQuotas {
  readonly config: QuotaConfig
  readonly #clock: Clock
  readonly #metrics: BrokerMetrics
  readonly #produceByPrincipal: KeyedRate | null
  readonly #produceByIp: KeyedRate | null
  readonly #fetchByPrincipal: KeyedRate | null
  readonly #fetchByIp: KeyedRate | null
  readonly #requestsByPrincipal: KeyedRate | null
  readonly #creations: KeyedRate | null
  readonly #connectionsByIp = new KeyedCounts()
  readonly #connectionsByPrincipal = new KeyedCounts()

  constructor(config: QuotaConfig, clock: Clock, metrics: BrokerMetrics) {
    this.config = config
    this.#clock = clock
    this.#metrics = metrics
    this.#produceByPrincipal = rate(config.produceBytesPerSecondPerPrincipal)
    this.#produceByIp = rate(config.produceBytesPerSecondPerIp)
    this.#fetchByPrincipal = rate(config.fetchBytesPerSecondPerPrincipal)
    this.#fetchByIp = rate(config.fetchBytesPerSecondPerIp)
    this.#requestsByPrincipal = rate(config.requestsPerSecondPerPrincipal)
    this.#creations = rate(config.topicCreationsPerMinutePerPrincipal / 60, CREATION_BURST_MS)
  }

  /** A new connection from `ip` (undefined: unknown, not counted); false when that address is at maxConnectionsPerIp. */
  openFromIp(ip: string | undefined): boolean {
    return ip === undefined || this.#connectionsByIp.tryAcquire(ip, this.config.maxConnectionsPerIp)
  }

  closedFromIp(ip: string | undefined): void {
    if (ip !== undefined) this.#connectionsByIp.release(ip)
  }

  /** A connection now speaks for `key`; false when that principal is at maxConnectionsPerPrincipal. */
  openForPrincipal(key: string): boolean {
    return this.#connectionsByPrincipal.tryAcquire(key, this.config.maxConnectionsPerPrincipal)
  }

  closedForPrincipal(key: string): void {
    this.#connectionsByPrincipal.release(key)
  }

  connectionsFromIp(ip: string): number {
    return this.#connectionsByIp.count(ip)
  }

  /** Records produced bytes; the throttle the connection must now serve. */
  produced(principal: string, ip: string | undefined, bytes: number): Throttle {
    return this.#bytes('produce_bytes', this.#produceByPrincipal, this.#produceByIp, principal, ip, bytes)
  }

  /** Records bytes sent to a reader (fetch replies, subscription pushes); the throttle the connection must now serve. */
  delivered(principal: string, ip: string | undefined, bytes: number): Throttle {
    return this.#bytes('fetch_bytes', this.#fetchByPrincipal, this.#fetchByIp, principal, ip, bytes)
  }

  /** Records one request of `principal`; the throttle the connection must now serve. */
  request(principal: string): Throttle {
    const ms = this.#requestsByPrincipal?.record(principal, 1, this.#clock.monotonicMs()) ?? 0
    return { ms, quota: 'requests' }
  }

  /** Takes one topic creation of `principal`; 0 when taken, else the ms until one is allowed (nothing taken). */
  takeTopicCreation(principal: string): number {
    return this.#creations?.tryTake(principal, 1, this.#clock.monotonicMs()) ?? 0
  }

  /** Takes one topic creation of `principal` (null: a peer, no quota), or throws THROTTLING_QUOTA_EXCEEDED (retriable) and counts it. */
  assertTopicCreation(principal: string | null): void {
    if (principal === null) return
    const waitMs = this.takeTopicCreation(principal)
    if (waitMs === 0) return
    this.#metrics.quotaExceeded('topic_creations')
    const perMinute = this.config.topicCreationsPerMinutePerPrincipal
    throw new SamsaError('THROTTLING_QUOTA_EXCEEDED', ErrorMessages.topicCreationsThrottled(principal, perMinute, waitMs), { throttleTimeMs: waitMs, topicCreationsPerMinute: perMinute })
  }

  #bytes(quota: QuotaName, byPrincipal: KeyedRate | null, byIp: KeyedRate | null, principal: string, ip: string | undefined, bytes: number): Throttle {
    if (!byPrincipal && !byIp) return quota === 'produce_bytes' ? NONE_PRODUCE : NONE_FETCH
    const now = this.#clock.monotonicMs()
    const a = byPrincipal?.record(principal, bytes, now) ?? 0
    const b = ip !== undefined ? byIp?.record(ip, bytes, now) ?? 0 : 0
    return { ms: Math.max(a, b), quota }
  }
}
