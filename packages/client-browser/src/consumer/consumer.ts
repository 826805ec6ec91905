/** @module The Consumer: creates subscription handles that share the client's connection and push router. */
import type { BackoffPolicy } from '../connection/backoff.js'
import { Subscription, type SubscribeOptions, type SubscriptionDeps } from './subscription.js'
import { checkSubscribe } from './subscribe-validation.js'

export interface ConsumerOptions {
  /** The consumer id positions are stored under (`subscribe(topic, { from: 'stored' })`). Default 'default'. */
  readonly id?: string
  /** Default credit window per partition for this consumer's subscriptions. */
  readonly creditWindowBytes?: number
  /** Backoff between re-subscribe attempts after retriable errors. */
  readonly retryBackoff?: BackoffPolicy
}

export class Consumer {
  readonly #opts: ConsumerOptions
  readonly #deps: SubscriptionDeps
  /** Open subscriptions; each removes itself when it ends. */
  readonly #subscriptions = new Set<Subscription>()

  /** `opts` are checked by `client.consumer()` (validation/client-options.ts). */
  constructor(opts: ConsumerOptions, deps: SubscriptionDeps) {
    this.#opts = opts
    this.#deps = { ...deps, consumerId: opts.id ?? deps.consumerId ?? 'default', ...(opts.retryBackoff && { retryBackoff: opts.retryBackoff }) }
  }

  /** The consumer id positions are stored under. */
  get id(): string {
    return this.#deps.consumerId ?? 'default'
  }

  /** Throws a TypeError naming the argument for a bad topic or option (nothing is subscribed then). */
  subscribe(topic: string, opts: SubscribeOptions = {}): Subscription {
    checkSubscribe(topic, opts)
    const creditWindowBytes = opts.creditWindowBytes ?? this.#opts.creditWindowBytes
    const sub = new Subscription(topic, creditWindowBytes === undefined ? opts : { ...opts, creditWindowBytes }, this.#deps)
    this.#subscriptions.add(sub)
    void sub.closed.then(() => this.#subscriptions.delete(sub))
    return sub
  }

  /** Closes every subscription; resolves once their pending position commits are written. */
  async close(): Promise<void> {
    const subs = [...this.#subscriptions]
    for (const sub of subs) sub.close()
    await Promise.all(subs.map((sub) => sub.closed))
  }
}
