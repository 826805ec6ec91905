/**
 * @module The connection to a group's coordinator (I/O): found with findCoordinator on any broker, then the
 * coordinator's own connection from the client's pool. Forgotten on an error that says the coordinator moved or is
 * unreachable (member-state.ts's `refind`), so the next request finds it again. Its requests fail with the
 * connection (failOnDisconnect): one on a socket that closes, or queued for a broker that does not answer, fails at
 * once rather than waiting out the request timeout on a dead coordinator.
 */
import { exchanges, SamsaError, type ConsumerGroupHeartbeatRequest, type ConsumerGroupHeartbeatResponse, type OffsetCommitRequest, type OffsetCommitResponse, type OffsetFetchRequest, type OffsetFetchResponse } from '@samsa/shared'
import type { BrokerPool } from '../connection/broker-pool.js'
import type { Connection } from '../connection/connection.js'
import type { Logger } from '../ports.js'
import { errorAction } from './member-state.js'

/**
 * Coordinator requests never wait for a broker to come back: a lost or unreachable connection fails them at once
 * (retriable NETWORK_EXCEPTION, so the coordinator is found again) instead of after the request timeout.
 */
const UNQUEUED = { failOnDisconnect: true } as const

export class CoordinatorLink {
  readonly #groupId: string
  readonly #pool: BrokerPool
  readonly #log: Logger
  #conn: Promise<Connection> | null = null
  /** findCoordinator requests sent, for tests. */
  lookups = 0

  constructor(groupId: string, pool: BrokerPool, logger: Logger) {
    this.#groupId = groupId
    this.#pool = pool
    this.#log = logger
  }

  heartbeat(request: ConsumerGroupHeartbeatRequest): Promise<ConsumerGroupHeartbeatResponse> {
    return this.#send((conn) => conn.request(exchanges.consumerGroupHeartbeat, request, UNQUEUED))
  }

  commit(request: OffsetCommitRequest): Promise<OffsetCommitResponse> {
    return this.#send((conn) => conn.request(exchanges.offsetCommit, request, UNQUEUED))
  }

  fetchOffsets(request: OffsetFetchRequest): Promise<OffsetFetchResponse> {
    return this.#send((conn) => conn.request(exchanges.offsetFetch, request, UNQUEUED))
  }

  /** The coordinator is to be found again before the next request. */
  forget(): void {
    this.#conn = null
  }

  async #send<T>(call: (conn: Connection) => Promise<T>): Promise<T> {
    const found = (this.#conn ??= this.#find())
    try {
      return await call(await found)
    } catch (error) {
      if (error instanceof SamsaError && errorAction(error) === 'refind' && this.#conn === found) this.forget()
      throw error
    }
  }

  async #find(): Promise<Connection> {
    this.lookups++
    const { brokerId, url } = await this.#pool.metadataConnection().request(exchanges.findCoordinator, { groupId: this.#groupId }, UNQUEUED)
    this.#pool.learn([{ brokerId, url }])
    this.#log.info({ groupId: this.#groupId, brokerId, url }, 'found the group coordinator')
    return this.#pool.connectionFor(brokerId)
  }
}
