/**
 * @module ConnectionQuotas: one connection's side of the broker's quotas (security/quotas). It holds the
 * connection's slots (per address, per principal), records its requests and its produced and delivered bytes, and
 * keeps its throttle, as Kafka does: a connection over a rate is not refused but held (its reading paused, its
 * responses and pushes waiting) until its debt is repaid; only a throttle longer than quotaMaxThrottleMs, for what
 * the client sent (requests, produced bytes), closes it with QUOTA_EXCEEDED; a reader is held at most that long.
 * Invariants: a slot taken is released exactly once (on close or on a change of principal); `throttled` is true
 * exactly while a throttle timer is armed; cluster peers have no quotas.
 */
import { ApiKeys, ErrorMessages } from '@samsa/shared'
import type { Broker } from '../broker/broker.js'
import type { Timer } from '../clock.js'
import { QUOTA_BURST_MS, longer, quotaPrincipal, type QuotaName, type Throttle } from '../security/quotas/broker-quotas.js'
import { TokenBucket } from '../security/quotas/token-bucket.js'
import type { Principal } from '../security/principal.js'

export interface ConnectionQuotasHost {
  readonly remoteAddress: string | undefined
  /** A cluster peer (named in hello) has no quotas. */
  isPeer(): boolean
  /** Reading paused (true) while throttled, resumed (false) after. */
  pauseReading(paused: boolean): void
  /** The throttle is over: held responses go out, deferred frames are handled, subscriptions pump again. */
  throttleEnded(): void
  /** A quota closes the connection (QUOTA_EXCEEDED). */
  exceeded(reason: string): void
}

export class ConnectionQuotas {
  readonly #broker: Broker
  readonly #host: ConnectionQuotasHost
  readonly #requests: TokenBucket | null
  #ipSlot = false
  #principalSlot: string | null = null
  #throttleTimer: Timer | null = null
  #throttledUntilMs = 0
  #closed = false

  constructor(broker: Broker, host: ConnectionQuotasHost) {
    this.#broker = broker
    this.#host = host
    const rps = broker.quotas.config.requestsPerSecondPerConnection
    this.#requests = rps > 0 ? new TokenBucket({ ratePerSecond: rps, burstMs: QUOTA_BURST_MS }, broker.clock.monotonicMs()) : null
  }

  /** Takes the connection's slot for its address and for `principal`; false (and the host told why) when either is full. */
  open(principal: Principal): boolean {
    const ip = this.#host.remoteAddress
    if (!this.#broker.quotas.openFromIp(ip)) {
      this.#refuse('connections_per_ip', ErrorMessages.tooManyConnections('address', ip ?? 'unknown', this.#broker.quotas.config.maxConnectionsPerIp))
      return false
    }
    this.#ipSlot = true
    return this.principalChanged(principal)
  }

  /** The connection speaks for `principal` now (authentication, reauthentication); false when that principal is full. */
  principalChanged(principal: Principal): boolean {
    if (this.#closed) return false
    const key = quotaPrincipal(principal, this.#host.remoteAddress)
    if (key === this.#principalSlot) return true
    this.#releasePrincipal()
    if (key === null) return true
    if (!this.#broker.quotas.openForPrincipal(key)) {
      this.#refuse('connections_per_principal', ErrorMessages.tooManyConnections('principal', key, this.#broker.quotas.config.maxConnectionsPerPrincipal))
      return false
    }
    this.#principalSlot = key
    return true
  }

  get throttled(): boolean {
    return this.#throttleTimer !== null
  }

  /** The principal's key while quotas apply to this connection; null for a peer (and a connection that has none). */
  #key(): string | null {
    return this.#host.isPeer() ? null : this.#principalSlot
  }

  /**
   * A request about to be handled: counts it (requests/s) and its produced bytes, throttling the connection when a
   * rate is passed; refuses a topic creation past the principal's rate with THROTTLING_QUOTA_EXCEEDED (retriable).
   */
  beforeRequest(apiKey: number, request: unknown): void {
    const key = this.#key()
    if (key === null) return
    const quotas = this.#broker.quotas
    const now = this.#broker.clock.monotonicMs()
    if (apiKey === ApiKeys.CREATE_TOPIC) quotas.assertTopicCreation(key)
    let t: Throttle = { ms: this.#requests?.record(1, now) ?? 0, quota: 'requests' }
    t = longer(t, quotas.request(key))
    if (apiKey === ApiKeys.PRODUCE) t = longer(t, quotas.produced(key, this.#host.remoteAddress, producedBytes(request)))
    this.#apply(t)
  }

  /**
   * Bytes sent to this connection's reader (a fetch reply, a push): may throttle it, for at most quotaMaxThrottleMs
   * (the broker chose the size of what it sent, so a reader is held, never closed, for it).
   */
  delivered(bytes: number): void {
    const key = this.#key()
    if (key === null) return
    const t = this.#broker.quotas.delivered(key, this.#host.remoteAddress, bytes)
    if (t.ms <= 0) return
    this.#apply({ ms: Math.min(t.ms, this.#broker.quotas.config.quotaMaxThrottleMs), quota: t.quota })
  }

  #apply(t: Throttle): void {
    if (t.ms <= 0 || this.#closed) return
    const max = this.#broker.quotas.config.quotaMaxThrottleMs
    if (t.ms > max) {
      this.#broker.metrics.quotaExceeded(t.quota)
      this.#host.exceeded(ErrorMessages.quotaThrottleTooLong(t.quota, t.ms, max))
      return
    }
    const clock = this.#broker.clock
    const until = clock.monotonicMs() + t.ms
    if (until <= this.#throttledUntilMs) return
    this.#broker.metrics.quotaThrottled(t.quota, until - Math.max(this.#throttledUntilMs, clock.monotonicMs()))
    this.#throttledUntilMs = until
    if (this.#throttleTimer) clock.clearTimeout(this.#throttleTimer)
    else this.#host.pauseReading(true)
    this.#throttleTimer = clock.setTimeout(() => {
      this.#throttleTimer = null
      if (this.#closed) return
      this.#host.pauseReading(false)
      this.#host.throttleEnded()
    }, until - clock.monotonicMs())
  }

  #refuse(quota: QuotaName, reason: string): void {
    this.#broker.metrics.quotaExceeded(quota)
    this.#host.exceeded(reason)
  }

  #releasePrincipal(): void {
    if (this.#principalSlot !== null) this.#broker.quotas.closedForPrincipal(this.#principalSlot)
    this.#principalSlot = null
  }

  /** The connection closed: slots released, throttle timer cleared. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#throttleTimer) this.#broker.clock.clearTimeout(this.#throttleTimer)
    this.#throttleTimer = null
    this.#releasePrincipal()
    if (this.#ipSlot) this.#broker.quotas.closedFromIp(this.#host.remoteAddress)
    this.#ipSlot = false
  }
}

/** The batch bytes of a decoded produce request. */
function producedBytes(request: unknown): number {
  if (typeof request !== 'object' || request === null || !('batch' in request)) return 0
  const batch = request.batch
  return batch instanceof Uint8Array ? batch.length : 0
}
