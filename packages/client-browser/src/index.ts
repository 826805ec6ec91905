/** @module @samsa/client-browser: the public API of the SDK (browser first; in Node pass `WebSocket` from 'ws'). */
export { DEFAULT_CLOSE_TIMEOUT_MS, createClient, type ClientOptions, type CloseOptions, type CloseResult, type ConnectOptions, type SamsaClient, type ProducerClient, type ConsumerClient } from './client.js'
export { ClientErrorCodes, AbortError, type ClientErrorName } from './client-errors.js'
export { normalizeBrokerUrl } from './validation/broker-url.js'
export type { CreateTopicOptions } from './validation/admin-arguments.js'
export { Admin, type TopicDescription, type OffsetQuery, type ListedOffset } from './admin/admin.js'
export { Producer, type ProducerOptions, type ProducerRecord, type SendOptions, type FlushOptions, type RecordMetadata, type PendingCount, type Bytes } from './producer/producer.js'
export { Consumer, type ConsumerOptions } from './consumer/consumer.js'
export { Subscription, type SubscribeOptions, type StartFrom, type Gap, type BatchHandler, type ProcessOptions, type SeekTarget } from './consumer/subscription.js'
export { ConsumerRecord } from './consumer/consumer-record.js'
export { Connection, clientClosedError, type ConnectionOptions, type ConnectionEvents, type StatusChange, type RequestOptions } from './connection/connection.js'
export {
  ConnectionReasons,
  transition as connectionTransition,
  initialConnectionState,
  type ConnectionStatus,
  type ConnectionState,
  type ConnectionReason,
  type ConnectionReasonCode,
  type ConnectionEvent,
  type ConnectionEffect,
} from './connection/connection-state.js'
export { backoffDelayMs, defaultBackoff, type BackoffPolicy } from './connection/backoff.js'
export type { TokenOption } from './connection/token-keeper.js'
export { memoryStorage } from './storage/memory-storage.js'
export { indexedDbStorage, AtomicTransactionInactiveError, type IndexedDbStorageOptions, type AppStores } from './storage/indexeddb-storage.js'
export { inProcessLockManager, type LockManagerLike } from './storage/identity-lock.js'
export type { ClientStorage, OffsetStore, OutboxStore, OutboxEntry, ProducerIdentity, ProducerIdentityStore, StoredPosition, AtomicTransaction } from './storage/stores.js'
export { murmur2, partitionForKey } from './producer/partitioner.js'
export { silentLogger, systemClock, type Clock, type Logger, type Random, type TimerHandle, type WebSocketConstructor, type WebSocketLike } from './ports.js'
export { SamsaError, ErrorCodes, CloseCodes, type ErrorName } from '@samsa/shared'
