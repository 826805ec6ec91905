/**
 * @module A Y.Doc's updates both ways over its topic (partition 0).
 *
 * - Out: local updates (any transaction origin but the provider) go out through the durable idempotent producer, one
 *   record each, headers `y-kind: update` and this provider's session. A send that fails before it was batched (a
 *   retriable error, or the topic not created yet) is sent again after a backoff; a closed client leaves the record,
 *   if stored, to the outbox of the next page life.
 * - In: every update record is added to the log state; records of this session are already in the document and are
 *   not applied, every other one is applied with the provider as origin, so it is never sent back.
 * - Gaps: a truncation (the broker lost records this client had read) resends the log state so the log gets that
 *   content back; a retention gap is healed by the latest snapshot when it covers the gap, otherwise reported as a
 *   YjsGapError and the log state is marked incomplete (snapshot-writer.ts then refuses to snapshot from it).
 */
import * as Y from 'yjs'
import type { SamsaClient } from '../client.js'
import type { ConsumerRecord } from '../consumer/consumer-record.js'
import type { Gap } from '../consumer/subscription.js'
import type { Producer } from '../producer/producer.js'
import type { RecordMetadata } from '../producer/producer-options.js'
import type { LogState } from './log-state.js'
import type { ProviderRetries } from './provider-retries.js'
import { YjsHeaders, isClientClosed, isRetriable, readLatestSnapshot, recordKind, type Snapshot } from './records.js'

/** A retention gap that no snapshot covers: those updates are lost for clients that had not read them. */
export class YjsGapError extends Error {
  override readonly name = 'YjsGapError'
  readonly gap: Gap
  constructor(gap: Gap, message: string) {
    super(message)
    this.gap = gap
  }
}

export interface DocSyncDeps {
  readonly doc: Y.Doc
  /** The provider: the transaction origin of what it applies (never sent back). */
  readonly origin: unknown
  readonly client: SamsaClient
  readonly topic: string
  readonly snapshotTopic: string
  readonly session: string
  readonly producer: Producer
  readonly log: LogState
  readonly retries: ProviderRetries
  /** Resolves once the document's topic exists (or the provider is destroyed). */
  readonly topicExists: Promise<void>
  readonly signal: AbortSignal
  stopped(): boolean
  emitError(error: unknown): void
  /** Own updates were acknowledged. */
  acknowledged(metas: readonly RecordMetadata[]): void
  /** A record was read (the position moved). */
  recordRead(): void
  /** The log state grew without a record (a snapshot healed a gap): store it. */
  stateGrew(): void
}

export class DocSync {
  readonly #deps: DocSyncDeps
  #logIncomplete = false

  constructor(deps: DocSyncDeps) {
    this.#deps = deps
  }

  /** A retention gap no snapshot covered: the log state lacks records below the position. */
  get logIncomplete(): boolean {
    return this.#logIncomplete
  }

  /** The document's `update` listener. */
  readonly onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this.#deps.origin || this.#deps.stopped()) return
    this.send(update)
  }

  send(update: Uint8Array, attempt = 0): void {
    const deps = this.#deps
    const headers = { [YjsHeaders.kind]: 'update', [YjsHeaders.session]: deps.session }
    deps.producer.send(deps.topic, [{ partition: 0, value: update, headers }]).then(
      (metas) => deps.acknowledged(metas),
      async (error: unknown) => {
        // Closed: the record, if stored, is resent by the next page life's producer. Retriable or an unknown topic: it
        // failed before it was batched (a batch that may be in the log is retried by the producer itself), so
        // sending it again is safe.
        if (deps.stopped() || isClientClosed(error)) return
        const unknownTopic = deps.retries.creatingTopic(error, attempt)
        if (!isRetriable(error) && !unknownTopic) return deps.emitError(error)
        // An edit made before the topic was created waits for it (in memory: the record was never stored).
        if (unknownTopic) await deps.topicExists
        await deps.retries.backoff(attempt)
        if (!deps.stopped()) this.send(update, attempt + 1)
      },
    )
  }

  /** Every record delivered goes into the log state before the position passes it (persistence relies on it). */
  onRecord(r: ConsumerRecord): void {
    const deps = this.#deps
    if (r.value !== null && recordKind(r) === 'update') {
      if (r.headers[YjsHeaders.session] === deps.session) {
        deps.log.add(r.value)
      } else {
        try {
          Y.applyUpdate(deps.doc, r.value, deps.origin)
          deps.log.add(r.value)
        } catch (error) {
          deps.emitError(new Error(`record ${r.topic}/${r.partition}@${r.offset} is not a Yjs update: ${String(error)}`, { cause: error }))
        }
      }
    }
    deps.recordRead()
  }

  applySnapshot(snapshot: Snapshot): void {
    Y.applyUpdate(this.#deps.doc, snapshot.state, this.#deps.origin)
    this.#deps.log.add(snapshot.state)
  }

  /** A retention gap is harmless when the latest snapshot covers it (the snapshot is applied); otherwise reported. */
  async onGap(gap: Gap): Promise<void> {
    const deps = this.#deps
    if (gap.reason === 'truncation') {
      // The broker lost records this client had read: put their content back into the log.
      const state = deps.log.state()
      if (state !== null) this.send(state)
      return
    }
    try {
      const snapshot = await deps.retries.retrying(() => readLatestSnapshot(deps.client, deps.snapshotTopic, deps.signal))
      if (deps.stopped()) return
      if (snapshot !== null && snapshot.upto >= gap.to) {
        this.applySnapshot(snapshot)
        deps.stateGrew()
        return
      }
      this.#logIncomplete = true
      const covered = snapshot === null ? 'there is no snapshot' : `the latest snapshot covers offsets below ${snapshot.upto} only`
      deps.emitError(new YjsGapError(gap, `updates ${gap.from}..${gap.to - 1} of ${gap.topic}/${gap.partition} expired before this client read them and ${covered}: edits in them are missing here`))
    } catch (error) {
      if (!deps.stopped()) deps.emitError(error)
    }
  }
}
