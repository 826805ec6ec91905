/**
 * @module The one place a produce's `acks` is interpreted, after the partition's log holds the batch durably
 * (per the node's fsync policy: PartitionLog.append resolves then).
 *   acks=1 (leader): done — the leader's log has it.
 *   acks=−1 (all): done once the high watermark covers the batch, i.e. every in-sync replica has it. On a single
 *     node the high watermark is the durable log end, so this holds when the append resolves; with replication the
 *     high watermark is the minimum log end over the ISR, and this wait is what makes acks=all mean "all".
 *   acks=0 (none): as acks=1, with no answer (the session sends none).
 */
import { Acks } from '@samsa/shared'

/** What acks=all waits on: the partition's high watermark and its advances. */
export interface HighWatermarkView {
  readonly highWatermark: number
  /** Calls listener with each new high watermark; returns the unregister function. */
  onHighWatermark(listener: (highWatermark: number) => void): () => void
}

/**
 * `done` resolves when the produce of a batch ending before `endOffset`, already in the leader's log, satisfies
 * `acks`; `cancel` drops the wait (the request timed out), so nothing outlives the request.
 */
export function awaitAcks(acks: number, partition: HighWatermarkView, endOffset: number): { done: Promise<void>; cancel(): void } {
  if (acks !== Acks.ALL || partition.highWatermark >= endOffset) return { done: Promise.resolve(), cancel: () => {} }
  let off = () => {}
  const done = new Promise<void>((resolve) => {
    off = partition.onHighWatermark((hw) => {
      if (hw < endOffset) return
      off()
      resolve()
    })
  })
  return { done, cancel: () => off() }
}
