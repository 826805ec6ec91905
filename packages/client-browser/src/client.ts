/** @module createClient: the composition root of the SDK; a BrokerPool (the bootstrap connection, plus one per partition leader) shared by admin, producers and consumers. */
import type { Crc32cFn } from '@samsa/shared'
import { Admin } from './admin/admin.js'
import type { BackoffPolicy } from './connection/backoff.js'
import type { TokenOption } from './connection/token-keeper.js'
import { DEFAULT_CONNECT_TIMEOUT_MS, type ConnectionEvents } from './connection/connection.js'
import type { ConnectionState } from './connection/connection-state.js'
import { Consumer, type ConsumerOptions } from './consumer/consumer.js'
import { BrokerPool } from './connection/broker-pool.js'
import { MetadataCache } from './metadata/metadata-cache.js'
import { defaultWebSocket, silentLogger, systemClock, type Clock, type Logger, type Random, type TimerHandle, type WebSocketConstructor } from './ports.js'
import { Producer, type PendingCount, type ProducerOptions } from './producer/producer.js'
import { defaultLockManager, type LockManagerLike } from './storage/identity-lock.js'
import { defaultStorage } from './storage/indexeddb-storage.js'
import type { ClientStorage } from './storage/stores.js'
import { checkClientOptions, checkCloseOptions, checkConnectOptions, checkConsumerOptions, checkListener, checkProducerOptions, rejectInvalid } from './validation/index.js'

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

/**
 * close()'s default bound on the producers' flush, ms. Kafka's `close(Duration)` waits as long as it is told (for ever
 * by default); a page must not hang on a broker that is gone, and what is left is kept in the outbox anyway.
 */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000

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

/**
 * @example
 * const client = createClient({ brokers: ['ws://127.0.0.1:8080'], clientId: 'app-1' })
 * const [meta] = await client.producer().send('orders', [{ key: 'k1', value: 'hello' }])
 * for await (const record of client.consumer().subscribe('orders', { from: 'earliest' })) render(record.text())
 */
export function createClient(opts: ClientOptions): SamsaClient {
  const brokers = checkClientOptions(opts)
  const clock = opts.clock ?? systemClock
  const random = opts.random ?? Math.random
  const logger = opts.logger ?? silentLogger
  const pool = new BrokerPool(
    {
      brokers,
      clientId: opts.clientId ?? 'samsa-client',
      WebSocket: opts.WebSocket ?? defaultWebSocket(),
      clock,
      random,
      logger,
      ...(opts.requestTimeoutMs !== undefined && { requestTimeoutMs: opts.requestTimeoutMs }),
      ...(opts.reconnectBackoff !== undefined && { backoff: opts.reconnectBackoff }),
      ...(opts.networkEvents !== undefined && { networkEvents: opts.networkEvents }),
      ...(opts.heartbeatIntervalMs !== undefined && { heartbeatIntervalMs: opts.heartbeatIntervalMs }),
      ...(opts.heartbeatTimeoutMs !== undefined && { heartbeatTimeoutMs: opts.heartbeatTimeoutMs }),
      ...(opts.token !== undefined && { token: opts.token }),
    },
    logger,
  )
  /** The bootstrap connection: handshake, metadata, admin, producer ids; the client's status is its status. */
  const conn = pool.bootstrap
  const metadata = new MetadataCache(pool, { clock, random })
  const producers = new Set<Producer>()
  const consumers = new Set<Consumer>()
  const admin = new Admin(conn, metadata)
  const storage = opts.storage ?? defaultStorage()
  const locks = opts.locks ?? defaultLockManager()
  let shutdown: Promise<CloseResult> | null = null
  /**
   * Flushes every producer, but for at most timeoutMs on the client's clock; resolves when done or given up. Returns
   * at once with timeoutMs 0.
   */
  const flushProducers = async (timeoutMs: number): Promise<void> => {
    if (timeoutMs === 0 || producers.size === 0) return
    let timer: TimerHandle | undefined
    const deadline = new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, timeoutMs)))
    await Promise.race([Promise.allSettled([...producers].map((p) => p.close())), deadline])
    clock.clearTimeout(timer)
  }
  /** Runs once (close() or a fatal close of the connection): releases consumers, producers, the connection and the default storage. */
  const shutDown = (timeoutMs: number): Promise<CloseResult> =>
    (shutdown ??= (async () => {
      // Subscriptions stop at once; their pending position commits are written before the storage closes.
      const consumersClosed = Promise.allSettled([...consumers].map((c) => c.close()))
      // Flush only over a live connection: while disconnected, unacknowledged sends would wait for a reconnect that close() forbids.
      if (conn.state.status === 'connected') await flushProducers(timeoutMs)
      const unacknowledged = { batches: 0, records: 0 }
      for (const p of producers) {
        const left = p.pending()
        unacknowledged.batches += left.batches
        unacknowledged.records += left.records
        p.release()
      }
      if (unacknowledged.records > 0) logger.warn({ ...unacknowledged, timeoutMs }, 'client closing with records unacknowledged: their sends reject; batches stay in the outbox for the next page life')
      metadata.close()
      pool.close()
      await consumersClosed
      // A storage the caller passed in may be shared; close only the default one.
      if (opts.storage === undefined) await storage.close()
      return { unacknowledged }
    })())
  const closed = conn.closed.then(async (error) => {
    await shutDown(DEFAULT_CLOSE_TIMEOUT_MS).catch((e: unknown) => logger.warn({ error: String(e) }, 'client shutdown failed'))
    return error
  })
  return {
    admin,
    closed,
    connect(options) {
      return rejectInvalid(() => checkConnectOptions(options)) ?? conn.connectOrFail(options?.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS).then(() => {})
    },
    producer(options = {}) {
      checkProducerOptions(options)
      const p = new Producer(options, { conn, metadata, clock, random, logger: logger.child({ component: 'producer' }), storage, locks, ...(opts.crc32c && { crc32c: opts.crc32c }) })
      producers.add(p)
      return p
    },
    consumer(options = {}) {
      checkConsumerOptions(options)
      const deps = { pool, metadata, storage, clock, random, logger: logger.child({ component: 'consumer' }), retryBackoff: { baseMs: 100, capMs: 5_000 } }
      const c = new Consumer(options, deps)
      consumers.add(c)
      return c
    },
    get state() {
      return conn.state
    },
    status: () => conn.statuses(),
    onStatus(listener) {
      checkListener('onStatus(listener)', listener)
      return conn.on('status', listener)
    },
    /** Idempotent: every call resolves when the one shutdown is done. */
    async close(options) {
      const { timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS } = checkCloseOptions(options)
      const result = await shutDown(timeoutMs)
      await closed
      return result
    },
  }
}
