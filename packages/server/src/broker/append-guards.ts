/**
 * @module Refusals of appends decided by a layer above the log (a closed Durable Stream). Every produce, over
 * WebSocket, HTTP or from a peer, is checked here after leadership is resolved; a guard that waits is asked again,
 * with leadership resolved again, once its wait ends (leadership may have moved meanwhile).
 */
import type { SamsaError } from '@samsa/shared'
import type { ServedPartition } from './partition-serving.js'

/**
 * Whether an append to a partition is refused by a layer above the log (SamsaError), or allowed (null); a promise
 * when the guard must first catch up with state it follows (then the produce waits for it, and produces after it
 * on the same partition wait too, in order, when the guard returns the same wait to them). `leaderEpoch`: this
 * broker's leader epoch of the partition (null on a broker without replication).
 */
export type AppendGuard = (topic: string, partition: number, leaderEpoch: number | null) => SamsaError | null | Promise<SamsaError | null>

export class AppendGuards {
  readonly #guards = new Set<AppendGuard>()

  /** Registers a guard; returns the unregister function. */
  use(guard: AppendGuard): () => void {
    this.#guards.add(guard)
    return () => this.#guards.delete(guard)
  }

  /**
   * The partition `leaderOf` resolves, once every guard allows an append to it (throws a guard's refusal).
   * Synchronous unless a guard waits.
   */
  check(topic: string, partition: number, leaderOf: (topic: string, partition: number) => ServedPartition): ServedPartition | Promise<ServedPartition> {
    const served = leaderOf(topic, partition)
    const epoch = served.leader?.leaderEpoch ?? null
    for (const guard of this.#guards) {
      const refused = guard(topic, partition, epoch)
      if (refused instanceof Promise) {
        return refused.then((r) => {
          if (r) throw r
          return this.check(topic, partition, leaderOf)
        })
      }
      if (refused) throw refused
    }
    return served
  }
}
