/** @module What a subscription is built from: the client's connection pool, metadata, ports and storage. */
import type { BackoffPolicy } from '../connection/backoff.js'
import type { BrokerPool } from '../connection/broker-pool.js'
import type { MetadataCache } from '../metadata/metadata-cache.js'
import type { Clock, Logger, Random } from '../ports.js'
import type { ClientStorage } from '../storage/stores.js'

export interface SubscriptionDeps {
  /** The client's connections: each partition subscribes on its leader's (routed by metadata). */
  readonly pool: BrokerPool
  readonly metadata: MetadataCache
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
  readonly retryBackoff: BackoffPolicy
  /** Where positions are stored; required for `from: 'stored'`. */
  readonly storage?: ClientStorage
  /** The consumer id positions are stored under. Default 'default'. */
  readonly consumerId?: string
}
