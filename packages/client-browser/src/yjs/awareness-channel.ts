/**
 * @module Awareness (y-protocols) over an ephemeral topic: this client's awareness state goes out as a record on
 * every change and every `timeoutMs / 2` (a renewal), remote states come in from the topic, and a peer whose state
 * was not renewed within `timeoutMs` is removed (it vanished without saying goodbye). A new client starts reading at
 * the first record of the last `timeoutMs` (by timestamp), so it sees the peers online now without replaying the
 * whole topic. This client's state is withdrawn (set to null, and so sent) when the page is hidden for good
 * (`pagehide`), and by `close()`.
 */
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness'
import type { SamsaClient } from '../client.js'
import type { ConsumerRecord } from '../consumer/consumer-record.js'
import type { Subscription } from '../consumer/subscription.js'
import type { Producer } from '../producer/producer.js'
import type { ProviderRetries } from './provider-retries.js'
import { YjsHeaders, ensureTopic, isClientClosed, isRetriable, recordKind } from './records.js'

export interface AwarenessChannelDeps {
  readonly client: SamsaClient
  readonly topic: string
  readonly session: string
  readonly timeoutMs: number
  /** The transaction origin of remote awareness updates (the provider). */
  readonly origin: unknown
  readonly producer: () => Producer
  readonly onError: (error: Error) => void
}

interface AwarenessChange {
  readonly added: number[]
  readonly updated: number[]
  readonly removed: number[]
}

export class AwarenessChannel {
  readonly awareness: Awareness
  readonly #deps: AwarenessChannelDeps
  #sub: Subscription | null = null
  #started = false
  #closed = false
  /** A local change happened before the topic was ready: the current state goes out once it is. */
  #unsent = false
  readonly #checkTimer: ReturnType<typeof setInterval>
  /** Sends not yet settled (close() waits for the goodbye). */
  readonly #sending = new Set<Promise<unknown>>()
  readonly #pagehide = () => this.awareness.setLocalState(null)

  constructor(awareness: Awareness, deps: AwarenessChannelDeps) {
    this.awareness = awareness
    this.#deps = deps
    awareness.on('update', this.#onUpdate)
    this.#checkTimer = setInterval(() => this.#check(), Math.max(50, Math.floor(deps.timeoutMs / 10)))
    if (typeof globalThis.addEventListener === 'function') globalThis.addEventListener('pagehide', this.#pagehide)
  }

  /** Creates the topic (unless told not to), then starts reading it, waiting out retriable errors; other errors go to onError unless stopped. */
  async open(opts: { readonly createTopic: boolean; readonly retries: ProviderRetries; readonly signal: AbortSignal; stopped(): boolean }): Promise<void> {
    const { retries, signal } = opts
    try {
      if (opts.createTopic) await retries.retrying(() => ensureTopic(this.#deps.client, this.#deps.topic))
      await retries.retrying(() => this.start(signal))
    } catch (error) {
      if (!opts.stopped()) this.#deps.onError(error instanceof Error ? error : new Error(String(error)))
    }
  }

  /** Starts reading the topic at the records of the last timeoutMs; the caller has created the topic. */
  async start(signal: AbortSignal): Promise<void> {
    const { client, topic, timeoutMs } = this.#deps
    const { offset } = await client.admin.listOffsets(topic, 0, { timestamp: Math.max(0, Date.now() - timeoutMs) })
    if (this.#closed || signal.aborted) return
    const sub = client.consumer().subscribe(topic, { partitions: [0], from: { offset }, reset: 'earliest', onRecord: (r) => this.#onRecord(r), signal })
    sub.onError((e) => this.#deps.onError(e))
    this.#sub = sub
    this.#started = true
    if (this.#unsent || this.awareness.getLocalState() !== null) this.#sendLocal()
  }

  /**
   * Says goodbye (local state null, sent), stops the timer and the subscription. Resolves once the goodbye is
   * acknowledged, or at once while disconnected, or after `waitMs` (the goodbye stays queued in the producer).
   */
  async close(waitMs: number): Promise<void> {
    if (this.#closed) return
    if (typeof globalThis.removeEventListener === 'function') globalThis.removeEventListener('pagehide', this.#pagehide)
    if (this.awareness.getLocalState() !== null) this.awareness.setLocalState(null)
    this.#closed = true
    this.awareness.off('update', this.#onUpdate)
    clearInterval(this.#checkTimer)
    this.#sub?.close()
    if (this.#deps.client.state.status === 'connected') {
      let timer: ReturnType<typeof setTimeout> | undefined
      const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))
      await Promise.race([Promise.allSettled([...this.#sending]), bound])
      clearTimeout(timer)
    }
    await this.#sub?.closed
  }

  #onRecord(r: ConsumerRecord): void {
    if (this.#closed || r.value === null || recordKind(r) !== 'awareness' || r.headers[YjsHeaders.session] === this.#deps.session) return
    try {
      applyAwarenessUpdate(this.awareness, r.value, this.#deps.origin)
    } catch (error) {
      this.#deps.onError(new Error(`record ${r.topic}/${r.partition}@${r.offset} is not an awareness update: ${String(error)}`, { cause: error }))
    }
  }

  readonly #onUpdate = ({ added, updated, removed }: AwarenessChange, origin: unknown): void => {
    if (origin === this.#deps.origin) return
    const me = this.awareness.clientID
    if (!added.includes(me) && !updated.includes(me) && !removed.includes(me)) return
    this.#sendLocal()
  }

  #sendLocal(): void {
    if (!this.#started) {
      this.#unsent = true
      return
    }
    this.#unsent = false
    const { topic, session } = this.#deps
    const value = encodeAwarenessUpdate(this.awareness, [this.awareness.clientID])
    const sent = this.#deps
      .producer()
      .send(topic, [{ partition: 0, value, headers: { [YjsHeaders.kind]: 'awareness', [YjsHeaders.session]: session } }])
      .catch((e: unknown) => {
        // Presence is ephemeral: a state that could not be sent is superseded by the next renewal.
        if (!isClientClosed(e) && !isRetriable(e)) this.#deps.onError(e instanceof Error ? e : new Error(String(e)))
      })
    this.#sending.add(sent)
    void sent.then(() => this.#sending.delete(sent))
  }

  /** Renews the local state at half the timeout, removes remote states not renewed within it. */
  #check(): void {
    const { awareness } = this
    const now = Date.now()
    const { timeoutMs } = this.#deps
    const mine = awareness.meta.get(awareness.clientID)
    if (awareness.getLocalState() !== null && mine !== undefined && now - mine.lastUpdated >= timeoutMs / 2) awareness.setLocalState(awareness.getLocalState())
    const stale: number[] = []
    for (const [clientId, meta] of awareness.meta) {
      if (clientId !== awareness.clientID && awareness.states.has(clientId) && now - meta.lastUpdated >= timeoutMs) stale.push(clientId)
    }
    if (stale.length > 0) removeAwarenessStates(awareness, stale, 'timeout')
  }
}
