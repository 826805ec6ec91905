/**
 * @module The test's side of e2e/pages/cluster-client.html: takes the history the page buffers (window.e2eTake)
 * every 100 ms into a HistoryRecorder (cluster-history-checker.ts) with the page's own times, keeps the batches the
 * page's producer recovered from its outbox after a reload, and reloads the page with its schedule stopped first, so
 * no send is invoked unseen.
 */
import type { Page } from '@playwright/test'
import { HistoryRecorder, type Op } from '../../test/support/cluster-history-checker.js'
import { until } from '../../test/support/until.js'
import { readStore, waitReady } from './harness.js'

interface Offset {
  readonly partition: number
  readonly offset: number
}

type PageOp =
  | { k: 'invoke'; t: number; id: string; value: string; partition: number }
  | { k: 'ok'; t: number; id: string; partition: number; offset: number }
  | { k: 'error'; t: number; id: string; error: string }
  | { k: 'read'; t: number; partition: number; offset: number; value: string; session: string }
  | { k: 'recovered'; t: number; metas: Offset[] }

export interface Take {
  readonly session: string
  readonly ops: PageOp[]
  readonly invoked: number
  readonly settled: number
  readonly highest: number
  readonly pending: { batches: number; records: number }
  readonly gaps: unknown[]
  readonly errors: string[]
}

/** A row of the page's `deliveries` store: one processed record, committed with the consumer's position. */
export interface Delivery extends Offset {
  readonly value: string
  readonly session: string
}

export interface Reload {
  /** The stored consumer position and the outbox just before the reload. */
  readonly storedPosition: number | null
  readonly outboxBatches: number
  /** Sends of the old page whose outcome it never reported (recorded unknown). */
  readonly unsettled: string[]
  /** What the new page's producer found to resend (pending() once ready). */
  readonly recoveredAtStart: { batches: number; records: number }
  readonly reloadMs: number
}

export const RELOAD_REASON = 'the page reloaded before its outcome'

export class ClusterPageHistory {
  /** Page times are Date.now(); so are the samples recorded while no page op is being ingested. */
  readonly rec = new HistoryRecorder(() => this.#stamp ?? Date.now())
  /** Offsets of each batch the producer resent from the outbox of an earlier load (onRecovered). */
  readonly recovered: Offset[][] = []
  last: Take | null = null
  #stamp: number | null = null
  readonly #open = new Map<string, { op: ReturnType<HistoryRecorder['invoke']>; value: string }>()
  #pumping = false
  #pump: Promise<void> = Promise.resolve()
  readonly #page: Page
  readonly #ratePerS: number

  constructor(page: Page, ratePerS: number) {
    this.#page = page
    this.#ratePerS = ratePerS
  }

  /** Starts the page's send schedule and the taking of its history. */
  async start(): Promise<void> {
    await this.#page.evaluate((ratePerS) => (window as any).e2eStart({ ratePerS }), this.#ratePerS)
    this.#pumping = true
    this.#pump = (async () => {
      while (this.#pumping) {
        await this.take()
        await new Promise((r) => setTimeout(r, 100))
      }
    })()
  }

  /** Stops the schedule (sends already invoked go on) and the taking; takes what is buffered. */
  async stop(): Promise<Take> {
    this.#pumping = false
    await this.#pump
    await this.#page.evaluate(() => (window as any).e2eStop())
    return this.take()
  }

  async take(): Promise<Take> {
    const t = (await this.#page.evaluate(() => (window as any).e2eTake())) as Take
    for (const op of t.ops) {
      this.#stamp = op.t
      if (op.k === 'invoke') this.#open.set(op.id, { op: this.rec.invoke('send', 'page', op.value, op.partition), value: op.value })
      else if (op.k === 'ok') this.#complete(op.id).ok(op)
      // A rejected send may still have reached the log (the SDK gave up on a batch it had sent): unknown, not fail.
      else if (op.k === 'error') this.#complete(op.id).unknown(op.error)
      else if (op.k === 'read') this.rec.read(`read-${op.session}`, op, op.value)
      else this.recovered.push(op.metas)
    }
    this.#stamp = null
    this.last = t
    return t
  }

  /** The first acknowledged send after `timeMs` (Date.now()). */
  nextAckAfter(timeMs: number, timeoutMs = 30_000): Promise<Op> {
    return until(() => this.rec.ops.find((o) => o.type === 'ok' && o.f === 'send' && o.timeMs > timeMs), { timeoutMs, what: 'an acknowledged write from the page after the fault' })
  }

  /**
   * Reloads the page mid-run (call it while the leader is down): once `minPending` records wait for their
   * acknowledgement, stops the schedule, waits until the outbox holds a batch, reloads, records the sends whose
   * outcome the old page never reported as unknown, and restarts the schedule.
   */
  async reload(db: string, minPending: number): Promise<Reload> {
    await until(async () => (await this.take()).pending.records >= minPending, { timeoutMs: 10_000, what: `${minPending} records pending before the reload` })
    await this.stop()
    const outbox = await until(async () => (await readStore(this.#page, db, 'outbox')).length, { timeoutMs: 10_000, what: 'a batch in the outbox before the reload' })
    const offsets = await readStore<{ offset: number }>(this.#page, db, 'offsets')
    await this.take()
    const t0 = Date.now()
    await this.#page.reload()
    const unsettled = [...this.#open.values()].map((o) => o.value)
    for (const o of this.#open.values()) o.op.unknown(RELOAD_REASON)
    this.#open.clear()
    await waitReady(this.#page)
    const recoveredAtStart = await this.#page.evaluate(() => (window as any).__e2e.recoveredAtStart)
    const reloadMs = Date.now() - t0
    await this.start()
    return { storedPosition: offsets[0]?.offset ?? null, outboxBatches: outbox, unsettled, recoveredAtStart, reloadMs }
  }

  #complete(id: string): ReturnType<HistoryRecorder['invoke']> {
    const open = this.#open.get(id)
    if (!open) throw new Error(`the page reported the outcome of send ${id}, which it never invoked (or twice)`)
    this.#open.delete(id)
    return open.op
  }
}

/** The page's `deliveries` store, in the order its rows were added. */
export function readDeliveries(page: Page, db: string): Promise<Delivery[]> {
  return readStore<Delivery>(page, db, 'deliveries')
}
