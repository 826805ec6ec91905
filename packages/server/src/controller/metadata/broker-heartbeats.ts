/**
 * @module BrokerHeartbeats: when the active controller last heard from each broker — controller-local soft state,
 * deliberately not in the metadata log (as in KRaft).
 *
 * Why not in the log: a heartbeat every few seconds from every broker would each cost a Raft commit (an fsync on
 * a majority) and grow the log with facts nobody needs once the session is decided. What the cluster must agree
 * on — that a broker is fenced or unfenced — is in the log, as the fenceBroker/unfenceBroker records this state
 * leads to. A newly active controller knows no heartbeat times, so it grants every registered broker a full
 * session from the moment it first looks at it: a dead broker is fenced at most one session timeout later than
 * under the previous controller, and a live one is never fenced by a failover.
 */

export class BrokerHeartbeats {
  /** brokerId → the epoch heard from and when (controller-local ms, from the injected clock). */
  readonly #contacts = new Map<number, { brokerEpoch: number; atMs: number }>()

  touch(brokerId: number, brokerEpoch: number, nowMs: number): void {
    this.#contacts.set(brokerId, { brokerEpoch, atMs: nowMs })
  }

  /** The last contact with this broker epoch; one never heard from counts as heard from now (the failover grace). */
  lastContactMs(brokerId: number, brokerEpoch: number, nowMs: number): number {
    const c = this.#contacts.get(brokerId)
    if (c && c.brokerEpoch === brokerEpoch) return c.atMs
    this.touch(brokerId, brokerEpoch, nowMs)
    return nowMs
  }

  /** Known contact without granting grace (for status pages); undefined when never heard from under this controller. */
  peek(brokerId: number): { brokerEpoch: number; atMs: number } | undefined {
    return this.#contacts.get(brokerId)
  }

  forget(brokerId: number): void {
    this.#contacts.delete(brokerId)
  }

  clear(): void {
    this.#contacts.clear()
  }
}
