/**
 * @module One Connection per broker the client uses. The bootstrap connection (the `brokers` URLs, rotating) serves
 * metadata, admin and the handshake the producers wait for; a partition's requests go to its leader's connection:
 * a pooled one made for that broker earlier, else the bootstrap one when its handshake named that broker (so a
 * single-node cluster uses one socket), else a connection to the leader's advertised URL, created on first use with
 * the same options (status, backoff, heartbeat, request timeouts: connection.ts). Every connection has its own PushRouter (subscription ids are per
 * connection). Pooled connections live until the client closes.
 */
import { SamsaError } from '@samsa/shared'
import { PushRouter } from '../consumer/push-router.js'
import type { Logger } from '../ports.js'
import { Connection, type ConnectionOptions } from './connection.js'

export interface BrokerAddress {
  readonly brokerId: number
  /** Base URL as advertised in metadata (`ws://host:port`). */
  readonly url: string
}

export class BrokerPool {
  readonly bootstrap: Connection
  readonly #opts: ConnectionOptions
  readonly #log: Logger
  /** Connections made to advertised URLs, by broker id. */
  readonly #byId = new Map<number, Connection>()
  /** Advertised base URL per broker id, from the last metadata answer naming it. */
  readonly #urls = new Map<number, string>()
  readonly #routers = new Map<Connection, PushRouter>()
  readonly #created = new Set<(conn: Connection) => void>()
  #closed = false

  constructor(opts: ConnectionOptions, logger: Logger) {
    this.#opts = opts
    this.#log = logger
    this.bootstrap = new Connection(opts)
    this.#routers.set(this.bootstrap, new PushRouter(this.bootstrap, logger.child({ component: 'push-router' })))
  }

  /** Records the brokers a metadata answer listed (their advertised URLs). */
  learn(brokers: readonly BrokerAddress[]): void {
    for (const b of brokers) this.#urls.set(b.brokerId, b.url)
  }

  /** Brokers known from metadata (at least one once metadata was fetched). */
  /** The ids of the known brokers, ascending. */
  get brokerIds(): number[] {
    return [...this.#urls.keys()].sort((a, b) => a - b)
  }

  get knownBrokers(): number {
    return this.#urls.size
  }

  /**
   * The connection for a broker: the pooled one if it exists, else the bootstrap one if its last handshake was with
   * that broker, else a pooled one created now from the advertised URL. LEADER_NOT_AVAILABLE (retriable) for a broker with no known URL.
   */
  connectionFor(brokerId: number): Connection {
    // A pooled connection, once made, keeps its broker's requests even when the bootstrap reconnects to that broker:
    // requests of one partition travel on one socket, so the broker sees them in the order they were sent.
    const existing = this.#byId.get(brokerId)
    if (existing !== undefined) return existing
    if (this.bootstrap.helloResponse?.brokerId === brokerId) return this.bootstrap
    const url = this.#urls.get(brokerId)
    if (url === undefined || this.#closed) {
      if (this.bootstrap.helloResponse === null && this.#urls.size <= 1) return this.bootstrap // not connected yet: the bootstrap is the best guess
      throw new SamsaError('LEADER_NOT_AVAILABLE', `no address known for broker ${brokerId}`)
    }
    const conn = new Connection({ ...this.#opts, brokers: [url] })
    this.#byId.set(brokerId, conn)
    this.#routers.set(conn, new PushRouter(conn, this.#log.child({ component: 'push-router', brokerId })))
    this.#log.info({ brokerId, url }, 'connecting to a partition leader')
    for (const fn of this.#created) fn(conn)
    return conn
  }

  /**
   * Where the `turn`-th leader check asks for metadata: the known brokers in turn (by id), so a broker that answers
   * from a stale image (cut off from the controller, or restarted on old metadata) is not the only source. A broker
   * whose connection is not up is connected to for a later turn, and this turn falls back to metadataConnection().
   * Brokers in `avoid` are asked only when every known broker is in it.
   */
  metadataConnectionInTurn(turn: number, avoid?: ReadonlySet<number>): Connection {
    const all = [...this.#urls.keys()].sort((a, b) => a - b)
    if (all.length <= 1 || this.#closed) return this.metadataConnection()
    const others = avoid === undefined ? all : all.filter((id) => !avoid.has(id))
    const ids = others.length > 0 ? others : all
    const conn = this.connectionFor(ids[turn % ids.length]!)
    if (conn.state.status === 'connected') return conn
    conn.connect()
    // Not up yet: the next broker in turn order that is connected.
    for (let k = 1; k < ids.length; k++) {
      const id = ids[(turn + k) % ids.length]!
      const c = this.#byId.get(id) ?? (this.bootstrap.helloResponse?.brokerId === id ? this.bootstrap : undefined)
      if (c?.state.status === 'connected') return c
    }
    return this.metadataConnection()
  }

  /** Where a metadata request goes: the bootstrap connection when it is up, else any connected one, else the bootstrap (it queues). */
  metadataConnection(): Connection {
    if (this.bootstrap.state.status === 'connected') return this.bootstrap
    for (const c of this.#byId.values()) if (c.state.status === 'connected') return c
    return this.bootstrap
  }

  router(conn: Connection): PushRouter {
    const r = this.#routers.get(conn)
    if (r === undefined) throw new Error('a connection that is not in the pool')
    return r
  }

  /** Every connection: the bootstrap first, then the pooled ones in creation order. */
  all(): Connection[] {
    return [this.bootstrap, ...this.#byId.values()]
  }

  /** Called for each connection the pool creates after this call; returns the unsubscribe function. */
  onCreated(fn: (conn: Connection) => void): () => void {
    this.#created.add(fn)
    return () => void this.#created.delete(fn)
  }

  close(): void {
    this.#closed = true
    for (const c of this.#byId.values()) c.close()
    this.bootstrap.close()
  }
}
