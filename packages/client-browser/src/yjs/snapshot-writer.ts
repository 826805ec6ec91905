/**
 * @module Snapshots of a Yjs document: which client writes one (election) and what it may contain.
 *
 * Election: the client whose own update lands at offset k·N − 1 (N = `snapshotEveryUpdates`) writes a snapshot once
 * it has read up to offset k·N, with `y-upto` = its position then; `snapshot()` writes one on demand.
 *
 * Content (invariant: a snapshot at position p holds every update record below p and nothing the log might never
 * get): the document itself when no local update is pending (it also holds this client's own records that expired
 * before it read them back); otherwise the log state, unless a retention gap no snapshot covered left it incomplete
 * — then no snapshot is safe until the pending updates are acknowledged. At most one automatic snapshot is written at
 * a time.
 */
import * as Y from 'yjs'
import type { Producer } from '../producer/producer.js'
import type { RecordMetadata } from '../producer/producer-options.js'
import type { LogState } from './log-state.js'
import { YjsHeaders, isClientClosed } from './records.js'

/** The offset a client's acknowledged updates make it due to snapshot at (the largest k·N they reach), or `due` unchanged. */
export function snapshotDue(metas: readonly RecordMetadata[], topic: string, everyUpdates: number, due: number | null): number | null {
  if (everyUpdates <= 0) return due
  let next = due
  for (const m of metas) {
    if (m.topic !== topic || m.partition !== 0 || (m.offset + 1) % everyUpdates !== 0) continue
    next = Math.max(next ?? 0, m.offset + 1)
  }
  return next
}

export interface SnapshotDeps {
  readonly doc: Y.Doc
  readonly snapshotTopic: string
  readonly topic: string
  readonly session: string
  readonly everyUpdates: number
  readonly log: LogState
  /** The durable producer of the document's updates: its pending count says whether the document is safe to snapshot. */
  readonly producer: Producer
  /** The non-idempotent producer snapshots go out on. */
  ephemeral(): Producer
  /** The position read up to on the document topic; null before the subscription starts. */
  position(): number | null
  /** A retention gap no snapshot covered: the log state lacks records below the position. */
  logIncomplete(): boolean
  stopped(): boolean
  emitError(error: unknown): void
}

export class SnapshotWriter {
  readonly #deps: SnapshotDeps
  /** Write a snapshot once the position reaches this offset (this client's update landed just below it). */
  #due: number | null = null
  #writing = false

  constructor(deps: SnapshotDeps) {
    this.#deps = deps
  }

  /** Own updates were acknowledged: one may make this client due to snapshot. */
  acknowledged(metas: readonly RecordMetadata[]): void {
    const { topic, everyUpdates } = this.#deps
    if (everyUpdates <= 0) return
    this.#due = snapshotDue(metas, topic, everyUpdates, this.#due)
    this.maybe()
  }

  /** Writes the due snapshot once the position reached it (and its content is safe); call after anything that moves either. */
  maybe(): void {
    const deps = this.#deps
    const due = this.#due
    const position = deps.position()
    if (due === null || position === null || position < due || this.#writing || deps.stopped()) return
    // Pending local updates after an uncovered gap: wait until they are acknowledged (the provider calls back).
    if (deps.logIncomplete() && deps.producer.pending().records > 0) return
    this.#due = null
    this.#writing = true
    this.write()
      .catch((e: unknown) => {
        if (!deps.stopped() && !isClientClosed(e)) deps.emitError(e)
      })
      .finally(() => (this.#writing = false))
  }

  /** Writes a snapshot now, with `y-upto` = the current position; see the module comment for what it contains. */
  async write(): Promise<{ offset: number; upto: number }> {
    const deps = this.#deps
    const upto = deps.position()
    if (upto === null) throw new Error(`the provider has not started reading ${deps.topic} yet (await provider.whenSynced)`)
    const state = this.#content()
    if (state === null) throw new Error('no safe snapshot now: local updates are unacknowledged and the log state has a gap; try again once unsyncedChanges is 0')
    const headers = { [YjsHeaders.kind]: 'snapshot', [YjsHeaders.upto]: String(upto), [YjsHeaders.session]: deps.session }
    const [meta] = await deps.ephemeral().send(deps.snapshotTopic, [{ partition: 0, value: state, headers }])
    return { offset: meta!.offset, upto }
  }

  /** What a snapshot at the current position may contain; null: nothing is safe now. */
  #content(): Uint8Array | null {
    const deps = this.#deps
    if (deps.producer.pending().records === 0) return Y.encodeStateAsUpdate(deps.doc)
    if (deps.logIncomplete()) return null
    return deps.log.state() ?? Y.encodeStateAsUpdate(new Y.Doc())
  }
}
