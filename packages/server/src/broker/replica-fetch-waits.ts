/**
 * @module ReplicaFetchWaits: the replica fetches waiting at the leader's log end, at most one per follower and
 * partition. A follower fetches again while its previous fetch still waits only to report a newer durable end
 * (replicaDurableEnd): the newer fetch ends the older one's wait at once (it is answered with what is there, nothing
 * new), so a follower never holds two long polls and the leader never sends it the same batches twice.
 */

const key = (topic: string, partition: number, replicaId: number) => `${topic}\u0000${partition}\u0000${replicaId}`

export class ReplicaFetchWaits {
  readonly #waiting = new Map<string, () => void>()

  /**
   * A fetch from `replicaId` starts waiting: ends the wait of that follower's earlier fetch of the partition, if one
   * still waits; `wake` ends this one's when a newer one starts. Call the returned function once this wait is over.
   */
  wait(topic: string, partition: number, replicaId: number, wake: () => void): () => void {
    const k = key(topic, partition, replicaId)
    this.#waiting.get(k)?.()
    this.#waiting.set(k, wake)
    return () => {
      if (this.#waiting.get(k) === wake) this.#waiting.delete(k)
    }
  }

  /** Fetches waiting now. */
  get size(): number {
    return this.#waiting.size
  }
}
