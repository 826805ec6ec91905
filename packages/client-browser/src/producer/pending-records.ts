/**
 * @module The records a durable producer cannot batch yet, kept in the pending store (storage/stores.ts
 * PendingRecordStore). A slot that has never had an identity cannot batch (a batch carries producer id, epoch and
 * sequence), and no producer can batch before this page life knows the broker's limits (maxBatchBytes,
 * maxRecordBytes from hello): until both exist every send() first stores its records here, one row per record.
 *
 * Invariants: rows are written in send order (seq increases, the rows of one send share its sendSeq), all sends
 * queued so far in one transaction; a send's rows are durable before its records are batched; the outbox write of a
 * batch removes the rows it carries (same transaction); the rows of a send that fails for good are removed, except
 * when the client closed (they stay for the next page life); the rows of a previous page life are admitted first,
 * one former send at a time.
 */
import { SamsaError, type RecordInput } from '@samsa/shared'
import type { Clock, Logger } from '../ports.js'
import type { ClientStorage, PendingRecord } from '../storage/stores.js'
import type { ProducerRecord } from './producer-options.js'
import { toRecordInput } from './send-group.js'

/** The client (or producer) closed: not a failure of the records, which stay stored for the next page life. */
const isClientClosed = (e: unknown) => e instanceof SamsaError && e.errorName === 'NETWORK_EXCEPTION' && !e.retriable

/** A send() waiting for its pending-store write. */
interface PendingWrite {
  readonly topic: string
  readonly records: readonly { readonly input: RecordInput; readonly partition: number | null }[]
  resolve(rows: PendingRecord[] | null): void
  reject(error: unknown): void
}

export interface PendingRecordsDeps {
  readonly storage: ClientStorage
  readonly clock: Clock
  readonly logger: Logger
  /** Resolves once the slot is taken and its stored rows are loaded; writes wait for it (and fail with it). */
  readonly local: Promise<void>
  /** The identity slot's name; read only after `local` resolved. */
  readonly slot: () => string
  /** True once the producer can batch (a usable identity and the broker's limits): queued sends skip the store. */
  readonly canBatch: () => boolean
  /** Serializes removals with the outbox writes (outbox.ts `enqueue`). */
  readonly enqueue: <T>(step: () => Promise<T>) => Promise<T>
}

export class PendingRecords {
  readonly #deps: PendingRecordsDeps
  /** Rows of a previous page life, until taken by `takeRecoveredSends`. */
  #recovered: PendingRecord[] = []
  #nextSeq = 0
  /** send() calls waiting for their write (one transaction per round). */
  #writes: PendingWrite[] = []
  #writing = false

  constructor(deps: PendingRecordsDeps) {
    this.#deps = deps
  }

  /** The slot's rows as stored by a previous page life (ordered by seq); new rows continue after them. */
  load(rows: PendingRecord[]): void {
    this.#recovered = rows
    this.#nextSeq = rows.length > 0 ? rows.at(-1)!.seq + 1 : 0
  }

  /** The rows of a previous page life, grouped by their former send() in send order (once: later calls get none). */
  takeRecoveredSends(): PendingRecord[][] {
    const rows = this.#recovered
    this.#recovered = []
    const sends: PendingRecord[][] = []
    for (const r of rows) {
      const last = sends.at(-1)
      if (last !== undefined && last[0]!.sendSeq === r.sendSeq) last.push(r)
      else sends.push([r])
    }
    return sends
  }

  /** Queues the records of a send() for the store; resolves with their rows once stored (null: the producer can batch after all). */
  store(topic: string, records: readonly ProducerRecord[]): Promise<PendingRecord[] | null> {
    const now = this.#deps.clock.now()
    let converted: PendingWrite['records']
    try {
      converted = records.map((r) => ({ input: toRecordInput(r, now), partition: r.partition ?? null }))
    } catch (error) {
      return Promise.reject(error)
    }
    return new Promise<PendingRecord[] | null>((resolve, reject) => {
      this.#writes.push({ topic, records: converted, resolve, reject })
      if (!this.#writing) void this.#write()
    })
  }

  /** A send whose records are in the store failed for good: they go (a closed client keeps them for the next page life). */
  drop(stored: Promise<PendingRecord[] | null>, error: unknown): void {
    if (isClientClosed(error)) return
    stored
      .catch(() => null) // never stored: nothing to remove
      .then((rows) => {
        if (rows === null || rows.length === 0) return
        const slot = this.#deps.slot()
        return this.#deps.enqueue(() => this.#deps.storage.pending.remove(slot, rows.map((r) => r.seq)))
      })
      .catch((e: unknown) => this.#deps.logger.warn({ error: String(e) }, 'could not remove failed records from the pending store'))
  }

  /** Writes the queued sends, all queued so far in one transaction, in send order. */
  async #write(): Promise<void> {
    this.#writing = true
    try {
      await this.#deps.local
    } catch (error) {
      this.#writing = false
      for (const w of this.#writes.splice(0)) w.reject(error)
      return
    }
    const { storage, clock } = this.#deps
    const slot = this.#deps.slot()
    while (this.#writes.length > 0) {
      const round = this.#writes.splice(0)
      if (this.#deps.canBatch()) {
        for (const w of round) w.resolve(null)
        continue
      }
      const createdAtMs = clock.now()
      const rows = round.map((w) => {
        const sendSeq = this.#nextSeq
        return w.records.map(({ input, partition }): PendingRecord => ({
          producer: slot,
          seq: this.#nextSeq++,
          sendSeq,
          topic: w.topic,
          partition,
          key: input.key,
          value: input.value,
          headers: input.headers,
          timestamp: input.timestamp,
          createdAtMs,
        }))
      })
      try {
        await storage.pending.add(rows.flat())
        round.forEach((w, i) => w.resolve(rows[i]!))
      } catch (error) {
        const failure = new SamsaError('UNKNOWN_SERVER_ERROR', `could not store the records before sending them: ${String(error)}`)
        for (const w of round) w.reject(failure)
      }
    }
    this.#writing = false
  }
}
