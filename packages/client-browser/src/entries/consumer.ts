/**
 * @module @samsa/client-browser/consumer: a client that only consumes (admin and consumers, no producer code).
 * Storage defaults to memoryStorage(); pass `storage: indexedDbStorage()` from `@samsa/client-browser/indexeddb` for
 * positions (`from: 'stored'`) that outlive the page.
 */
import { createClientKernel } from '../client-kernel.js'
import type { ClientOptions, ConsumerClient } from '../client.js'
import { consumerPart } from '../client-parts.js'
import { memoryStorage } from '../storage/memory-storage.js'

export * from './common.js'
export type { ConsumerClient } from '../client.js'
export { Consumer, type ConsumerOptions } from '../consumer/consumer.js'
export { Subscription, type SubscribeOptions, type StartFrom, type Gap, type BatchHandler, type ProcessOptions, type SeekTarget } from '../consumer/subscription.js'
export { ConsumerRecord } from '../consumer/consumer-record.js'

/** createClient without producer(): the same options, connection, admin, status and close(). */
export function createConsumerClient(opts: ClientOptions): ConsumerClient {
  const kernel = createClientKernel(opts, memoryStorage)
  return kernel.client(consumerPart(kernel))
}
