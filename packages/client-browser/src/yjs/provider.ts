/**
 * @module SamsaYjsProvider: keeps a Y.Doc in sync through a Samsa topic (one topic per document, partition 0).
 *
 * Rules (docs/client.md, "Yjs provider"):
 * - Local updates (any transaction origin but this provider) are sent by the durable idempotent producer `id`, one
 *   record each: kept in the SDK's outbox across offline periods and reloads, written to the log exactly once.
 * - Every update record is read by the subscription of consumer id `id`. Records carrying this provider instance's
 *   session header are already in the document and are not applied; every other one (other clients, and this id's
 *   previous page lives) is applied with the provider as transaction origin, so it is never sent back.
 * - What the provider has read is its log state (log-state.ts). It is merged into the document store with the
 *   position it covers (doc-store.ts), then that position is committed for consumer id `id`. A reload applies the
 *   stored state and resumes at the stored position, so it replays only records it has not read.
 * - Without a stored state the provider applies the latest snapshot and starts at the snapshot's `y-upto`, so a new
 *   client does not replay the topic and updates older than the snapshot may expire. A retention gap is healed by
 *   the latest snapshot when it covers the gap (not reported); otherwise it is reported as an 'error'.
 * - Snapshot election: the client whose own update lands at offset k·snapshotEveryUpdates − 1 writes a snapshot of
 *   its log state once it has read up to there; `snapshot()` writes one on demand.
 *
 * This file is the provider's lifecycle: it starts (stored state or latest snapshot, topics, subscription, sync
 * target), and `destroy()` stops everything once — listeners, waits, subscriptions, awareness — after storing what
 * was read. The parts: doc-sync.ts (updates both ways, gaps), snapshot-writer.ts (election and content),
 * log-state-persistence.ts (store, then commit), provider-retries.ts (backoff), awareness-channel.ts (presence).
 */
import { Awareness } from 'y-protocols/awareness'
import * as Y from 'yjs'
import type { SamsaClient } from '../client.js'
import type { Subscription } from '../consumer/subscription.js'
import type { Producer } from '../producer/producer.js'
import { AwarenessChannel } from './awareness-channel.js'
import { DocSync } from './doc-sync.js'
import { indexedDbDocStore, type YjsDocStore } from './doc-store.js'
import { LogStatePersistence } from './log-state-persistence.js'
import { LogState } from './log-state.js'
import { checkProviderArguments } from './provider-options.js'
import type { SamsaYjsProviderEvents, SamsaYjsProviderOptions } from './provider-options.js'
import { ProviderEvents } from './provider-events.js'
import { ProviderRetries } from './provider-retries.js'
import { ensureTopic, randomSessionId, readLatestSnapshot } from './records.js'
import { SnapshotWriter } from './snapshot-writer.js'

export type { SamsaYjsProviderEvents, SamsaYjsProviderOptions } from './provider-options.js'
export { YjsGapError } from './doc-sync.js'

/** How long destroy() waits for unacknowledged records while connected before leaving them to the outbox. */
const DESTROY_FLUSH_TIMEOUT_MS = 5_000

export class SamsaYjsProvider {
  readonly doc: Y.Doc
  /** The awareness shared over `awarenessTopic`; null without that option. */
  readonly awareness: Awareness | null
  /** Resolves once the provider has read its topic up to the high watermark it found when it subscribed. */
  readonly whenSynced: Promise<void>
  readonly topic: string
  readonly snapshotTopic: string
  readonly id: string
  readonly #client: SamsaClient
  readonly #opts: SamsaYjsProviderOptions
  readonly #producer: Producer
  #ephemeral: Producer | null = null
  readonly #docStore: YjsDocStore | null
  readonly #ownsDocStore: boolean
  readonly #log: LogState
  readonly #retries: ProviderRetries
  readonly #sync: DocSync
  readonly #snapshots: SnapshotWriter
  readonly #persistence: LogStatePersistence
  readonly #channel: AwarenessChannel | null
  readonly #abort = new AbortController()
  readonly #events = new ProviderEvents()
  readonly #cleanup: (() => void)[] = []
  #sub: Subscription | null = null
  #synced = false
  #resolveSynced!: () => void
  #rejectSynced!: (e: Error) => void
  /** The high watermark found right after subscribing; synced once the position reaches it. */
  #syncTarget: number | null = null
  #unsynced = 0
  #destroyed: Promise<void> | null = null
  /** Resolves once the document's topic exists (created by #start), or on destroy(). */
  #topicReady!: () => void
  readonly #topicExists = new Promise<void>((resolve) => (this.#topicReady = resolve))

  constructor(client: SamsaClient, doc: Y.Doc, opts: SamsaYjsProviderOptions) {
    checkProviderArguments(client, doc, opts)
    this.#client = client
    this.doc = doc
    this.#opts = opts
    this.topic = opts.topic
    this.id = opts.id
    this.snapshotTopic = opts.snapshotTopic ?? `${opts.topic}.snapshots`
    if (opts.docStore !== undefined) {
      this.#docStore = opts.docStore
      this.#ownsDocStore = false
    } else {
      this.#docStore = globalThis.indexedDB !== undefined ? indexedDbDocStore() : null
      this.#ownsDocStore = this.#docStore !== null
    }
    this.#log = new LogState(this.#docStore !== null)
    this.whenSynced = new Promise<void>((resolve, reject) => {
      this.#resolveSynced = resolve
      this.#rejectSynced = reject
    })
    this.whenSynced.catch(() => {}) // rejects only on destroy() before synced; never an unhandled rejection

    const session = randomSessionId()
    const stopped = () => this.#isDestroyed()
    const emitError = (e: unknown) => this.#emitError(e)
    const position = () => this.#sub?.position(0) ?? null
    this.#producer = client.producer({ id: opts.id })
    this.#retries = new ProviderRetries(opts.createTopics ?? true, stopped)
    this.#persistence = new LogStatePersistence({
      store: this.#docStore,
      delayMs: opts.persistDelayMs ?? 500,
      log: this.#log,
      id: this.id,
      topic: this.topic,
      sub: () => this.#sub,
      stopped,
      emitError,
    })
    this.#snapshots = new SnapshotWriter({
      doc,
      topic: this.topic,
      snapshotTopic: this.snapshotTopic,
      session,
      everyUpdates: opts.snapshotEveryUpdates ?? 100,
      log: this.#log,
      producer: this.#producer,
      ephemeral: () => this.#ephemeralProducer(),
      position,
      logIncomplete: () => this.#sync.logIncomplete,
      stopped,
      emitError,
    })
    this.#sync = new DocSync({
      doc,
      origin: this,
      client,
      topic: this.topic,
      snapshotTopic: this.snapshotTopic,
      session,
      producer: this.#producer,
      log: this.#log,
      retries: this.#retries,
      topicExists: this.#topicExists,
      signal: this.#abort.signal,
      stopped,
      emitError,
      acknowledged: (metas) => this.#snapshots.acknowledged(metas),
      recordRead: () => {
        this.#persistence.schedule()
        this.#checkSynced()
        this.#snapshots.maybe()
      },
      stateGrew: () => this.#persistence.schedule(),
    })
    this.#unsynced = this.#producer.pending().records
    this.#cleanup.push(
      this.#producer.onPending(({ records }) => this.#setUnsynced(records)),
      this.#producer.onRecovered((metas) => this.#snapshots.acknowledged(metas)),
    )
    doc.on('update', this.#sync.onDocUpdate)
    doc.on('destroy', this.#onDocDestroy)
    this.#cleanup.push(
      () => doc.off('update', this.#sync.onDocUpdate),
      () => doc.off('destroy', this.#onDocDestroy),
    )
    // Content the document had before the provider: sent like a local edit (the log may not have it).
    if (Y.encodeStateVector(doc).length > 1) this.#sync.send(Y.encodeStateAsUpdate(doc))

    if (opts.awarenessTopic !== undefined) {
      this.awareness = new Awareness(doc)
      this.#channel = new AwarenessChannel(this.awareness, {
        client,
        topic: opts.awarenessTopic,
        session,
        timeoutMs: opts.awarenessTimeoutMs ?? 30_000,
        origin: this,
        producer: () => this.#ephemeralProducer(),
        onError: emitError,
      })
    } else {
      this.awareness = null
      this.#channel = null
    }
    void this.#start()
    void this.#channel?.open({ createTopic: opts.createTopics ?? true, retries: this.#retries, signal: this.#abort.signal, stopped })
  }

  /** True once the provider has read its topic up to the high watermark it found when it subscribed (stays true). */
  get synced(): boolean {
    return this.#synced
  }

  /** Local updates not yet acknowledged by the broker (the producer's outbox and pending records, previous page lives included). */
  get unsyncedChanges(): number {
    return this.#unsynced
  }

  /** Adds a listener; returns the function that removes it. */
  on<E extends keyof SamsaYjsProviderEvents>(event: E, listener: SamsaYjsProviderEvents[E]): () => void {
    return this.#events.on(event, listener)
  }

  off<E extends keyof SamsaYjsProviderEvents>(event: E, listener: SamsaYjsProviderEvents[E]): void {
    this.#events.off(event, listener)
  }

  /**
   * Writes a snapshot now to the snapshot topic, with `y-upto` = the current position. Its content is the document
   * itself when every local update is acknowledged (then the document holds nothing the log might not get), else
   * the log state (every update record read below the position). Resolves with the snapshot record's offset and
   * its `upto`; rejects when neither is safe (local updates pending after a gap no snapshot covered).
   */
  async snapshot(): Promise<{ offset: number; upto: number }> {
    if (this.#destroyed !== null) throw new Error('the provider is destroyed')
    return this.#snapshots.write()
  }

  /**
   * Stops syncing and releases everything: document and producer listeners, timers, subscriptions, the awareness
   * (after sending its goodbye) and the default document store. Stores the log state read so far first; local
   * updates not yet acknowledged stay in the SDK's outbox. Idempotent.
   */
  destroy(): Promise<void> {
    this.#destroyed ??= this.#teardown()
    return this.#destroyed
  }

  async #teardown(): Promise<void> {
    // Synchronous until the first await: the subscription stops delivering before anything is stored, so every
    // record below the position that persist() stores is in the log state.
    for (const off of this.#cleanup.splice(0)) off()
    this.#persistence.stop()
    this.#retries.stop()
    this.#topicReady()
    if (!this.#synced) this.#rejectSynced(Object.assign(new Error('the provider was destroyed before it was synced'), { name: 'AbortError' }))
    const sub = this.#sub
    sub?.close()
    this.#abort.abort()
    const goodbye = this.#channel?.close(DESTROY_FLUSH_TIMEOUT_MS)
    await this.#persistence.persist()
    await Promise.allSettled([sub?.closed, goodbye])
    this.awareness?.destroy()
    await Promise.allSettled([this.#release(this.#producer), this.#ephemeral !== null ? this.#release(this.#ephemeral) : undefined])
    if (this.#ownsDocStore) await this.#docStore?.close()
    this.#events.clear()
  }

  /** Flushes a producer while connected (bounded), then releases it: what is unacknowledged stays in the outbox. */
  async #release(producer: Producer): Promise<void> {
    if (this.#client.state.status === 'connected') {
      const stop = new AbortController()
      const timer = setTimeout(() => stop.abort(), DESTROY_FLUSH_TIMEOUT_MS)
      await producer.flush({ signal: stop.signal }).catch(() => {})
      clearTimeout(timer)
    }
    producer.release()
  }

  async #start(): Promise<void> {
    try {
      const stored = this.#docStore === null ? null : await this.#docStore.load(this.id, this.topic)
      if (this.#isDestroyed()) return
      let startAt = 0
      if (stored !== null) {
        Y.applyUpdate(this.doc, stored.state, this)
        this.#log.addStored(stored.state)
        startAt = stored.offset
      }
      if (this.#opts.createTopics ?? true) await this.#retries.retrying(() => Promise.all([ensureTopic(this.#client, this.topic), ensureTopic(this.#client, this.snapshotTopic)]))
      this.#topicReady()
      if (stored === null) {
        const snapshot = await this.#retries.retrying(() => readLatestSnapshot(this.#client, this.snapshotTopic, this.#abort.signal))
        if (this.#isDestroyed()) return
        if (snapshot !== null) {
          this.#sync.applySnapshot(snapshot)
          startAt = snapshot.upto
        }
      }
      if (this.#isDestroyed()) return
      // The position stored with the state is where it ends (a committed consumer position can be ahead of a state
      // that failed to store); a missing state starts at the snapshot, or at 0 (reported as a gap if 0 has expired).
      const sub = this.#client.consumer({ id: this.id }).subscribe(this.topic, {
        from: 'stored',
        reset: 'earliest',
        commit: 'manual',
        partitions: [0],
        onRecord: (r) => this.#sync.onRecord(r),
        signal: this.#abort.signal,
      })
      sub.seek(0, startAt)
      this.#sub = sub
      sub.onGap((gap) => void this.#sync.onGap(gap))
      sub.onError((e) => this.#emitError(e))
      await sub.ready
      const { offset: highWatermark } = await this.#retries.retrying(() => this.#client.admin.listOffsets(this.topic, 0, 'latest'))
      this.#syncTarget = highWatermark
      this.#checkSynced()
    } catch (error) {
      if (!this.#isDestroyed()) this.#emitError(error)
    }
  }

  readonly #onDocDestroy = (): void => void this.destroy()

  #checkSynced(): void {
    if (this.#synced || this.#syncTarget === null) return
    const position = this.#sub?.position(0) ?? null
    if (position === null || position < this.#syncTarget) return
    this.#synced = true
    this.#resolveSynced()
    this.#events.synced()
  }

  #ephemeralProducer(): Producer {
    this.#ephemeral ??= this.#client.producer({ idempotent: false })
    return this.#ephemeral
  }

  #setUnsynced(records: number): void {
    if (records === this.#unsynced) return
    this.#unsynced = records
    this.#events.unsyncedChanges(records)
    if (records === 0) this.#snapshots.maybe()
  }

  #emitError(error: unknown): void {
    this.#events.error(error)
  }

  #isDestroyed(): boolean {
    return this.#destroyed !== null
  }
}
