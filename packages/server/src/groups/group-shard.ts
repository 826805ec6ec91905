/**
 * @module GroupShard: the groups of one `__consumer_offsets` partition this broker leads, at one leader epoch: loaded
 * from the partition's log (every record from the log start to the log end at load time, so a commit the old leader
 * acknowledged is there even where this replica's high watermark trails), then changed only by this coordinator,
 * whose changes are appended (acks all) in the order they were made.
 *
 * Invariants: a group's in-memory state changes before its records are appended and every answer waits for every
 * append queued before it (`barrier`), so no client learns state that is not durable; records are appended in the
 * order the state changed (one writer, batches in sequence); an append that fails marks the shard failed: the
 * coordinator drops it and the next request loads the partition again from the log (memory never outlives a write
 * the log refused). Committed offsets are applied to memory only once their append is acknowledged.
 */
import { decodeRecords, encodeRecordBatch, scanBatches } from '@samsa/shared'
import type { Clock, Logger } from '../clock.js'
import { ConsumerGroup, type GroupSettings } from './consumer-group.js'
import { decodeGroupRecord, encodeGroupKey, encodeGroupValue, type GroupRecord } from './group-records.js'

const LOAD_READ_BYTES = 1024 * 1024
/** Records of one appended batch stop here (well below the default maxBatchBytes of 1 MiB); a single larger record still goes alone. */
const BATCH_BYTES = 256 * 1024

export interface ShardLog {
  readLocal(offset: number, maxBytes: number): Promise<Uint8Array>
  localRange(): { readonly logStartOffset: number; readonly logEndOffset: number }
  append(batch: Uint8Array): Promise<void>
}

export class GroupShard {
  readonly partition: number
  readonly leaderEpoch: number
  readonly groups = new Map<string, ConsumerGroup>()
  readonly #log: ShardLog
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #settings: GroupSettings
  #queued: { record: GroupRecord; done: { resolve: () => unknown; reject: (e: unknown) => void } }[] = []
  #writing = false
  #last: Promise<void> = Promise.resolve()
  #failed: unknown = null

  constructor(partition: number, leaderEpoch: number, log: ShardLog, deps: { clock: Clock; logger: Logger; settings: GroupSettings }) {
    this.partition = partition
    this.leaderEpoch = leaderEpoch
    this.#log = log
    this.#clock = deps.clock
    this.#logger = deps.logger
    this.#settings = deps.settings
  }

  /** Whether an append failed (the shard must be loaded again). */
  get failed(): boolean {
    return this.#failed !== null
  }

  group(groupId: string): ConsumerGroup | undefined {
    return this.groups.get(groupId)
  }

  groupOrNew(groupId: string): ConsumerGroup {
    let g = this.groups.get(groupId)
    if (!g) {
      g = new ConsumerGroup(groupId, this.#settings)
      this.groups.set(groupId, g)
    }
    return g
  }

  /** Replays the partition's log into groups; records of unknown type or version are skipped (logged). */
  async load(): Promise<void> {
    const { logStartOffset, logEndOffset } = this.#log.localRange()
    const now = this.#clock.monotonicMs()
    let offset = logStartOffset
    let skipped = 0
    while (offset < logEndOffset) {
      const bytes = await this.#log.readLocal(offset, LOAD_READ_BYTES)
      if (bytes.length === 0) break
      for (const { at, header } of scanBatches(bytes)) {
        for (const r of decodeRecords(bytes, at).records) {
          if (r.offset >= logEndOffset) break
          if (r.key === null) continue
          try {
            const record = decodeGroupRecord(r.key, r.value)
            this.groupOrNew(record.groupId).replay(record, now)
          } catch {
            skipped++
          }
        }
        offset = header.baseOffset + header.lastOffsetDelta + 1
      }
    }
    for (const [id, g] of this.groups) if (g.members.size === 0 && g.offsets.size === 0 && g.groupEpoch === 0) this.groups.delete(id)
    if (skipped > 0) this.#logger.warn({ partition: this.partition, skipped }, 'records of __consumer_offsets that are not group records were skipped')
  }

  /** Appends records; resolves once they (and everything queued before) are acknowledged. */
  write(records: readonly GroupRecord[]): Promise<void> {
    if (this.#failed !== null) return Promise.reject(this.#failed)
    if (records.length === 0) return this.barrier()
    const p = new Promise<void>((resolve, reject) => {
      // Resolved once the last of its records is acknowledged (they may span batches).
      let left = records.length
      const done = { resolve: () => --left === 0 && resolve(), reject }
      for (const record of records) this.#queued.push({ record, done })
    })
    this.#last = p.catch(() => {})
    if (!this.#writing) void this.#drain()
    return p
  }

  /** Resolves once every append queued so far is acknowledged (or failed). */
  barrier(): Promise<void> {
    return this.#last
  }

  async #drain(): Promise<void> {
    this.#writing = true
    while (this.#queued.length > 0) {
      const now = this.#clock.nowMs()
      const records = []
      let bytes = 0
      let taken = 0
      for (const { record } of this.#queued) {
        const key = encodeGroupKey(record)
        const value = encodeGroupValue(record)
        const size = key.length + (value?.length ?? 0) + 32
        if (taken > 0 && bytes + size > BATCH_BYTES) break
        records.push({ key, value, headers: [], timestamp: now })
        bytes += size
        taken++
      }
      const batch = this.#queued.slice(0, taken)
      this.#queued = this.#queued.slice(taken)
      try {
        await this.#log.append(encodeRecordBatch({ records }))
        for (const { done } of batch) done.resolve()
      } catch (e) {
        this.#failed = e
        for (const { done } of [...batch, ...this.#queued]) done.reject(e)
        this.#queued = []
        break
      }
    }
    this.#writing = false
  }
}
