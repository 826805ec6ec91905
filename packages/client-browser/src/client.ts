/**
 * @module createClient: the full SDK's client (admin, producers, consumers; IndexedDB storage by default) and the
 * client's public types. The client itself is composed in client-kernel.ts; the parts in client-parts.ts, so the
 * smaller entry points (entries/) build clients with only the parts they export.
 */
import type { Crc32cFn } from '@samsa/shared'
import type { Admin } from './admin/admin.js'
import type { BackoffPolicy } from './connection/backoff.js'
import type { TokenOption } from './connection/token-keeper.js'
import type { ConnectionEvents } from './connection/connection.js'
import type { ConnectionState } from './connection/connection-state.js'
import type { Consumer, ConsumerOptions } from './consumer/consumer.js'
import { createClientKernel } from './client-kernel.js'
import { consumerPart, producerPart } from './client-parts.js'
import type { Clock, Logger, Random, WebSocketConstructor } from './ports.js'
import type { PendingCount, Producer, ProducerOptions } from './producer/producer.js'
import type { LockManagerLike } from './storage/identity-lock.js'
import { defaultStorage } from './storage/indexeddb-storage.js'
import type { ClientStorage } from './storage/stores.js'

export interface ClientOptions {
  /**
   * Bootstrap broker base URLs (`ws://host:port`): any one broker of the cluster, or a list; the client connects to
   * `<base>/ws`, rotating on reconnect, and learns the other brokers' advertised URLs from metadata (it then opens one
   * WebSocket per partition leader it uses). A comma-separated string also works. Normalized: no scheme (`localhost:8080`) means ws://, http(s):// becomes ws(s)://, and a
   * trailing `/ws` is dropped; any other scheme, a query or credentials is a TypeError.
   */
  readonly brokers: readonly string[] | string
  readonly clientId?: string
  /** Default globalThis.WebSocket; in Node 20 pass `WebSocket` from 'ws'. */
  readonly WebSocket?: WebSocketConstructor
  readonly clock?: Clock
  readonly random?: Random
  readonly logger?: Logger
  /**
   * Per-request timeout, ms. Default 30 000. A request the broker leaves unanswered this long also makes the client
   * probe that socket with a ping (heartbeatTimeoutMs), and a socket that has not opened within it is given up: a
   * silent (blackholed) broker is left for another one. Produce requests wait the producer's `timeoutMs` + 5 s instead.
   */
  readonly requestTimeoutMs?: number
  /** Reconnect backoff. Default base 250 ms, cap 10 s. */
  readonly reconnectBackoff?: BackoffPolicy
  /** Source of online/offline events; default globalThis in browsers; null disables. */
  readonly networkEvents?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> | null
  /** Heartbeat: a `ping` this many ms after the previous pong while connected. Default 15 000; 0 disables. */
  readonly heartbeatIntervalMs?: number
  /** A ping unanswered for this many ms marks the socket half-open: it is closed and the client reconnects. Default 10 000. */
  readonly heartbeatTimeoutMs?: number
  /** Offsets, outbox and producer identities. Default `indexedDbStorage()` when `globalThis.indexedDB` exists, else `memoryStorage()`. */
  readonly storage?: ClientStorage
  /** Web Locks for producer identity slots. Default `navigator.locks`, else one in-process lock manager. */
  readonly locks?: LockManagerLike
  /**
   * CRC-32C for the record batches the producer encodes; default a pure-JS one. In Node, a native one is faster,
   * e.g. `crc32c: (b, start, end) => require('@node-rs/crc32').crc32c(b.subarray(start, end))`.
   */
  readonly crc32c?: Crc32cFn
  /**
   * The credential for a broker with authentication: a JWT, or a function resolving to a fresh one. It travels in
   * each connection's hello (never in the URL). With a function, the client sends a fresh token (`reauthenticate`)
   * before the current one's `exp`, and fetches one for every reconnect, e.g. after the broker closed with
   * TOKEN_EXPIRED (4001). A refused token closes the client for good with SASL_AUTHENTICATION_FAILED (not retriable):
   * `client.closed` resolves with that error, and `connect()` and pending calls reject.
   */
  readonly token?: TokenOption
}

export interface ConnectOptions {
  /** Give up (reject with CONNECT_TIMEOUT) after this many ms. Default 10 000. */
  readonly timeoutMs?: number
}

export { DEFAULT_CLOSE_TIMEOUT_MS } from './client-kernel.js'

export interface CloseOptions {
  /**
   * How long close() waits for the producers' flush, ms; then it closes anyway. Default 5 000. 0: no flush (e.g. on
   * `pagehide`). Batches still unacknowledged stay in an idempotent producer's outbox for the next page life.
   */
  readonly timeoutMs?: number
}

export interface CloseResult {
  /** What the producers had not had acknowledged when the client closed (the sum of their `pending()`); zero after a complete flush. */
  readonly unacknowledged: PendingCount
}

export interface SamsaClient {
  readonly admin: Admin
  /**
   * Connects now, failing fast; optional (every call connects lazily). Resolves once the handshake completes.
   * Rejects with a SamsaError: CONNECTION_FAILED (code 2000) as soon as every broker URL has failed one attempt
   * (refused, unreachable, not a Samsa broker) or the platform reports no network; CONNECT_TIMEOUT (2001) after
   * timeoutMs; the closing error if the client is or becomes closed. After a rejection the client keeps retrying in
   * the background, so queued calls still go through once a broker answers; close() it to give up.
   */
  connect(options?: ConnectOptions): Promise<void>
  /**
   * Settles once the client is closed, never rejects: undefined after close(); the Error that closed it otherwise
   * (CONNECTION_REJECTED for a terminal close code such as 4401, the broker's error for a fatal handshake such as
   * UNSUPPORTED_VERSION). By then the client has released what close() releases.
   */
  readonly closed: Promise<Error | undefined>
  producer(opts?: ProducerOptions): Producer
  consumer(opts?: ConsumerOptions): Consumer
  /**
   * The bootstrap connection's current state (the connection to one of `brokers`, used for metadata and admin). With
   * several brokers, each partition's requests use a connection to its leader, which has its own reconnects; a
   * request waits for its leader's connection (or follows the leader to another broker).
   */
  readonly state: ConnectionState
  /**
   * The current state, then each change, as an async iterable; it ends after the `closed` state (client.close()).
   * @example for await (const s of client.status()) banner.textContent = s.status
   */
  status(): AsyncIterableIterator<ConnectionState>
  /** Listens for connection status changes; returns the unsubscribe function. */
  onStatus(listener: (change: ConnectionEvents['status']) => void): () => void
  /**
   * Closes subscriptions (writing their pending position commits), flushes producers (when connected) for at most
   * `timeoutMs`, then closes the connection; unacknowledged sends reject, and an idempotent producer's outbox keeps
   * their batches for the next page life. Resolves with what was left unacknowledged. Idempotent: the first call's
   * timeoutMs applies, and every call resolves with the same result.
   */
  close(options?: CloseOptions): Promise<CloseResult>
}

/** A client with producers only (`createProducerClient` from `@samsa/client-browser/producer`). */
export type ProducerClient = Omit<SamsaClient, 'consumer'>

/** A client with consumers only (`createConsumerClient` from `@samsa/client-browser/consumer`). */
export type ConsumerClient = Omit<SamsaClient, 'producer'>

/**
 * @example
 * const client = createClient({ brokers: ['ws://127.0.0.1:8080'], clientId: 'app-1' })
 * const [meta] = await client.producer().send('orders', [{ key: 'k1', value: 'hello' }])
 * for await (const record of client.consumer().subscribe('orders', { from: 'earliest' })) render(record.text())
 */
export function createClient(opts: ClientOptions): SamsaClient {
  const kernel = createClientKernel(opts, defaultStorage)
  return kernel.client({ ...producerPart(kernel), ...consumerPart(kernel) })
}
