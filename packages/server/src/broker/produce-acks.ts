/**
 * @module The one place a produce's `acks` is interpreted, after the partition's log holds the batch durably
 * (per the node's fsync policy: PartitionLog.append resolves then).
 *   acks=1 (leader): done — the leader's log has it.
 *   acks=−1 (all): done once the high watermark covers the batch, i.e. every in-sync replica has it. On a single
 *     node the high watermark is the durable log end, so this holds when the append resolves; with replication the
 *     high watermark is the minimum log end over the ISR, and this wait is what makes acks=all mean "all".
 *   acks=0 (none): as acks=1, with no answer (the session sends none).
 * With replication (an InsyncView from the partition leader): acks=all is refused before the append with
 * NOT_ENOUGH_REPLICAS while the ISR is smaller than min.insync.replicas; once the high watermark covers the batch it
 * fails NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR fell below it meanwhile (Kafka's rule), and it fails
 * NOT_LEADER_OR_FOLLOWER if this broker stops leading first (the batch may be truncated: the outcome is unknown).
 */
import { Acks, SamsaError } from '@samsa/shared'

/** What acks=all waits on: the partition's high watermark and its advances. */
export interface HighWatermarkView {
  readonly highWatermark: number
  /** Calls listener with each new high watermark; returns the unregister function. */
  onHighWatermark(listener: (highWatermark: number) => void): () => void
}

/** The partition leader's in-sync view, for acks=all. */
export interface InsyncView {
  /** Size of the ISR the controller committed. */
  readonly isrSize: number
  readonly minInsyncReplicas: number
  /** Calls listener once this broker stops leading the partition at this leader epoch; returns the unregister function. */
  onResigned(listener: () => void): () => void
}

/** NOT_ENOUGH_REPLICAS for acks=all while the ISR is below min.insync.replicas: checked before the batch is appended. */
export function checkAcksBeforeAppend(acks: number, insync: InsyncView | undefined): void {
  if (acks !== Acks.ALL || insync === undefined || insync.isrSize >= insync.minInsyncReplicas) return
  throw new SamsaError('NOT_ENOUGH_REPLICAS', `the ISR has ${insync.isrSize} replicas, fewer than min.insync.replicas ${insync.minInsyncReplicas}; nothing was appended`, {
    isrSize: insync.isrSize,
    minInsyncReplicas: insync.minInsyncReplicas,
  })
}

/**
 * `done` resolves when the produce of a batch ending before `endOffset`, already in the leader's log, satisfies
 * `acks`; `cancel` drops the wait (the request timed out), so nothing outlives the request.
 */
export function awaitAcks(acks: number, partition: HighWatermarkView, endOffset: number, insync?: InsyncView): { done: Promise<void>; cancel(): void } {
  if (acks !== Acks.ALL) return { done: Promise.resolve(), cancel: () => {} }
  const covered = (): void => {
    if (insync !== undefined && insync.isrSize < insync.minInsyncReplicas) {
      throw new SamsaError('NOT_ENOUGH_REPLICAS_AFTER_APPEND', `the batch is written, but the ISR fell to ${insync.isrSize} replicas, below min.insync.replicas ${insync.minInsyncReplicas}`, {
        isrSize: insync.isrSize,
        minInsyncReplicas: insync.minInsyncReplicas,
      })
    }
  }
  if (partition.highWatermark >= endOffset) {
    try {
      covered()
      return { done: Promise.resolve(), cancel: () => {} }
    } catch (e) {
      return { done: Promise.reject(e), cancel: () => {} }
    }
  }
  let offHw = () => {}
  let offResigned = () => {}
  const off = () => {
    offHw()
    offResigned()
  }
  const done = new Promise<void>((resolve, reject) => {
    offHw = partition.onHighWatermark((hw) => {
      if (hw < endOffset) return
      off()
      try {
        covered()
        resolve()
      } catch (e) {
        reject(e)
      }
    })
    offResigned = insync?.onResigned(() => {
      off()
      reject(new SamsaError('NOT_LEADER_OR_FOLLOWER', 'this broker stopped leading the partition before every in-sync replica had the batch; resend it with the same sequence'))
    }) ?? (() => {})
  })
  return { done, cancel: off }
}
