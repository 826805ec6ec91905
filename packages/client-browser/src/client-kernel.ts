/**
 * @module The client without producers or consumers: a BrokerPool (the bootstrap connection, plus one per partition
 * leader), metadata, admin, status and the one shutdown. The parts (client-parts.ts) create producers and consumers
 * from the deps it hands out and register them in its sets, so close() flushes and releases every one of them.
 * Invariants: storage is the caller's or one made by `defaultStorage` (closed at shutdown only then); the shutdown runs
 * once; imports of Producer and Consumer are type-only, so an entry point without a part does not bundle it.
 */
import { Admin } from './admin/admin.js'
import { BrokerPool } from './connection/broker-pool.js'
import { DEFAULT_CONNECT_TIMEOUT_MS } from './connection/connection.js'
import type { ClientOptions, CloseResult, SamsaClient } from './client.js'
import type { Consumer } from './consumer/consumer.js'
import type { SubscriptionDeps } from './consumer/subscription-deps.js'
import { MetadataCache } from './metadata/metadata-cache.js'
import { defaultWebSocket, silentLogger, systemClock, type TimerHandle } from './ports.js'
import type { Producer, ProducerDeps } from './producer/producer.js'
import type { LockManagerLike } from './storage/identity-lock.js'
import type { ClientStorage } from './storage/stores.js'
import { checkClientOptions, checkCloseOptions, checkConnectOptions, checkListener, rejectInvalid } from './validation/index.js'

/**
 * close()'s default bound on the producers' flush, ms. Kafka's `close(Duration)` waits as long as it is told (for ever
 * by default); a page must not hang on a broker that is gone, and what is left is kept in the outbox anyway.
 */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000

/** The members every client has, whatever parts its entry point gives it. */
export type BaseClient = Omit<SamsaClient, 'producer' | 'consumer'>

export interface ClientKernel {
  readonly options: ClientOptions
  /** Producers of this client: flushed by close() (for at most its timeoutMs), then released. */
  readonly producers: Set<Producer>
  /** Consumers of this client (plain and group ones): closed by close() first. */
  readonly consumers: Set<Pick<Consumer, 'close'>>
  /** What a producer of this client is built from; the producer part brings the lock manager. */
  producerDeps(locks: LockManagerLike): ProducerDeps
  /** What a consumer of this client is built from. */
  consumerDeps(): SubscriptionDeps
  /** The client object: the base members and the given parts' methods. */
  client<P extends object>(parts: P): BaseClient & P
}

export function createClientKernel(opts: ClientOptions, defaultStorage: () => ClientStorage): ClientKernel {
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
  const consumers = new Set<Pick<Consumer, 'close'>>()
  const admin = new Admin(conn, metadata)
  const storage = opts.storage ?? defaultStorage()
  let shutdown: Promise<CloseResult> | null = null
  /**
   * Flushes every producer, but for at most timeoutMs on the client's clock; resolves when done or given up. Returns
   * at once with timeoutMs 0.
   */
  const flushProducers = (timeoutMs: number): Promise<void> => (producers.size === 0 ? Promise.resolve() : within(Promise.allSettled([...producers].map((p) => p.close())), timeoutMs))
  /** Waits for `work`, but for at most timeoutMs on the client's clock (not at all with 0). */
  const within = async (work: Promise<unknown>, timeoutMs: number): Promise<void> => {
    if (timeoutMs === 0) return
    let timer: TimerHandle | undefined
    const deadline = new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, timeoutMs)))
    await Promise.race([work, deadline])
    clock.clearTimeout(timer)
  }
  /** Runs once (close() or a fatal close of the connection): releases consumers, producers, the connection and the default storage. */
  const shutDown = (timeoutMs: number): Promise<CloseResult> =>
    (shutdown ??= (async () => {
      // Subscriptions stop at once; their pending position commits are written before the storage closes.
      const consumersClosed = Promise.allSettled([...consumers].map((c) => c.close()))
      // Flush only over a live connection: while disconnected, unacknowledged sends would wait for a reconnect that close()
      // forbids. Group members commit and leave over it too, so the connections close after them (within the same bound).
      if (conn.state.status === 'connected') await Promise.all([flushProducers(timeoutMs), within(consumersClosed, timeoutMs)])
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
    options: opts,
    producers,
    consumers,
    producerDeps: (locks) => ({ conn, metadata, clock, random, logger: logger.child({ component: 'producer' }), storage, locks, ...(opts.crc32c && { crc32c: opts.crc32c }) }),
    consumerDeps: () => ({ pool, metadata, storage, clock, random, logger: logger.child({ component: 'consumer' }), retryBackoff: { baseMs: 100, capMs: 5_000 } }),
    client: (parts) => ({
      ...parts,
      admin,
      closed,
      connect(options) {
        return rejectInvalid(() => checkConnectOptions(options)) ?? conn.connectOrFail(options?.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS).then(() => {})
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
    }),
  }
}
