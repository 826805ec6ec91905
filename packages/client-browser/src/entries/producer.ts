/**
 * @module @samsa/client-browser/producer: a client that only produces (admin and producers, no consumer code).
 * Storage defaults to memoryStorage(); pass `storage: indexedDbStorage()` from `@samsa/client-browser/indexeddb` for
 * an outbox and producer identities that outlive the page.
 */
import { createClientKernel } from '../client-kernel.js'
import type { ClientOptions, ProducerClient } from '../client.js'
import { producerPart } from '../client-parts.js'
import { memoryStorage } from '../storage/memory-storage.js'

export * from './common.js'
export type { ProducerClient } from '../client.js'
export { Producer, type ProducerOptions, type ProducerRecord, type SendOptions, type FlushOptions, type RecordMetadata, type PendingCount, type Bytes } from '../producer/producer.js'
export { murmur2, partitionForKey } from '../producer/partitioner.js'

/** createClient without consumer(): the same options, connection, admin, status and close(). */
export function createProducerClient(opts: ClientOptions): ProducerClient {
  const kernel = createClientKernel(opts, memoryStorage)
  return kernel.client(producerPart(kernel))
}
