/**
 * @module What the partition checks and rebuilds while its log is recovered: each batch's leader epoch (the field is
 * outside the CRC, so this is what catches a damaged one) and the producer state (from the recovery point's snapshot
 * when recovery resumes from one, then each later batch); and whether a replica came back without committed records it had.
 */
import type { BatchHeader } from '@samsa/shared'
import { LeaderEpochCache } from './leader-epoch-cache.js'
import type { BatchRules, RecoveryReport } from './log-recovery.js'
import { ProducerStateTable } from './producer-state.js'
import type { RecoveryPoint } from './recovery-point.js'

/**
 * Leader epochs along the log never decrease. With a stored checkpoint each batch's epoch is the one the checkpoint
 * gives its offset (batches below its first entry, kept by retention, only not newer than that entry's); without
 * one (a log from before there was one), none is newer than `maxEpoch`, and the cache is rebuilt.
 */
export class PartitionRecovery implements BatchRules {
  producers = new ProducerStateTable()
  readonly #stored: LeaderEpochCache | null
  readonly #rebuilt = new LeaderEpochCache()
  readonly #maxEpoch: number
  /** The broker's clock: replayed batches count as appended now for producer-id expiry. */
  readonly #nowMs: () => number
  /** Epoch of the last accepted batch; −1 before the first. */
  #last = -1

  /** `stored` must not be null for a recovery point to be passed to recovery: without it the cache is rebuilt from every batch. */
  constructor(stored: LeaderEpochCache | null, maxEpoch: number, nowMs: () => number) {
    this.#stored = stored
    this.#maxEpoch = maxEpoch
    this.#nowMs = nowMs
  }

  resume(point: RecoveryPoint): void {
    if (this.#stored === null) throw new Error('unreachable: a recovery point is used only with a stored leader-epoch checkpoint')
    this.producers = ProducerStateTable.of(point.producers)
    this.#last = point.offset > 0 ? (this.#stored.epochAt(point.offset - 1)?.epoch ?? -1) : -1
  }

  check(h: BatchHeader): string | null {
    const epoch = h.partitionLeaderEpoch
    if (epoch < this.#last) return `leader epoch ${epoch} is older than the previous batch's ${this.#last}`
    if (this.#stored === null) {
      return epoch > this.#maxEpoch ? `leader epoch ${epoch} is outside [${Math.max(this.#last, 0)}, ${this.#maxEpoch}] (the previous batch's epoch and the partition's current one)` : null
    }
    const first = this.#stored.entries[0]
    if (first === undefined) return `leader epoch ${epoch} is not in the leader-epoch checkpoint, which is empty`
    if (h.baseOffset < first.startOffset) return epoch > first.epoch ? `leader epoch ${epoch} at offset ${h.baseOffset} is newer than the checkpoint's first epoch ${first.epoch}` : null
    const expected = this.#stored.epochAt(h.baseOffset)!
    return expected.epoch === epoch ? null : `leader epoch ${epoch} at offset ${h.baseOffset} does not match the leader-epoch checkpoint (epoch ${expected.epoch} from offset ${expected.startOffset})`
  }

  accepted(h: BatchHeader): void {
    this.#last = h.partitionLeaderEpoch
    if (this.#stored === null) this.#rebuilt.assign(h.partitionLeaderEpoch, h.baseOffset)
    this.producers.update(h, h.baseOffset, this.#nowMs())
  }

  /**
   * The epoch cache for a log recovered to end at logEndOffset: the stored checkpoint without the epochs that start
   * past the end (recorded before a batch that a power loss or a torn tail took), or the one rebuilt from the
   * batches. `stored` is false when it differs from the file: write it before relying on it.
   */
  epochs(logEndOffset: number): { cache: LeaderEpochCache; stored: boolean } {
    if (this.#stored === null) return { cache: this.#rebuilt, stored: false }
    return { cache: this.#stored, stored: !this.#stored.truncateFromEnd(logEndOffset) }
  }
}

/**
 * Why a replica's recovered log lacks committed records it had (PartitionLog.incompleteAtOpen), or null: recovery cut
 * damage in place, or (under fsync 'always', where nothing fsynced is lost) it ends below the high-watermark
 * checkpoint. Under 'interval' and 'never' a tail lost below the checkpoint is what those modes trade away on a power
 * cut (acknowledged = written on every ISR member), not damage: not reported.
 */
export function incompleteReason(report: RecoveryReport | null, checkpointedHighWatermark: number | null, logEndOffset: number, fsyncAlways: boolean): string | null {
  if (report?.kind === 'damage') return `damaged data at byte ${report.position} of ${report.segment} (${report.reason}); the log was cut to offset ${logEndOffset}`
  if (fsyncAlways && checkpointedHighWatermark !== null && logEndOffset < checkpointedHighWatermark) {
    return `the log recovered to offset ${logEndOffset}, below its high-watermark checkpoint ${checkpointedHighWatermark}${report ? ` (${report.reason})` : ''}`
  }
  return null
}
