/**
 * @module A subscription handle over one topic: per partition it subscribes from a position, delivers records in
 * offset order, grants credit as the application consumes (so unconsumed records never exceed the credit window),
 * and after a reconnect re-subscribes from the offset after the last delivered record. Iterate it with `for await`
 * or give it a callback, not both.
 */
import { Fifo } from './fifo.js'
import { PUSH_RECORDS_OVERHEAD, SamsaError, credit, decodeRecords, scanBatches, subscribe, unsubscribe, verifyBatch, type Push } from '@samsa/shared'
import type { Connection } from '../connection/connection.js'
import { backoffDelayMs, type BackoffPolicy } from '../connection/backoff.js'
import type { MetadataCache } from '../metadata/metadata-cache.js'
import type { Clock, Logger, Random } from '../ports.js'
import { ConsumerRecord } from './consumer-record.js'
import type { PushRouter } from './push-router.js'

export type StartFrom = 'earliest' | 'latest' | { readonly offset: number } | Readonly<Record<number, number>>

export interface SubscribeOptions {
  /** Default 'latest'. A Record maps partition → offset and, without `partitions`, also names the partitions. */
  readonly from?: StartFrom
  /** Default: every partition of the topic. */
  readonly partitions?: readonly number[]
  /** Callback style; the same as calling onRecord. A returned promise is awaited before the next record. */
  readonly onRecord?: (record: ConsumerRecord) => void | Promise<void>
  /** Bytes of pushes the broker may send ahead of consumption, per partition. Default 256 KiB. */
  readonly creditWindowBytes?: number
}

export interface SubscriptionDeps {
  readonly conn: Connection
  readonly router: PushRouter
  readonly metadata: MetadataCache
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
  readonly retryBackoff: BackoffPolicy
}

interface PartitionState {
  readonly partition: number
  /** The offset of the first subscribe: −2 earliest, −1 latest, or exact. */
  readonly start: number
  /** Offset after the last record delivered to the application; null until the broker resolves the start. */
  position: number | null
  /** Next offset expected from pushes; records below it are skipped. Always ≥ position once set. */
  nextEnqueue: number | null
  /** The broker's id for the current subscription; null while (re)subscribing or disconnected. */
  subscriptionId: number | null
  /** Incremented on every (re)subscribe; responses and pushes of older tokens are ignored. */
  token: number
  /** Bytes of pushes consumed since the last credit grant. */
  consumedBytes: number
  retries: number
}

interface Queued {
  readonly record: ConsumerRecord
  /** Push bytes released (credited back) when this record is consumed. */
  readonly creditBytes: number
}

export class Subscription implements AsyncIterable<ConsumerRecord> {
  readonly topic: string
  readonly #deps: SubscriptionDeps
  readonly #opts: SubscribeOptions
  readonly #windowBytes: number
  readonly #partitions = new Map<number, PartitionState>()
  /** Records received and not yet consumed, each partition's in offset order. */
  readonly #queue = new Fifo<Queued>()
  #mode: 'none' | 'iterator' | 'callback' = 'none'
  #callback: ((r: ConsumerRecord) => void | Promise<void>) | null = null
  #draining = false
  #wake: (() => void) | null = null
  #error: Error | null = null
  #isClosed = false
  readonly #errorListeners = new Set<(e: Error) => void>()
  readonly #unlisten: (() => void)[] = []
  #resolveClosed!: (v: void | Error) => void
  /** Settles when the subscription ends: with the error that ended it, or undefined after close(). */
  readonly closed: Promise<void | Error> = new Promise((r) => (this.#resolveClosed = r))

  constructor(topic: string, opts: SubscribeOptions, deps: SubscriptionDeps) {
    this.topic = topic
    this.#opts = opts
    this.#deps = deps
    this.#windowBytes = opts.creditWindowBytes ?? 256 * 1024
    if (opts.onRecord) this.onRecord(opts.onRecord)
    this.#unlisten.push(deps.conn.on('status', ({ previous, current }) => {
      if (current.status === 'connected' && previous.status !== 'connected') for (const p of this.#partitions.values()) this.#resubscribe(p)
      if (current.status !== 'connected') for (const p of this.#partitions.values()) p.subscriptionId = null
    }))
    void this.#start()
  }

  /** Offset after the last record delivered for the partition (the next one to deliver), or null before the start is resolved. */
  position(partition: number): number | null {
    return this.#partitions.get(partition)?.position ?? null
  }

  onRecord(callback: (record: ConsumerRecord) => void | Promise<void>): this {
    if (this.#mode === 'iterator') throw new TypeError('this subscription is being iterated; it cannot also take a callback')
    this.#mode = 'callback'
    this.#callback = callback
    this.#notify()
    return this
  }

  /** Called with the error that ends the subscription (e.g. OFFSET_OUT_OF_RANGE) and with errors thrown by the callback. */
  onError(listener: (error: Error) => void): () => void {
    this.#errorListeners.add(listener)
    return () => void this.#errorListeners.delete(listener)
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    if (this.#mode === 'callback') throw new TypeError('this subscription has a callback; it cannot also be iterated')
    this.#mode = 'iterator'
    return { next: () => this.#next(), return: async () => (this.close(), { done: true, value: undefined }) }
  }

  close(): void {
    if (this.#isClosed) return
    this.#isClosed = true
    this.#end(undefined)
  }

  async #start(): Promise<void> {
    try {
      const from = this.#opts.from ?? 'latest'
      const isMap = typeof from === 'object' && !('offset' in from)
      const partitions =
        this.#opts.partitions ?? (isMap ? Object.keys(from).map(Number) : Array.from({ length: await this.#deps.metadata.partitionCount(this.topic) }, (_, i) => i))
      for (const partition of partitions) {
        const start = from === 'earliest' ? -2 : from === 'latest' ? -1 : 'offset' in from ? (from.offset as number) : ((from as Record<number, number>)[partition] ?? -1)
        this.#partitions.set(partition, { partition, start, position: null, nextEnqueue: null, subscriptionId: null, token: 0, consumedBytes: 0, retries: 0 })
      }
      this.#deps.conn.connect()
      if (this.#deps.conn.state.status === 'connected') for (const p of this.#partitions.values()) this.#resubscribe(p)
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)))
    }
  }

  /** (Re)subscribes from the position, dropping the partition's undelivered records so nothing is delivered twice. */
  #resubscribe(p: PartitionState): void {
    if (this.#isClosed || this.#deps.conn.state.status !== 'connected') return
    const token = ++p.token
    if (p.subscriptionId !== null) this.#deps.router.unregister(p.subscriptionId)
    p.subscriptionId = null
    p.consumedBytes = 0
    p.nextEnqueue = p.position
    this.#queue.retain((q) => q.record.partition !== p.partition)
    const session = this.#deps.conn.session
    const request = { topic: this.topic, partition: p.partition, offset: p.position ?? p.start, creditBytes: this.#windowBytes }
    this.#deps.conn.request(subscribe, request).then(
      (res) => {
        if (token !== p.token || this.#isClosed) return this.#drop(res.subscriptionId)
        p.position ??= res.offset
        p.nextEnqueue = p.position
        p.subscriptionId = res.subscriptionId
        p.retries = 0
        this.#deps.router.register(session, res.subscriptionId, (push) => this.#onPush(p, token, push))
      },
      (error: unknown) => {
        if (token !== p.token || this.#isClosed) return
        this.#retryOrFail(p, error)
      },
    )
  }

  #drop(subscriptionId: number): void {
    this.#deps.router.unregister(subscriptionId)
    this.#deps.conn.request(unsubscribe, { subscriptionId }).catch(() => {})
  }

  #retryOrFail(p: PartitionState, error: unknown): void {
    const e = error instanceof SamsaError ? error : new SamsaError('UNKNOWN_SERVER_ERROR', String(error))
    if (!e.retriable) return this.#fail(e)
    if (e.errorName === 'NETWORK_EXCEPTION') return // the reconnect re-subscribes
    if (e.errorName === 'NOT_LEADER_OR_FOLLOWER') this.#deps.metadata.invalidate(this.topic)
    const token = p.token
    const delayMs = backoffDelayMs(p.retries++, this.#deps.retryBackoff, this.#deps.random)
    this.#deps.logger.debug({ topic: this.topic, partition: p.partition, error: e.errorName, delayMs }, 're-subscribing after a retriable error')
    this.#deps.clock.setTimeout(() => {
      if (token === p.token) this.#resubscribe(p)
    }, delayMs)
  }

  #onPush(p: PartitionState, token: number, push: Push): void {
    if (token !== p.token || this.#isClosed) return
    if (push.kind === 'ended') {
      this.#deps.router.unregister(push.subscriptionId)
      p.subscriptionId = null
      return this.#retryOrFail(p, push.error)
    }
    const frameBytes = PUSH_RECORDS_OVERHEAD + push.records.length
    let last: Queued | null = null
    try {
      for (const { at, header, totalBytes } of scanBatches(push.records)) {
        verifyBatch(push.records, at, at + totalBytes)
        for (const r of decodeRecords(push.records, at).records) {
          if (r.offset < p.nextEnqueue!) continue
          if (r.offset > p.nextEnqueue!) throw new SamsaError('CORRUPT_MESSAGE', `push skipped from offset ${p.nextEnqueue} to ${r.offset}`)
          const record = new ConsumerRecord({ topic: this.topic, partition: p.partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, rawHeaders: r.headers, leaderEpoch: header.partitionLeaderEpoch })
          last = { record, creditBytes: 0 }
          this.#queue.push(last)
          p.nextEnqueue = r.offset + 1
        }
      }
    } catch (error) {
      this.#deps.logger.warn({ topic: this.topic, partition: p.partition, error }, 'bad push; re-subscribing from the position')
      return this.#resubscribe(p)
    }
    if (last === null) this.#consumed(p, frameBytes)
    else this.#queue.replaceLast({ record: last.record, creditBytes: frameBytes })
    this.#notify()
  }

  /** Credits the broker once half the window has been consumed. */
  #consumed(p: PartitionState, bytes: number): void {
    p.consumedBytes += bytes
    if (p.subscriptionId === null || p.consumedBytes < this.#windowBytes / 2) return
    const grant = p.consumedBytes
    p.consumedBytes = 0
    this.#deps.conn.request(credit, { subscriptionId: p.subscriptionId, bytes: grant }).catch(() => {})
  }

  #take(): ConsumerRecord {
    const { record, creditBytes } = this.#queue.shift()!
    const p = this.#partitions.get(record.partition)!
    p.position = record.offset + 1
    if (creditBytes > 0) this.#consumed(p, creditBytes)
    return record
  }

  #notify(): void {
    const wake = this.#wake
    this.#wake = null
    wake?.()
    if (this.#mode === 'callback') void this.#drain()
  }

  async #drain(): Promise<void> {
    if (this.#draining) return
    this.#draining = true
    try {
      while (this.#queue.length > 0 && !this.#isClosed && this.#callback) {
        const record = this.#take()
        try {
          await this.#callback(record)
        } catch (error) {
          this.#emitError(error instanceof Error ? error : new Error(String(error)))
        }
      }
    } finally {
      this.#draining = false
    }
  }

  async #next(): Promise<IteratorResult<ConsumerRecord>> {
    for (;;) {
      if (this.#queue.length > 0 && !this.#isClosed) return { done: false, value: this.#take() }
      if (this.#error !== null) {
        const error = this.#error
        this.#error = null
        this.#isClosed = true
        throw error
      }
      if (this.#isClosed) return { done: true, value: undefined }
      await new Promise<void>((resolve) => (this.#wake = resolve))
    }
  }

  /** Ends the subscription with an error; an iterator still delivers what is buffered, then throws it. */
  #fail(error: Error): void {
    if (this.#isClosed || this.#error !== null) return
    this.#deps.logger.warn({ topic: this.topic, error }, 'subscription failed')
    this.#error = error
    this.#emitError(error)
    if (this.#mode !== 'iterator') this.#isClosed = true
    this.#end(error)
  }

  #emitError(error: Error): void {
    for (const listener of this.#errorListeners) {
      try {
        listener(error)
      } catch (e) {
        this.#deps.logger.error({ error: e }, 'error listener threw')
      }
    }
  }

  #end(reason: void | Error): void {
    for (const p of this.#partitions.values()) {
      p.token++
      if (p.subscriptionId !== null) this.#drop(p.subscriptionId)
      p.subscriptionId = null
    }
    for (const off of this.#unlisten.splice(0)) off()
    this.#resolveClosed(reason)
    const wake = this.#wake
    this.#wake = null
    wake?.()
  }
}
