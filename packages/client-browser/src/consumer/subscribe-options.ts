/** @module The options of `consumer.subscribe` and `sub.process`. */
import type { AtomicTransaction } from '../storage/stores.js'
import type { ConsumerRecord } from './consumer-record.js'

/** 'stored': each partition's stored position for the consumer id, else `reset`. */
export type StartFrom = 'earliest' | 'latest' | 'stored' | { readonly offset: number } | Readonly<Record<number, number>>

/** The handler of `sub.process`: writes the app's state through `tx.objectStore(...)`; throwing aborts the batch. */
export type BatchHandler = (batch: ConsumerRecord[], tx: AtomicTransaction) => Promise<void> | void

export interface ProcessOptions {
  /** The app's IndexedDB object stores the handler writes (they join the transaction with the positions). */
  readonly stores: readonly string[]
}

export interface SubscribeOptions {
  /** Default 'latest'. A Record maps partition → offset and, without `partitions`, also names the partitions. */
  readonly from?: StartFrom
  /** Default: every partition of the topic. */
  readonly partitions?: readonly number[]
  /** Callback style; the same as calling onRecord. A returned promise is awaited before the next record. */
  readonly onRecord?: (record: ConsumerRecord) => void | Promise<void>
  /** Bytes of pushes the broker may send ahead of consumption, per partition. Default 256 KiB. */
  readonly creditWindowBytes?: number
  /**
   * Where to start when `from: 'stored'` finds no stored position, and where to continue after a gap (a position
   * below the log start or above the log end). Default 'earliest' for 'stored'; for other `from` values, without
   * `reset` an out-of-range position fails the subscription (OFFSET_OUT_OF_RANGE).
   */
  readonly reset?: 'earliest' | 'latest'
  /**
   * With `from: 'stored'`: 'auto' (default) commits a record's position once the callback returns or the iterator
   * advances past it, batched (at most one store write per partition per push, or per `autoCommitIntervalMs`);
   * 'manual' commits only on `record.commit()` / `sub.commit()`.
   */
  readonly commit?: 'auto' | 'manual'
  /** Auto-commit: longest time a processed position stays unwritten while records keep coming. Default 1000 ms. */
  readonly autoCommitIntervalMs?: number
  /**
   * Closes the subscription when aborted, as `sub.close()` does: the broker subscriptions are unsubscribed, an
   * iterator ends after the record in hand, pending commits are written, and `sub.ready` (if not yet settled)
   * rejects with `signal.reason`. An already aborted signal closes it at once.
   */
  readonly signal?: AbortSignal
  /**
   * 'end': read to the end and finish. Each partition stops at its own end: the high watermark the broker reported
   * when it confirmed that partition's subscription (so records appended after `sub.ready` are not delivered).
   * Once every partition's records below its end have been handed to the application and processed, the
   * subscription closes itself: `for await` ends, `sub.closed` resolves (undefined) after the last commits.
   * Default: follow the topic forever.
   */
  readonly until?: 'end'
}
