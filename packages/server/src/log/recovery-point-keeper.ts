/**
 * @module RecoveryPointKeeper: when a partition writes and removes its recovery point (recovery-point.ts), and the
 * producer-id expiry that runs at the same ticks. Every method that touches the file runs inside the log's exclusive()
 * queue (the caller's, or its own), so a recovery point is never written while a write or a cut is under way.
 *
 * Invariants: written every recoveryPointIntervalMs while the log grows, on close, after an open that verified or cut
 * bytes and after a truncation; removed, durably, before a cut and once a read found damage on storage, after which
 * none is written again by this instance (the next open verifies the damaged bytes).
 */
import type { Crc32cFn } from '@samsa/shared'
import type { Clock, Logger, Timer } from '../clock.js'
import type { Log } from './log.js'
import type { LogStorage } from './log-storage.js'
import type { PartitionLogConfig } from './partition-log-config.js'
import type { ProducerStateTable } from './producer-state.js'
import { decodeRecoveryPoint, encodeRecoveryPoint, RECOVERY_POINT_FILE, type RecoveryPoint } from './recovery-point.js'
import { retriableStorageError, storageError } from './storage-errors.js'

export interface RecoveryPointDeps {
  readonly storage: LogStorage
  readonly dir: string
  readonly clock: Clock
  readonly logger: Logger
  readonly config: Pick<PartitionLogConfig, 'recoveryPointIntervalMs' | 'producerIdExpirationMs'>
  readonly log: Log
  /** The partition's producer-state table (it is replaced after a truncation). */
  readonly producers: () => ProducerStateTable
  readonly crc32c: Crc32cFn
}

/** The partition's recovery point, or null when there is none or it does not decode (then everything is verified). */
export async function readRecoveryPoint(storage: LogStorage, dir: string, logger: Logger, crc32c: Crc32cFn): Promise<RecoveryPoint | null> {
  const bytes = await storage.readFile(`${dir}/${RECOVERY_POINT_FILE}`)
  const point = bytes === null ? null : decodeRecoveryPoint(bytes, crc32c)
  if (bytes !== null && point === null) logger.warn({ dir }, 'ignoring an invalid recovery point; verifying the whole log')
  return point
}

export class RecoveryPointKeeper {
  readonly #deps: RecoveryPointDeps
  /** Offset of the recovery point on storage; null when there is none. */
  #offset: number | null
  #timer: Timer | null = null
  #stopped = false
  #damaged = false

  constructor(deps: RecoveryPointDeps) {
    this.#deps = deps
    this.#offset = deps.log.resumedFrom
  }

  /** After open: records what recovery verified or cut (best effort), then starts the periodic tick. */
  async opened(): Promise<void> {
    const { log, logger, dir } = this.#deps
    logger.info({ dir, resumedFrom: log.resumedFrom, verifiedBytes: log.verifiedBytes, logEndOffset: log.logEndOffset, producerIds: this.#deps.producers().size }, 'partition log recovered')
    if (log.verifiedBytes > 0 || log.recoveryReport !== null) {
      await log.exclusive(() => this.write()).catch((e: unknown) => logger.warn({ dir, err: String(e) }, 'could not write the recovery point after recovery; retried at the next interval'))
    }
    this.#schedule()
  }

  /** Drops idle producer ids and writes the recovery point if the log or the producer state changed since the last one. */
  tick(): Promise<void> {
    const { log, clock, config, logger, dir } = this.#deps
    return log.exclusive(async () => {
      const producers = this.#deps.producers()
      const dropped = producers.expire(clock.nowMs(), config.producerIdExpirationMs)
      if (dropped > 0) logger.info({ dir, dropped, producerIds: producers.size }, 'expired idle producer ids')
      if (dropped > 0 || this.#offset !== log.logEndOffset) await this.write()
    })
  }

  /** A read found damage on storage: the recovery point goes at once and is not written again. */
  damaged(): void {
    this.#damaged = true
    this.#deps.log.exclusive(() => this.remove()).catch((e: unknown) => this.#deps.logger.warn({ dir: this.#deps.dir, err: String(e) }, 'could not remove the recovery point after read damage; it is removed on close'))
  }

  /** Inside exclusive(): makes the log durable to its end and records the recovery point there with the producer state. */
  async write(): Promise<void> {
    if (this.#damaged) return
    const { log, storage, dir } = this.#deps
    const segments = await log.markRecoveryPoint()
    const point: RecoveryPoint = { offset: log.logEndOffset, segments, producers: this.#deps.producers().entries() }
    await storage.writeFileAtomic(`${dir}/${RECOVERY_POINT_FILE}`, encodeRecoveryPoint(point, this.#deps.crc32c))
    this.#offset = point.offset
  }

  /** Inside exclusive(), before a cut: the recovery point goes first, durably, so it never marks bytes the cut replaces. */
  async remove(): Promise<void> {
    const { storage, dir } = this.#deps
    try {
      await storage.remove(`${dir}/${RECOVERY_POINT_FILE}`)
      await storage.syncDir(dir)
    } catch (e) {
      throw retriableStorageError(e) ?? storageError('could not remove the recovery point before a truncation', e)
    }
    this.#offset = null
  }

  /** Stops the tick and, inside exclusive(), leaves the recovery point at the log end (or none after damage). Before the log closes. */
  async close(): Promise<void> {
    this.#stopped = true
    if (this.#timer !== null) this.#deps.clock.clearTimeout(this.#timer)
    this.#timer = null
    const { log, logger, dir } = this.#deps
    await log
      .exclusive(async () => {
        if (this.#damaged) await this.remove()
        else if (log.failure === null && this.#offset !== log.logEndOffset) await this.write()
      })
      .catch((e: unknown) => logger.warn({ dir, err: String(e) }, 'could not write the recovery point on close; the next open verifies the log after the previous one'))
  }

  #schedule(): void {
    if (this.#stopped) return
    this.#timer = this.#deps.clock.setTimeout(() => {
      this.#timer = null
      this.tick()
        .catch((e: unknown) => {
          if (!this.#stopped) this.#deps.logger.warn({ dir: this.#deps.dir, err: String(e) }, 'could not write the recovery point; retried at the next interval')
        })
        .finally(() => this.#schedule())
    }, this.#deps.config.recoveryPointIntervalMs)
  }
}
