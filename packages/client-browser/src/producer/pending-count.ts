/**
 * @module What a producer has not yet had acknowledged (`pending()`): closed batches (in the outbox when idempotent,
 * recovered ones included) and their records, plus records not yet batched. Invariants: a record is counted from its
 * send() until it is acknowledged, fails, or is dropped (aborted before it was batched), once: as unbatched until its
 * batch closes, then as part of that batch. Changes reach listeners only through `emit()`, which the producer calls
 * once a step is complete (so a listener never sees a batch that has left the count but not reached its sender).
 */
import type { Logger } from '../ports.js'
import { ListenerSet } from './listener-set.js'
import type { PendingCount } from './producer-options.js'

export class PendingCounter {
  #unbatchedRecords = 0
  #batches = 0
  #batchedRecords = 0
  readonly #listeners: ListenerSet<PendingCount>

  constructor(logger: Logger) {
    this.#listeners = new ListenerSet('onPending', logger)
  }

  get current(): PendingCount {
    return { batches: this.#batches, records: this.#batchedRecords + this.#unbatchedRecords }
  }

  /** Calls the listener on every emitted change; returns the unsubscribe function. */
  listen(listener: (pending: PendingCount) => void): () => void {
    return this.#listeners.add(listener)
  }

  emit(): void {
    if (this.#listeners.size === 0) return
    this.#listeners.emit(this.current)
  }

  /** Records sent (n > 0) or no longer waiting to be batched (n < 0: dropped or failed before batching); emits. */
  addUnbatched(n: number): void {
    this.#unbatchedRecords += n
    this.emit()
  }

  /** A batch of `records` closed: they move from unbatched to one batch. Does not emit. */
  batchClosed(records: number): void {
    this.#unbatchedRecords -= records
    this.#batches++
    this.#batchedRecords += records
  }

  /** Batches recovered from the outbox of a previous page life. Does not emit. */
  restored(batches: number, records: number): void {
    this.#batches += batches
    this.#batchedRecords += records
  }

  /** A batch of `records` left its sender (acknowledged, failed, or rejected); emits. */
  batchDone(records: number): void {
    this.#batches--
    this.#batchedRecords -= records
    this.emit()
  }
}
