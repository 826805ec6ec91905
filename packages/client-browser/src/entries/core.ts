/**
 * @module @samsa/client-browser/core: the whole client (admin, producers, consumers) without IndexedDB code. Storage
 * defaults to memoryStorage(); pass `storage: indexedDbStorage()` from `@samsa/client-browser/indexeddb` to have it.
 */
import { createClientKernel } from '../client-kernel.js'
import type { ClientOptions, SamsaClient } from '../client.js'
import { consumerPart, producerPart } from '../client-parts.js'
import { memoryStorage } from '../storage/memory-storage.js'

export * from './common.js'
export type { SamsaClient } from '../client.js'
export { Producer, type ProducerOptions, type ProducerRecord, type SendOptions, type FlushOptions, type RecordMetadata, type PendingCount, type Bytes } from '../producer/producer.js'
export { murmur2, partitionForKey } from '../producer/partitioner.js'
export { Consumer, type ConsumerOptions } from '../consumer/consumer.js'
export { Subscription, type SubscribeOptions, type StartFrom, type Gap, type BatchHandler, type ProcessOptions, type SeekTarget } from '../consumer/subscription.js'
export { ConsumerRecord } from '../consumer/consumer-record.js'

/** createClient with memoryStorage() as the default storage, so no IndexedDB code is bundled. */
export function createClient(opts: ClientOptions): SamsaClient {
  const kernel = createClientKernel(opts, memoryStorage)
  return kernel.client({ ...producerPart(kernel), ...consumerPart(kernel) })
}
