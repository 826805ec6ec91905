/**
 * @module Rates as token buckets on a caller-given monotonic time: `ratePerSecond` tokens flow in continuously, a
 * bucket holds at most `burst` (rate × burstMs). Invariants: a bucket's tokens never exceed its burst; recording
 * always succeeds (the amount was already received: quotas throttle, they do not drop) and may leave the bucket in
 * debt, whose repayment time is the throttle; a bucket back at its burst is indistinguishable from a new one, so it
 * may be forgotten. Pure: no clock, no timers.
 */

export interface RateSpec {
  /** Tokens (bytes, requests, creations) per second; > 0. */
  readonly ratePerSecond: number
  /** How much may be spent at once after an idle period: rate × burstMs / 1000 tokens. */
  readonly burstMs: number
}

export class TokenBucket {
  readonly #ratePerMs: number
  readonly #burst: number
  #tokens: number
  #atMs: number

  constructor(spec: RateSpec, nowMs: number) {
    if (!(spec.ratePerSecond > 0) || !(spec.burstMs > 0)) throw new RangeError(`a rate needs ratePerSecond > 0 and burstMs > 0, got ${spec.ratePerSecond} and ${spec.burstMs}`)
    this.#ratePerMs = spec.ratePerSecond / 1000
    this.#burst = spec.ratePerSecond * (spec.burstMs / 1000)
    this.#tokens = this.#burst
    this.#atMs = nowMs
  }

  #refill(nowMs: number): void {
    if (nowMs > this.#atMs) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (nowMs - this.#atMs) * this.#ratePerMs)
      this.#atMs = nowMs
    }
  }

  /** Tokens available at `nowMs` (negative while in debt). */
  tokens(nowMs: number): number {
    this.#refill(nowMs)
    return this.#tokens
  }

  /** Back at its burst at `nowMs`: nothing to remember. */
  full(nowMs: number): boolean {
    return this.tokens(nowMs) >= this.#burst
  }

  /** Spends `amount` unconditionally; returns the throttle: ms until the bucket is out of debt (0 when it is not in debt). */
  record(amount: number, nowMs: number): number {
    this.#refill(nowMs)
    this.#tokens -= amount
    return this.#debtMs()
  }

  /** Spends `amount` only when that leaves no debt; returns 0 when spent, else the ms until it could be. */
  tryTake(amount: number, nowMs: number): number {
    this.#refill(nowMs)
    if (this.#tokens >= amount) {
      this.#tokens -= amount
      return 0
    }
    return Math.max(1, Math.ceil((amount - this.#tokens) / this.#ratePerMs))
  }

  #debtMs(): number {
    return this.#tokens >= 0 ? 0 : Math.ceil(-this.#tokens / this.#ratePerMs)
  }
}

/**
 * One TokenBucket per key (a principal, an address), all with the same spec. Bounded: at most `maxKeys` buckets;
 * buckets back at their burst are dropped when a sweep runs (at most once per burstMs, and whenever the map is
 * full); when the map is still full the least recently used bucket is dropped (forgiving its debt: the price of a
 * bound on memory whatever the number of keys).
 */
export class KeyedRate {
  readonly #spec: RateSpec
  readonly #maxKeys: number
  /** In least-recently-used order (a touched key is moved to the end). */
  readonly #buckets = new Map<string, TokenBucket>()
  #sweptAtMs = -Infinity

  constructor(spec: RateSpec, maxKeys: number) {
    if (!(maxKeys >= 1)) throw new RangeError(`maxKeys must be at least 1, got ${maxKeys}`)
    this.#spec = spec
    this.#maxKeys = maxKeys
  }

  get size(): number {
    return this.#buckets.size
  }

  record(key: string, amount: number, nowMs: number): number {
    return this.#bucket(key, nowMs).record(amount, nowMs)
  }

  tryTake(key: string, amount: number, nowMs: number): number {
    return this.#bucket(key, nowMs).tryTake(amount, nowMs)
  }

  #bucket(key: string, nowMs: number): TokenBucket {
    if (nowMs - this.#sweptAtMs >= this.#spec.burstMs) this.sweep(nowMs)
    let b = this.#buckets.get(key)
    if (b) {
      this.#buckets.delete(key)
    } else {
      if (this.#buckets.size >= this.#maxKeys) this.sweep(nowMs)
      if (this.#buckets.size >= this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!)
      b = new TokenBucket(this.#spec, nowMs)
    }
    this.#buckets.set(key, b)
    return b
  }

  /** Forgets every bucket back at its burst. */
  sweep(nowMs: number): void {
    this.#sweptAtMs = nowMs
    for (const [k, b] of this.#buckets) if (b.full(nowMs)) this.#buckets.delete(k)
  }
}

/** Open things (connections) per key, each key within `max`; a key at 0 is forgotten, so memory follows what is open. */
export class KeyedCounts {
  readonly #counts = new Map<string, number>()

  get size(): number {
    return this.#counts.size
  }

  count(key: string): number {
    return this.#counts.get(key) ?? 0
  }

  /** Counts one more for `key` unless that would pass `max`; false (nothing counted) then. */
  tryAcquire(key: string, max: number): boolean {
    const n = this.count(key)
    if (n >= max) return false
    this.#counts.set(key, n + 1)
    return true
  }

  release(key: string): void {
    const n = this.count(key)
    if (n <= 1) this.#counts.delete(key)
    else this.#counts.set(key, n - 1)
  }
}
