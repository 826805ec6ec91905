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
 */
import { Awareness } from 'y-protocols/awareness'
import * as Y from 'yjs'
import type { SamsaClient } from '../client.js'
import type { ConsumerRecord } from '../consumer/consumer-record.js'
import type { Gap, Subscription } from '../consumer/subscription.js'
import type { Producer, RecordMetadata } from '../producer/producer.js'
import { AwarenessChannel } from './awareness-channel.js'
import { indexedDbDocStore, type YjsDocStore } from './doc-store.js'
import { LogState } from './log-state.js'
import { YjsHeaders, ensureTopic, isClientClosed, isRetriable, randomSessionId, readLatestSnapshot, recordKind, type Snapshot } from './records.js'
import { checkProviderArguments } from './provider-options.js'
import type { SamsaYjsProviderEvents, SamsaYjsProviderOptions } from './provider-options.js'

export type { SamsaYjsProviderEvents, SamsaYjsProviderOptions } from './provider-options.js'

/** How long destroy() waits for unacknowledged records while connected before leaving them to the outbox. */
const DESTROY_FLUSH_TIMEOUT_MS = 5_000
const RETRY_BASE_MS = 100
const RETRY_CAP_MS = 5_000

/** A retention gap that no snapshot covers: those updates are lost for clients that had not read them. */
export class YjsGapError extends Error {
  override readonly name = 'YjsGapError'
  readonly gap: Gap
  constructor(gap: Gap, message: string) {
    super(message)
    this.gap = gap
  }
}

type Listeners = { [E in keyof SamsaYjsProviderEvents]: Set<SamsaYjsProviderEvents[E]> }

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
  readonly #session = randomSessionId()
  readonly #producer: Producer
  #ephemeral: Producer | null = null
  readonly #docStore: YjsDocStore | null
  readonly #ownsDocStore: boolean
  readonly #log: LogState
  readonly #channel: AwarenessChannel | null
  readonly #snapshotEvery: number
  readonly #persistDelayMs: number
  readonly #abort = new AbortController()
  readonly #listeners: Listeners = { synced: new Set(), 'unsynced-changes': new Set(), error: new Set() }
  readonly #cleanup: (() => void)[] = []
  /** Timers and the waits they end (destroy() clears them and ends the waits). */
  readonly #timers = new Map<ReturnType<typeof setTimeout>, () => void>()
  #sub: Subscription | null = null
  #synced = false
  #resolveSynced!: () => void
  #rejectSynced!: (e: Error) => void
  /** The high watermark found right after subscribing; synced once the position reaches it. */
  #syncTarget: number | null = null
  #unsynced = 0
  /** Write a snapshot once the position reaches this offset (this client's update landed just below it). */
  #snapshotDue: number | null = null
  #snapshotting = false
  /** A retention gap no snapshot covered: the log state lacks records below the position. */
  #logIncomplete = false
  #persistTimer: ReturnType<typeof setTimeout> | null = null
  #persisting: Promise<void> = Promise.resolve()
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
    this.#snapshotEvery = opts.snapshotEveryUpdates ?? 100
    this.#persistDelayMs = opts.persistDelayMs ?? 500
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

    this.#producer = client.producer({ id: opts.id })
    this.#unsynced = this.#producer.pending().records
    this.#cleanup.push(
      this.#producer.onPending(({ records }) => this.#setUnsynced(records)),
      this.#producer.onRecovered((metas) => this.#acknowledged(metas)),
    )
    doc.on('update', this.#onDocUpdate)
    doc.on('destroy', this.#onDocDestroy)
    this.#cleanup.push(
      () => doc.off('update', this.#onDocUpdate),
      () => doc.off('destroy', this.#onDocDestroy),
    )
    // Content the document had before the provider: sent like a local edit (the log may not have it).
    if (Y.encodeStateVector(doc).length > 1) this.#send(Y.encodeStateAsUpdate(doc))

    if (opts.awarenessTopic !== undefined) {
      this.awareness = new Awareness(doc)
      this.#channel = new AwarenessChannel(this.awareness, {
        client,
        topic: opts.awarenessTopic,
        session: this.#session,
        timeoutMs: opts.awarenessTimeoutMs ?? 30_000,
        origin: this,
        producer: () => this.#ephemeralProducer(),
        onError: (e) => this.#emitError(e),
      })
      const pagehide = () => this.awareness?.setLocalState(null)
      if (typeof globalThis.addEventListener === 'function') {
        globalThis.addEventListener('pagehide', pagehide)
        this.#cleanup.push(() => globalThis.removeEventListener('pagehide', pagehide))
      }
    } else {
      this.awareness = null
      this.#channel = null
    }
    void this.#start()
    if (this.#channel !== null) void this.#startAwareness(this.#channel, opts.awarenessTopic!)
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
    const set = this.#listeners[event] as Set<SamsaYjsProviderEvents[E]> | undefined
    if (set === undefined) throw new TypeError(`provider.on(event, listener): unknown event ${JSON.stringify(event)} (synced, unsynced-changes, error)`)
    if (typeof listener !== 'function') throw new TypeError('provider.on(event, listener): listener must be a function')
    set.add(listener)
    return () => this.off(event, listener)
  }

  off<E extends keyof SamsaYjsProviderEvents>(event: E, listener: SamsaYjsProviderEvents[E]): void {
    ;(this.#listeners[event] as Set<SamsaYjsProviderEvents[E]> | undefined)?.delete(listener)
  }

  /**
   * Writes a snapshot now to the snapshot topic, with `y-upto` = the current position. Its content is the document
   * itself when every local update is acknowledged (then the document holds nothing the log might not get), else
   * the log state (every update record read below the position). Resolves with the snapshot record's offset and
   * its `upto`; rejects when neither is safe (local updates pending after a gap no snapshot covered).
   */
  async snapshot(): Promise<{ offset: number; upto: number }> {
    if (this.#destroyed !== null) throw new Error('the provider is destroyed')
    const upto = this.#sub?.position(0) ?? null
    if (upto === null) throw new Error(`the provider has not started reading ${this.topic} yet (await provider.whenSynced)`)
    const state = this.#snapshotState()
    if (state === null) throw new Error('no safe snapshot now: local updates are unacknowledged and the log state has a gap; try again once unsyncedChanges is 0')
    const headers = { [YjsHeaders.kind]: 'snapshot', [YjsHeaders.upto]: String(upto), [YjsHeaders.session]: this.#session }
    const [meta] = await this.#ephemeralProducer().send(this.snapshotTopic, [{ partition: 0, value: state, headers }])
    return { offset: meta!.offset, upto }
  }

  /**
   * What a snapshot at the current position may contain: every update record below it, and nothing the log might
   * never get. The document qualifies when no local update is pending (it also holds this client's own records that
   * expired before it read them back); otherwise the log state, unless a gap left it incomplete. Null: neither.
   */
  #snapshotState(): Uint8Array | null {
    if (this.#producer.pending().records === 0) return Y.encodeStateAsUpdate(this.doc)
    if (this.#logIncomplete) return null
    return this.#log.state() ?? Y.encodeStateAsUpdate(new Y.Doc())
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
    // record below the position that #persist stores is in the log state.
    for (const off of this.#cleanup.splice(0)) off()
    if (this.#persistTimer !== null) clearTimeout(this.#persistTimer)
    this.#persistTimer = null
    for (const [timer, end] of this.#timers) {
      clearTimeout(timer)
      end()
    }
    this.#timers.clear()
    this.#topicReady()
    if (!this.#synced) this.#rejectSynced(Object.assign(new Error('the provider was destroyed before it was synced'), { name: 'AbortError' }))
    const sub = this.#sub
    sub?.close()
    this.#abort.abort()
    const goodbye = this.#channel?.close(DESTROY_FLUSH_TIMEOUT_MS)
    await this.#persist()
    await Promise.allSettled([sub?.closed, goodbye])
    this.awareness?.destroy()
    await Promise.allSettled([this.#release(this.#producer), this.#ephemeral !== null ? this.#release(this.#ephemeral) : undefined])
    if (this.#ownsDocStore) await this.#docStore?.close()
    for (const set of Object.values(this.#listeners)) set.clear()
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
      if (this.#opts.createTopics ?? true) await this.#retrying(() => Promise.all([ensureTopic(this.#client, this.topic), ensureTopic(this.#client, this.snapshotTopic)]))
      this.#topicReady()
      if (stored === null) {
        const snapshot = await this.#retrying(() => readLatestSnapshot(this.#client, this.snapshotTopic, this.#abort.signal))
        if (this.#isDestroyed()) return
        if (snapshot !== null) {
          this.#applySnapshot(snapshot)
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
        onRecord: (r) => this.#onRecord(r),
        signal: this.#abort.signal,
      })
      sub.seek(0, startAt)
      this.#sub = sub
      sub.onGap((gap) => void this.#onGap(gap))
      sub.onError((e) => this.#emitError(e))
      await sub.ready
      const { offset: highWatermark } = await this.#retrying(() => this.#client.admin.listOffsets(this.topic, 0, 'latest'))
      this.#syncTarget = highWatermark
      this.#checkSynced()
    } catch (error) {
      if (!this.#isDestroyed()) this.#emitError(error)
    }
  }

  async #startAwareness(channel: AwarenessChannel, topic: string): Promise<void> {
    try {
      if (this.#opts.createTopics ?? true) await this.#retrying(() => ensureTopic(this.#client, topic))
      await this.#retrying(() => channel.start(this.#abort.signal))
    } catch (error) {
      if (!this.#isDestroyed()) this.#emitError(error)
    }
  }

  readonly #onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this || this.#destroyed !== null) return
    this.#send(update)
  }

  readonly #onDocDestroy = (): void => void this.destroy()

  #send(update: Uint8Array, attempt = 0): void {
    const headers = { [YjsHeaders.kind]: 'update', [YjsHeaders.session]: this.#session }
    this.#producer.send(this.topic, [{ partition: 0, value: update, headers }]).then(
      (metas) => this.#acknowledged(metas),
      async (error: unknown) => {
        // Closed: the record, if stored, is resent by the next page life's producer. Retriable or an unknown topic: it
        // failed before it was batched (a batch that may be in the log is retried by the producer itself), so
        // sending it again is safe.
        if (this.#isDestroyed() || isClientClosed(error)) return
        const unknownTopic = (error as { errorName?: unknown })?.errorName === 'UNKNOWN_TOPIC_OR_PARTITION' && (this.#opts.createTopics ?? true) && attempt < 6
        if (!isRetriable(error) && !unknownTopic) return this.#emitError(error)
        // An edit made before the topic was created waits for it (in memory: the record was never stored).
        if (unknownTopic) await this.#topicExists
        await this.#sleep(Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt))
        if (!this.#isDestroyed()) this.#send(update, attempt + 1)
      },
    )
  }

  #acknowledged(metas: readonly RecordMetadata[]): void {
    if (this.#snapshotEvery <= 0) return
    for (const m of metas) {
      if (m.topic !== this.topic || m.partition !== 0 || (m.offset + 1) % this.#snapshotEvery !== 0) continue
      this.#snapshotDue = Math.max(this.#snapshotDue ?? 0, m.offset + 1)
    }
    this.#maybeSnapshot()
  }

  /** Every record delivered goes into the log state before the position passes it (persist relies on it). */
  #onRecord(r: ConsumerRecord): void {
    if (r.value !== null && recordKind(r) === 'update') {
      if (r.headers[YjsHeaders.session] === this.#session) {
        this.#log.add(r.value)
      } else {
        try {
          Y.applyUpdate(this.doc, r.value, this)
          this.#log.add(r.value)
        } catch (error) {
          this.#emitError(new Error(`record ${r.topic}/${r.partition}@${r.offset} is not a Yjs update: ${String(error)}`, { cause: error }))
        }
      }
    }
    this.#schedulePersist()
    this.#checkSynced()
    this.#maybeSnapshot()
  }

  #applySnapshot(snapshot: Snapshot): void {
    Y.applyUpdate(this.doc, snapshot.state, this)
    this.#log.add(snapshot.state)
  }

  /** A retention gap is harmless when the latest snapshot covers it (the snapshot is applied); otherwise reported. */
  async #onGap(gap: Gap): Promise<void> {
    if (gap.reason === 'truncation') {
      // The broker lost records this client had read: put their content back into the log.
      const state = this.#log.state()
      if (state !== null) this.#send(state)
      return
    }
    try {
      const snapshot = await this.#retrying(() => readLatestSnapshot(this.#client, this.snapshotTopic, this.#abort.signal))
      if (this.#isDestroyed()) return
      if (snapshot !== null && snapshot.upto >= gap.to) {
        this.#applySnapshot(snapshot)
        this.#schedulePersist()
        return
      }
      this.#logIncomplete = true
      const covered = snapshot === null ? 'there is no snapshot' : `the latest snapshot covers offsets below ${snapshot.upto} only`
      this.#emitError(new YjsGapError(gap, `updates ${gap.from}..${gap.to - 1} of ${gap.topic}/${gap.partition} expired before this client read them and ${covered}: edits in them are missing here`))
    } catch (error) {
      if (!this.#isDestroyed()) this.#emitError(error)
    }
  }

  #checkSynced(): void {
    if (this.#synced || this.#syncTarget === null) return
    const position = this.#sub?.position(0) ?? null
    if (position === null || position < this.#syncTarget) return
    this.#synced = true
    this.#resolveSynced()
    for (const listener of [...this.#listeners.synced]) this.#call(() => listener(true))
  }

  #maybeSnapshot(): void {
    const due = this.#snapshotDue
    const position = this.#sub?.position(0) ?? null
    if (due === null || position === null || position < due || this.#snapshotting || this.#isDestroyed()) return
    // Pending local updates after an uncovered gap: wait until they are acknowledged (#setUnsynced calls back).
    if (this.#logIncomplete && this.#producer.pending().records > 0) return
    this.#snapshotDue = null
    this.#snapshotting = true
    this.snapshot()
      .catch((e: unknown) => {
        if (!this.#isDestroyed() && !isClientClosed(e)) this.#emitError(e)
      })
      .finally(() => (this.#snapshotting = false))
  }

  #schedulePersist(): void {
    if (this.#docStore === null || this.#persistTimer !== null || this.#isDestroyed()) return
    this.#persistTimer = setTimeout(() => {
      this.#persistTimer = null
      void this.#persist()
    }, this.#persistDelayMs)
  }

  /** Stores the log state with the position it covers, then commits that position. One at a time. */
  #persist(): Promise<void> {
    this.#persisting = this.#persisting.then(async () => {
      const store = this.#docStore
      const sub = this.#sub
      const position = sub?.position(0) ?? null
      if (store === null || sub === null || position === null) return
      // Taken together, synchronously: the updates read so far are exactly the records below `position`.
      const updates = this.#log.takeUnpersisted()
      try {
        await store.merge(this.id, this.topic, updates, position)
      } catch (error) {
        this.#log.restore(updates)
        return this.#emitError(error)
      }
      await sub.commit({ partition: 0, offset: position }).catch((e: unknown) => this.#emitError(e))
    })
    return this.#persisting
  }

  #ephemeralProducer(): Producer {
    this.#ephemeral ??= this.#client.producer({ idempotent: false })
    return this.#ephemeral
  }

  /**
   * Runs fn until it succeeds, waiting out retriable errors. A topic another client is creating right now answers
   * TOPIC_ALREADY_EXISTS before it is visible, so UNKNOWN_TOPIC_OR_PARTITION is retried a few times too when this
   * provider creates its topics.
   */
  async #retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn()
      } catch (error) {
        const creating = (this.#opts.createTopics ?? true) && attempt < 6 && (error as { errorName?: unknown })?.errorName === 'UNKNOWN_TOPIC_OR_PARTITION'
        if (this.#isDestroyed() || !(isRetriable(error) || creating)) throw error
        await this.#sleep(Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt))
        if (this.#isDestroyed()) throw error
      }
    }
  }

  /** Waits ms; destroy() ends the wait early. */
  #sleep(ms: number): Promise<void> {
    if (this.#isDestroyed()) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer)
        resolve()
      }, ms)
      this.#timers.set(timer, resolve)
    })
  }

  #setUnsynced(records: number): void {
    if (records === this.#unsynced) return
    this.#unsynced = records
    for (const listener of [...this.#listeners['unsynced-changes']]) this.#call(() => listener(records))
    if (records === 0) this.#maybeSnapshot()
  }

  #emitError(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error))
    for (const listener of [...this.#listeners.error]) this.#call(() => listener(e))
  }

  #call(fn: () => void): void {
    try {
      fn()
    } catch {
      // A throwing listener must not break syncing or the other listeners.
    }
  }

  #isDestroyed(): boolean {
    return this.#destroyed !== null
  }
}
