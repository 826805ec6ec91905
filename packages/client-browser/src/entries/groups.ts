/**
 * @module @samsa/client-browser/groups: the full client (admin, producers, consumers, IndexedDB storage by default)
 * whose `consumer({ groupId })` is a consumer-group member, and a consumer-only one (memory storage by default). The
 * group code lives behind this entry only: pages that import the other entries do not bundle it.
 */
import { createClientKernel } from '../client-kernel.js'
import type { ClientOptions, SamsaClient } from '../client.js'
import { producerPart } from '../client-parts.js'
import { groupConsumerPart, type GroupConsumerFactory } from '../groups/groups-part.js'
import { defaultStorage } from '../storage/indexeddb-storage.js'
import { memoryStorage } from '../storage/memory-storage.js'

export * from './common.js'
export { Producer, type ProducerOptions, type ProducerRecord, type SendOptions, type FlushOptions, type RecordMetadata, type PendingCount, type Bytes } from '../producer/producer.js'
export { Consumer, type ConsumerOptions } from '../consumer/consumer.js'
export { Subscription, type SubscribeOptions, type StartFrom, type Gap, type BatchHandler, type ProcessOptions, type SeekTarget } from '../consumer/subscription.js'
export { ConsumerRecord } from '../consumer/consumer-record.js'
export { indexedDbStorage, AtomicTransactionInactiveError, type IndexedDbStorageOptions, type AppStores } from '../storage/indexeddb-storage.js'
export { GroupConsumer, DEFAULT_AUTO_COMMIT_INTERVAL_MS, DEFAULT_REBALANCE_TIMEOUT_MS, DEFAULT_SESSION_TIMEOUT_MS, type GroupConsumerOptions, type GroupSubscribeOptions } from '../groups/group-consumer.js'
export { GroupSubscription, type GroupSubscriptionEvents, type TopicPartition } from '../groups/group-subscription.js'
export type { GroupConsumerFactory } from '../groups/groups-part.js'
export { documentLifecycle, noLifecycle, type PageLifecycle, type LifecycleListener, type DocumentLike } from '../groups/page-lifecycle.js'
export type { SessionStoreLike } from '../groups/tab-instance.js'

/** A client whose `consumer()` also makes consumer-group members. */
export type GroupClient = Omit<SamsaClient, 'consumer'> & GroupConsumerFactory

/** A consumer-only client whose `consumer()` also makes consumer-group members. */
export type GroupConsumerClient = Omit<SamsaClient, 'consumer' | 'producer'> & GroupConsumerFactory

/**
 * createClient with consumer groups: `client.consumer({ groupId })`.
 * @example
 * const client = createClient({ brokers: 'ws://127.0.0.1:8080' })
 * const sub = client.consumer({ groupId: 'billing' }).subscribe(['orders'], { fromBeginning: true })
 * for await (const record of sub) bill(record)
 */
export function createClient(opts: ClientOptions): GroupClient {
  const kernel = createClientKernel(opts, defaultStorage)
  return kernel.client({ ...producerPart(kernel), ...groupConsumerPart(kernel) })
}

/** A consumer-only client with consumer groups; storage defaults to memoryStorage() (pass `storage: indexedDbStorage()` for `process()`). */
export function createGroupConsumerClient(opts: ClientOptions): GroupConsumerClient {
  const kernel = createClientKernel(opts, memoryStorage)
  return kernel.client(groupConsumerPart(kernel))
}
