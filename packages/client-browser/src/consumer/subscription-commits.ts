/**
 * @module The commit policy of one `from: 'stored'` subscription over its PositionCommitter: auto-commit of
 * processed records (batched per partition and per interval), manual commits, the writes forced by gaps, and what a
 * seek commits.
 *
 * Seek: on an auto-commit subscription a seek commits the new position at once (a forced write, backwards too), as
 * Kafka's auto-commit would at its next interval; on a manual one it writes nothing, and the partition's next
 * commit (`sub.commit()` or `record.commit()`) is written even if it moves the stored position backwards.
 */
import type { StoredPosition } from '../storage/stores.js'
import type { Clock } from '../ports.js'
import type { PositionCommitter } from './position-committer.js'

export interface CommitView {
  /** The partition's next offset to deliver (null before the start resolves). */
  positionOf(partition: number): number | null
  /** Records of the partition still buffered (not handed to the application). */
  buffered(partition: number): number
  /** A store write failed (it stays staged for the next commit). */
  failed(error: unknown): void
}

interface Delivered {
  readonly partition: number
  readonly offset: number
  readonly leaderEpoch: number
}

export class SubscriptionCommits {
  readonly #committer: PositionCommitter
  readonly #auto: boolean
  readonly #intervalMs: number
  readonly #clock: Clock
  readonly #view: CommitView
  #timer: unknown = null

  constructor(committer: PositionCommitter, opts: { auto: boolean; intervalMs: number }, clock: Clock, view: CommitView) {
    this.#committer = committer
    this.#auto = opts.auto
    this.#intervalMs = opts.intervalMs
    this.#clock = clock
    this.#view = view
  }

  get committer(): PositionCommitter {
    return this.#committer
  }

  /** `record.commit()`: stages the position after the record (unless it is stale) and writes it. */
  commitRecord(r: Delivered): Promise<void> {
    if (!this.#isStale(r)) this.#committer.stage(r.partition, { offset: r.offset + 1, leaderEpoch: r.leaderEpoch })
    return this.#committer.flush(r.partition)
  }

  /** Auto-commit: the application is done with `r`. Writes once the partition's buffered records are all processed, else within the interval. */
  processed(r: Delivered): void {
    if (!this.#auto || this.#isStale(r)) return
    this.#committer.stage(r.partition, { offset: r.offset + 1, leaderEpoch: r.leaderEpoch })
    if (this.#view.buffered(r.partition) === 0) this.#write(r.partition)
    else if (this.#timer === null) {
      this.#timer = this.#clock.setTimeout(() => {
        this.#timer = null
        this.#write()
      }, this.#intervalMs)
    }
  }

  /** A retention gap moved the position forwards to `position`. */
  skippedTo(partition: number, position: StoredPosition): void {
    this.#committer.stage(partition, position)
    this.#write(partition)
  }

  /** A truncation moved the position backwards to `position`: a forced write. */
  truncatedTo(partition: number, position: StoredPosition): void {
    void this.#committer.reset(partition, position).catch((e: unknown) => this.#view.failed(e))
  }

  /** The application sought the partition to `offset` (see the module comment). */
  sought(partition: number, offset: number): void {
    if (this.#auto) this.truncatedTo(partition, { offset, leaderEpoch: -1 })
    else this.#committer.rewind(partition)
  }

  /** Stops the interval timer (the subscription ended). */
  stop(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer)
    this.#timer = null
  }

  /** A record of a history the application no longer wants: a truncation reset or a seek moved the partition's position to or below it. */
  #isStale(r: Delivered): boolean {
    const position = this.#view.positionOf(r.partition)
    return position !== null && r.offset >= position
  }

  #write(partition?: number): void {
    void this.#committer.flush(partition).catch((e: unknown) => this.#view.failed(e))
  }
}
