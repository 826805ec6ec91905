/**
 * @module FollowerFetcher: one follower replica's loop (Kafka's ReplicaFetcherThread, for one partition). First it
 * truncates by leader epoch (KIP-101/279): it asks the leader where the epoch of its own last batch ends and cuts its
 * log to min(that end, its own end for the epoch the leader answered) — never to the high watermark. Then it fetches
 * from its log end and appends the leader's record-batch bytes unchanged (appendAsFollower keeps offsets and epochs).
 * The high watermark it learns is min(leader's high watermark, own log end); it is checkpointed periodically, in the
 * background (the next fetch never waits for that write).
 * FENCED_LEADER_EPOCH ends the loop until new metadata replaces this fetcher; other errors back off and retry. Time comes from the Clock port; the leader is reached through the LeaderLink port.
 */
import { batchLastOffset, scanBatches, SamsaError, type FetchRequest, type FetchResponse, type OffsetForLeaderEpochRequest, type OffsetForLeaderEpochResponse } from '@samsa/shared'
import type { Clock, Logger } from '../clock.js'
import type { PartitionLog } from '../log/partition-log.js'

/** The follower's way to its partition leader (a cluster-peer connection in production). */
export interface LeaderLink {
  fetch(req: FetchRequest): Promise<FetchResponse>
  offsetForLeaderEpoch(req: OffsetForLeaderEpochRequest): Promise<OffsetForLeaderEpochResponse>
}

export interface FollowerFetcherConfig {
  readonly maxBytes: number
  /** Long poll on the leader when caught up. */
  readonly maxWaitMs: number
  /** Wait after a failed exchange before the next. */
  readonly retryBackoffMs: number
  /** How often the learned high watermark is written to the `high-watermark` checkpoint. */
  readonly highWatermarkCheckpointIntervalMs: number
}

export const defaultFollowerFetcherConfig: FollowerFetcherConfig = {
  maxBytes: 1_048_576,
  maxWaitMs: 500,
  retryBackoffMs: 100,
  highWatermarkCheckpointIntervalMs: 5_000,
}

export interface FollowerFetcherArgs {
  readonly topic: string
  readonly partition: number
  readonly log: PartitionLog
  /** This broker's id (the replica id in every request). */
  readonly replicaId: number
  readonly leaderId: number
  readonly leaderEpoch: number
  readonly link: LeaderLink
  readonly clock: Clock
  readonly logger: Logger
  readonly config?: Partial<FollowerFetcherConfig>
}

export type FetcherState = 'truncating' | 'fetching' | 'awaiting-metadata' | 'stopped'

/**
 * Errors after which only new metadata (a new leader or epoch) helps: the leader is at a newer epoch than this
 * follower. NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION and UNKNOWN_LEADER_EPOCH back off and retry instead:
 * they also come from a leader that has not applied the metadata naming it yet (every broker applies the metadata
 * log at its own pace), and new metadata replaces this fetcher anyway if the follower is the one behind.
 */
const AWAIT_METADATA = new Set(['FENCED_LEADER_EPOCH'])

export class FollowerFetcher {
  readonly #a: FollowerFetcherArgs
  readonly #config: FollowerFetcherConfig
  #state: FetcherState = 'truncating'
  #loop: Promise<void> | null = null
  /** Wakes the loop out of a backoff wait when stop() is called. */
  #wake: (() => void) | null = null
  /** A write to the log in progress (truncation, append, checkpoint): stop() waits for it, not for a pending exchange. */
  #writing: Promise<unknown> | null = null
  #lastCheckpointMs: number
  #checkpointedHighWatermark = -1
  /** The periodic checkpoint being written, if any: stop() waits for it, the fetch loop does not. */
  #checkpointing: Promise<void> | null = null

  constructor(args: FollowerFetcherArgs) {
    this.#a = args
    this.#config = { ...defaultFollowerFetcherConfig, ...args.config }
    this.#lastCheckpointMs = args.clock.monotonicMs()
  }

  get state(): FetcherState {
    return this.#state
  }

  get leaderId(): number {
    return this.#a.leaderId
  }

  get leaderEpoch(): number {
    return this.#a.leaderEpoch
  }

  start(): void {
    this.#loop ??= this.#run()
  }

  /**
   * Ends the loop: resolves once no write of this fetcher is in progress and none will follow (an exchange still in
   * flight is abandoned: its answer is dropped), so a new role may use the log at once.
   */
  async stop(): Promise<void> {
    this.#state = 'stopped'
    this.#wake?.()
    await this.#writing?.catch(() => {})
    await this.#checkpointing
  }

  /** Runs a write to the log unless stopped, visible to stop(). */
  async #write<T>(fn: () => Promise<T>): Promise<T | undefined> {
    if (!this.#running) return undefined
    const w = fn()
    this.#writing = w
    try {
      return await w
    } finally {
      if (this.#writing === w) this.#writing = null
    }
  }

  async #run(): Promise<void> {
    while (this.#running) {
      try {
        if (this.#state === 'truncating') {
          await this.#truncate()
          if (this.#running) this.#state = 'fetching'
        } else {
          await this.#fetchOnce()
        }
      } catch (e) {
        if (!this.#running) break
        const name = e instanceof SamsaError ? e.errorName : null
        if (name !== null && AWAIT_METADATA.has(name)) {
          this.#a.logger.info({ topic: this.#a.topic, partition: this.#a.partition, leader: this.#a.leaderId, leaderEpoch: this.#a.leaderEpoch, error: name }, 'the leader refused the follower; waiting for new metadata')
          this.#state = 'awaiting-metadata'
          break
        }
        if (name === 'OFFSET_OUT_OF_RANGE') this.#state = 'truncating'
        this.#a.logger.warn({ topic: this.#a.topic, partition: this.#a.partition, leader: this.#a.leaderId, err: String(e) }, 'replica fetch failed; retrying')
        await this.#sleep(this.#config.retryBackoffMs)
      }
    }
    if (this.#state === 'awaiting-metadata') await this.#checkpoint(true)
  }

  get #running(): boolean {
    return this.#state === 'truncating' || this.#state === 'fetching'
  }

  /** KIP-279: one exchange suffices, since the leader answers with an epoch both logs know. */
  async #truncate(): Promise<void> {
    const { log, link } = this.#a
    const lastEpoch = log.epochs.at(-1)?.epoch ?? -1
    if (lastEpoch < 0 || log.logEndOffset === log.logStartOffset) return
    const answer = await link.offsetForLeaderEpoch({
      topic: this.#a.topic, partition: this.#a.partition, replicaId: this.#a.replicaId, currentLeaderEpoch: this.#a.leaderEpoch, leaderEpoch: lastEpoch,
    })
    if (!this.#running) return
    // The leader knows no epoch this old (endOffset −1), or this log none as old as the leader's answer: nothing here
    // is known to be on the leader. Otherwise both logs agree up to the end of the answered epoch on both.
    const own = answer.endOffset < 0 ? null : log.endOffsetForEpoch(answer.leaderEpoch)
    const target = own === null || own.epoch < 0 ? log.logStartOffset : Math.max(log.logStartOffset, Math.min(answer.endOffset, own.endOffset))
    if (target < log.logEndOffset) {
      this.#a.logger.info({ topic: this.#a.topic, partition: this.#a.partition, lastEpoch, leaderAnswer: answer, from: log.logEndOffset, to: target }, 'truncating by leader epoch')
      await this.#write(() => log.truncateTo(target))
    }
  }

  async #fetchOnce(): Promise<void> {
    const { log } = this.#a
    const offset = log.logEndOffset
    const res = await this.#a.link.fetch({
      topic: this.#a.topic, partition: this.#a.partition, offset, maxBytes: this.#config.maxBytes, maxWaitMs: this.#config.maxWaitMs, minBytes: 1,
      replicaId: this.#a.replicaId, currentLeaderEpoch: this.#a.leaderEpoch,
    })
    if (!this.#running) return
    const records = dropBatchesBefore(res.records, log.logEndOffset)
    if (records.length > 0) await this.#write(() => log.appendAsFollower(records))
    if (!this.#running) return
    log.advanceHighWatermark(Math.min(res.highWatermark, log.logEndOffset))
    if (this.#checkpointing === null) {
      const c = this.#checkpoint(false).finally(() => {
        if (this.#checkpointing === c) this.#checkpointing = null
      })
      this.#checkpointing = c
    }
  }

  async #checkpoint(force: boolean): Promise<void> {
    const { log, clock } = this.#a
    const now = clock.monotonicMs()
    if (log.highWatermark === this.#checkpointedHighWatermark) return
    if (!force && now - this.#lastCheckpointMs < this.#config.highWatermarkCheckpointIntervalMs) return
    this.#lastCheckpointMs = now
    const highWatermark = log.highWatermark // at least this much is written
    try {
      await log.checkpointHighWatermark()
      this.#checkpointedHighWatermark = highWatermark
    } catch (e) {
      this.#a.logger.warn({ topic: this.#a.topic, partition: this.#a.partition, err: String(e) }, 'could not checkpoint the high watermark')
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#a.clock.setTimeout(() => {
        this.#wake = null
        resolve()
      }, ms)
      this.#wake = () => {
        this.#a.clock.clearTimeout(timer)
        this.#wake = null
        resolve()
      }
    })
  }
}

/** The leader's bytes from the first batch that ends at or after `offset` (a fetch may start with a batch the follower has). */
function dropBatchesBefore(records: Uint8Array, offset: number): Uint8Array {
  for (const b of scanBatches(records)) {
    if (batchLastOffset(b.header) >= offset) return records.subarray(b.at)
  }
  return records.subarray(records.length)
}
