/** @module What a subscription is built from: the client's connection, push router, metadata, ports and storage. */
import type { BackoffPolicy } from '../connection/backoff.js'
import type { Connection } from '../connection/connection.js'
import type { MetadataCache } from '../metadata/metadata-cache.js'
import type { Clock, Logger, Random } from '../ports.js'
import type { PushRouter } from './push-router.js'
import type { ClientStorage } from '../storage/stores.js'

export interface SubscriptionDeps {
  readonly conn: Connection
  readonly router: PushRouter
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
