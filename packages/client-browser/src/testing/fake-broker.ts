/**
 * @module An in-process fake broker for client tests: a real `ws` WebSocketServer on port 0 speaking Samsa's protocol
 * with the shared codecs. It assigns offsets, keeps per-partition batches, honours subscription credit, and has
 * hooks to inject errors and drop connections. It carries no idempotent-producer rule (every produce is appended,
 * a resend too): tests about dedupe, sequences or exactly-once run on the real broker core in-process
 * (test/support/core-broker.ts). Test-only (imports `ws`).
 */
import {
  ApiKeys,
  ByteReader,
  ByteWriter,
  FRAME_HEADER_BYTES,
  MAX_PROTOCOL_VERSION,
  MIN_PROTOCOL_VERSION,
  ProtocolError,
  RecordTooLargeError,
  SamsaError,
  apiKeyName,
  encodeErrorFrame,
  ErrorMessages,
  encodePushEnded,
  encodePushRecords,
  encodeResponseFrame,
  exchangeByApiKey,
  readFrameHeader,
  topicNameProblem,
  verifyBatch,
  type ErrorName,
  type FrameHeader,
} from '@samsa/shared'
import { WebSocketServer, type WebSocket } from 'ws'
import { FakePartitionLog } from './fake-partition-log.js'

export interface FakeBrokerOptions {
  readonly maxFrameBytes?: number
  readonly maxBatchBytes?: number
  readonly maxRecordBytes?: number
  readonly maxSubscriptions?: number
  readonly brokerId?: number
}

/** One push as sent, for flow-control assertions. */
export interface PushRecord {
  readonly subscriptionId: number
  readonly bytes: number
  /** Credit left just before this push was sent; the broker only pushes while it is positive. */
  readonly creditBefore: number
}

interface FakeSubscription {
  readonly id: number
  readonly session: FakeSession
  readonly topic: string
  readonly partition: number
  /** The next offset to push. */
  nextOffset: number
  /** Bytes the client still allows; pushes stop when ≤ 0. */
  credit: number
}

interface FakeSession {
  readonly socket: WebSocket
  /** 0 until hello succeeds; then the agreed version. */
  version: number
  readonly subscriptions: Map<number, FakeSubscription>
}

export class FakeBroker {
  readonly #wss: WebSocketServer
  readonly #opts: Required<FakeBrokerOptions>
  readonly #topics = new Map<string, FakePartitionLog[]>()
  readonly #sessions = new Set<FakeSession>()
  readonly #injected = new Map<number, SamsaError[]>()
  readonly #dropOn = new Map<number, number>()
  #nextSubscriptionId = 1
  #nextProducerId = 1000
  /** Every push sent, in order. */
  readonly pushes: PushRecord[] = []
  /** Every request received (after hello), by api key name, in order. */
  readonly requests: { apiKey: string; body: unknown }[] = []
  /** Connections accepted so far. */
  connectionCount = 0
  /** Api keys whose requests are received (and recorded) but never answered, e.g. PING to simulate a half-open socket. */
  readonly unanswered = new Set<number>()
  /** While true, every new connection is terminated on arrival (the broker looks unreachable). */
  unreachable = false
  /**
   * Scripted answers by api key, for exchanges the fake broker has no logic of (the consumer-group ones): the
   * function returns the response body or throws a SamsaError. The test owns what it answers.
   */
  readonly scripted = new Map<number, (body: unknown) => unknown>()
  /** Called synchronously when a produce request arrives, before it is handled (e.g. to check the client's outbox). */
  onProduce: ((request: { topic: string; partition: number; batch: Uint8Array }) => void) | null = null

  private constructor(wss: WebSocketServer, opts: FakeBrokerOptions) {
    this.#wss = wss
    this.#opts = {
      maxFrameBytes: opts.maxFrameBytes ?? 8 * 1024 * 1024,
      maxBatchBytes: opts.maxBatchBytes ?? 1024 * 1024,
      maxRecordBytes: opts.maxRecordBytes ?? 1024 * 1024,
      maxSubscriptions: opts.maxSubscriptions ?? 1000,
      brokerId: opts.brokerId ?? 1,
    }
    wss.on('connection', (socket) => this.#accept(socket))
  }

  static async start(opts: FakeBrokerOptions = {}): Promise<FakeBroker> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' })
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve)
      wss.once('error', reject)
    })
    return new FakeBroker(wss, opts)
  }

  /** The base URL clients are given (`ws://127.0.0.1:<port>`). */
  get url(): string {
    const address = this.#wss.address()
    if (address === null || typeof address === 'string') throw new Error('the fake broker is not listening on TCP')
    return `ws://127.0.0.1:${address.port}`
  }

  get openConnections(): number {
    return this.#sessions.size
  }

  createTopic(name: string, partitions: number): void {
    this.#topics.set(name, Array.from({ length: partitions }, () => new FakePartitionLog()))
  }

  partition(topic: string, partition: number): FakePartitionLog {
    const log = this.#topics.get(topic)?.[partition]
    if (log === undefined) throw new Error(`no partition ${topic}/${partition}`)
    return log
  }

  /** Retention: drops the partition's whole batches below offset (raising logStartOffset); live subscriptions are unaffected. */
  truncateBefore(topic: string, partition: number, offset: number): void {
    this.partition(topic, partition).truncateBefore(offset)
  }

  /** A lost tail: drops the partition's batches from offset on (lowering logEndOffset); new records reuse those offsets. */
  truncateAfter(topic: string, partition: number, offset: number): void {
    this.partition(topic, partition).truncateAfter(offset)
  }

  /**
   * A new leader for the partition (the same fake broker, at the next leader epoch): metadata names the new epoch,
   * batches appended from now on carry it, and the partition's subscriptions end with NOT_LEADER_OR_FOLLOWER.
   */
  newLeaderEpoch(topic: string, partition: number): void {
    this.partition(topic, partition).leaderEpoch++
    this.endSubscriptions(topic, partition, new SamsaError('NOT_LEADER_OR_FOLLOWER', `${topic}/${partition} has a new leader epoch`))
  }

  /** The next `times` requests with this api key get `error` instead of being handled. */
  failNext(apiKey: number, error: ErrorName | SamsaError, times = 1): void {
    const list = this.#injected.get(apiKey) ?? []
    for (let i = 0; i < times; i++) list.push(typeof error === 'string' ? new SamsaError(error) : error)
    this.#injected.set(apiKey, list)
  }

  /** The next `times` requests with this api key are not handled: the socket is terminated on arrival. */
  dropOnNext(apiKey: number, times = 1): void {
    this.#dropOn.set(apiKey, (this.#dropOn.get(apiKey) ?? 0) + times)
  }

  /** Terminates every client socket abruptly (no close frame). */
  dropConnections(): void {
    for (const s of this.#sessions) s.socket.terminate()
  }

  /** Ends every subscription of a partition with `error` (a push of kind ended). */
  endSubscriptions(topic: string, partition: number, error: SamsaError): void {
    for (const session of this.#sessions) {
      for (const sub of [...session.subscriptions.values()]) {
        if (sub.topic !== topic || sub.partition !== partition) continue
        session.subscriptions.delete(sub.id)
        session.socket.send(encodePushEnded(session.version, sub.id, error))
      }
    }
  }

  async close(): Promise<void> {
    for (const s of this.#sessions) s.socket.terminate()
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()))
  }

  #accept(socket: WebSocket): void {
    this.connectionCount++
    if (this.unreachable) return void socket.terminate()
    const session: FakeSession = { socket, version: 0, subscriptions: new Map() }
    this.#sessions.add(session)
    socket.on('close', () => this.#sessions.delete(session))
    socket.on('message', (data, isBinary) => {
      if (!isBinary) return socket.close(1003, 'binary frames only')
      const buf = data as Buffer
      this.#handle(session, new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength))
    })
  }

  #handle(session: FakeSession, bytes: Uint8Array): void {
    let header: FrameHeader
    try {
      header = readFrameHeader(bytes)
    } catch {
      return session.socket.close(1002, 'bad frame')
    }
    const exchange = exchangeByApiKey.get(header.apiKey)
    if (exchange === undefined) return this.#fail(session, header, new SamsaError('UNKNOWN_API_KEY'))
    let body: unknown
    try {
      body = exchange.decodeRequest(new ByteReader(bytes, FRAME_HEADER_BYTES))
    } catch (error) {
      if (error instanceof ProtocolError) return session.socket.close(1002, error.message.slice(0, 100))
      throw error
    }
    if (session.version === 0 && header.apiKey !== ApiKeys.HELLO) return this.#fail(session, header, new SamsaError('HELLO_REQUIRED'))
    if (header.apiKey !== ApiKeys.HELLO) this.requests.push({ apiKey: apiKeyName(header.apiKey), body })
    if (header.apiKey === ApiKeys.PRODUCE) this.onProduce?.(body as { topic: string; partition: number; batch: Uint8Array })
    if (this.unanswered.has(header.apiKey)) return
    const drops = this.#dropOn.get(header.apiKey) ?? 0
    if (drops > 0) {
      this.#dropOn.set(header.apiKey, drops - 1)
      return session.socket.terminate()
    }
    const injected = this.#injected.get(header.apiKey)?.shift()
    if (injected !== undefined) return this.#fail(session, header, injected)
    try {
      const response = this.#respond(session, header, body)
      if (response !== undefined && session.socket.readyState === session.socket.OPEN) {
        session.socket.send(encodeResponseFrame(exchange, session.version, header.correlationId, response.value))
        response.after?.()
      }
    } catch (error) {
      if (!(error instanceof SamsaError)) throw error
      this.#fail(session, header, error)
    }
  }

  #fail(session: FakeSession, header: FrameHeader, error: SamsaError): void {
    session.socket.send(encodeErrorFrame(header.apiKey, session.version, header.correlationId, error))
  }

  #log(topic: string, partition: number): FakePartitionLog {
    const logs = this.#topics.get(topic)
    if (logs === undefined) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', ErrorMessages.unknownTopic(topic))
    const log = logs[partition]
    if (log === undefined) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', ErrorMessages.unknownPartition(topic, logs.length, partition))
    return log
  }

  /** Returns the response body (undefined = no response), and work to do after it is sent. */
  #respond(session: FakeSession, header: FrameHeader, body: unknown): { value: unknown; after?: () => void } | undefined {
    const q = body as Record<string, never>
    const script = this.scripted.get(header.apiKey)
    if (script !== undefined) return { value: script(body) }
    switch (header.apiKey) {
      case ApiKeys.HELLO: {
        const req = body as { minVersion: number; maxVersion: number }
        const version = Math.min(MAX_PROTOCOL_VERSION, req.maxVersion)
        if (version < Math.max(MIN_PROTOCOL_VERSION, req.minVersion)) throw new SamsaError('UNSUPPORTED_VERSION')
        session.version = version
        const o = this.#opts
        return { value: { version, brokerId: o.brokerId, clusterId: 'fake', maxFrameBytes: o.maxFrameBytes, maxBatchBytes: o.maxBatchBytes, maxRecordBytes: o.maxRecordBytes, maxSubscriptions: o.maxSubscriptions } }
      }
      case ApiKeys.METADATA: {
        const names = (body as { topics: string[] | null }).topics ?? [...this.#topics.keys()]
        const topics = names.map((name) => {
          const logs = this.#topics.get(name)
          if (logs === undefined) return { name, errorCode: 3, partitions: [] }
          const partitions = logs.map((l, partition) => ({ partition, leader: this.#opts.brokerId, leaderEpoch: l.leaderEpoch, logStartOffset: l.logStartOffset, highWatermark: l.logEndOffset, logEndOffset: l.logEndOffset }))
          return { name, errorCode: 0, partitions }
        })
        return { value: { brokers: [{ brokerId: this.#opts.brokerId, url: this.url }], topics } }
      }
      case ApiKeys.CREATE_TOPIC: {
        const { name, partitions } = body as { name: string; partitions: number }
        const problem = topicNameProblem(name)
        if (problem !== null) throw new SamsaError('INVALID_TOPIC_EXCEPTION', problem)
        if (this.#topics.has(name)) throw new SamsaError('TOPIC_ALREADY_EXISTS', ErrorMessages.topicExists(name))
        if (partitions < 1 || partitions > 1000) throw new SamsaError('INVALID_PARTITIONS')
        this.createTopic(name, partitions)
        return { value: { name, partitions } }
      }
      case ApiKeys.DELETE_TOPIC: {
        const { name } = body as { name: string }
        const logs = this.#topics.get(name)
        if (logs === undefined) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', ErrorMessages.unknownTopic(name))
        logs.forEach((_, p) => this.endSubscriptions(name, p, new SamsaError('TOPIC_DELETED')))
        this.#topics.delete(name)
        return { value: {} }
      }
      case ApiKeys.INIT_PRODUCER_ID: {
        const { producerId, producerEpoch } = body as { producerId: number; producerEpoch: number }
        if (producerId < 0) return { value: { producerId: this.#nextProducerId++, producerEpoch: 0 } }
        return { value: { producerId, producerEpoch: producerEpoch + 1 } }
      }
      case ApiKeys.PRODUCE:
        return this.#produce(session, body as { topic: string; partition: number; acks: number; batch: Uint8Array })
      case ApiKeys.FETCH: {
        const { topic, partition, offset, maxBytes } = body as { topic: string; partition: number; offset: number; maxBytes: number }
        const log = this.#log(topic, partition)
        if (offset < log.logStartOffset || offset > log.logEndOffset) throw this.#outOfRange(topic, partition, log, offset)
        const w = new ByteWriter()
        for (const b of log.read(offset, maxBytes)) w.raw(b.bytes)
        return { value: { highWatermark: log.logEndOffset, logStartOffset: log.logStartOffset, records: w.finish() } }
      }
      case ApiKeys.LIST_OFFSETS: {
        const { topic, partition, timestamp } = body as { topic: string; partition: number; timestamp: number }
        const log = this.#log(topic, partition)
        if (timestamp === -2) return { value: { offset: log.logStartOffset, timestamp: -1, leaderEpoch: log.leaderEpoch } }
        if (timestamp === -1) return { value: { offset: log.logEndOffset, timestamp: -1, leaderEpoch: log.leaderEpoch } }
        const found = log.offsetForTimestamp(timestamp)
        return { value: { offset: found?.offset ?? log.logEndOffset, timestamp: found?.timestamp ?? -1, leaderEpoch: log.leaderEpoch } }
      }
      case ApiKeys.OFFSET_FOR_LEADER_EPOCH: {
        const { topic, partition, currentLeaderEpoch, leaderEpoch } = body as { topic: string; partition: number; currentLeaderEpoch: number; leaderEpoch: number }
        const log = this.#log(topic, partition)
        if (currentLeaderEpoch >= 0 && currentLeaderEpoch < log.leaderEpoch) throw new SamsaError('FENCED_LEADER_EPOCH')
        if (currentLeaderEpoch > log.leaderEpoch) throw new SamsaError('UNKNOWN_LEADER_EPOCH')
        return { value: log.endOffsetFor(leaderEpoch) }
      }
      case ApiKeys.SUBSCRIBE: {
        const { topic, partition, offset, creditBytes } = body as { topic: string; partition: number; offset: number; creditBytes: number }
        const log = this.#log(topic, partition)
        const start = offset === -2 ? log.logStartOffset : offset === -1 ? log.logEndOffset : offset
        if (start < log.logStartOffset || start > log.logEndOffset) throw this.#outOfRange(topic, partition, log, start)
        if (session.subscriptions.size >= this.#opts.maxSubscriptions) throw new SamsaError('TOO_MANY_SUBSCRIPTIONS')
        const sub: FakeSubscription = { id: this.#nextSubscriptionId++, session, topic, partition, nextOffset: start, credit: creditBytes }
        session.subscriptions.set(sub.id, sub)
        const value = { subscriptionId: sub.id, offset: start, logStartOffset: log.logStartOffset, highWatermark: log.logEndOffset }
        return { value, after: () => this.#pump(sub) }
      }
      case ApiKeys.UNSUBSCRIBE: {
        const { subscriptionId } = body as { subscriptionId: number }
        if (!session.subscriptions.delete(subscriptionId)) throw new SamsaError('UNKNOWN_SUBSCRIPTION')
        return { value: {} }
      }
      case ApiKeys.CREDIT: {
        const { subscriptionId, bytes } = body as { subscriptionId: number; bytes: number }
        const sub = session.subscriptions.get(subscriptionId)
        if (sub === undefined) throw new SamsaError('UNKNOWN_SUBSCRIPTION')
        sub.credit += bytes
        return { value: {}, after: () => this.#pump(sub) }
      }
      case ApiKeys.PING:
        return { value: q }
      default:
        throw new SamsaError('UNKNOWN_API_KEY')
    }
  }

  #outOfRange(topic: string, partition: number, log: FakePartitionLog, offset: number): SamsaError {
    return new SamsaError('OFFSET_OUT_OF_RANGE', ErrorMessages.offsetOutOfRange(topic, partition, offset, log.logStartOffset, log.logEndOffset), {
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
    })
  }

  #produce(session: FakeSession, q: { topic: string; partition: number; acks: number; batch: Uint8Array }): { value: unknown; after?: () => void } | undefined {
    const log = this.#log(q.topic, q.partition)
    if (q.batch.length > this.#opts.maxBatchBytes) throw new SamsaError('MESSAGE_TOO_LARGE', `batch of ${q.batch.length} bytes exceeds maxBatchBytes`)
    try {
      verifyBatch(q.batch, 0, q.batch.length, { maxRecordBytes: this.#opts.maxRecordBytes })
    } catch (error) {
      if (error instanceof RecordTooLargeError) throw new SamsaError('MESSAGE_TOO_LARGE', error.message)
      if (error instanceof ProtocolError) throw new SamsaError('CORRUPT_MESSAGE', error.message)
      throw error
    }
    const result = log.append(q.batch)
    this.#pumpPartition(q.topic, q.partition)
    if (q.acks === 0) return undefined
    return { value: { baseOffset: result.baseOffset, logAppendTimeMs: Date.now(), logStartOffset: log.logStartOffset, duplicate: false } }
  }

  #pumpPartition(topic: string, partition: number): void {
    for (const session of this.#sessions) for (const sub of session.subscriptions.values()) if (sub.topic === topic && sub.partition === partition) this.#pump(sub)
  }

  /** Sends whole batches from sub.nextOffset while credit is positive; one push packs as many batches as the credit covers (at least one). */
  #pump(sub: FakeSubscription): void {
    const { socket } = sub.session
    const log = this.#topics.get(sub.topic)?.[sub.partition]
    while (log !== undefined && sub.credit > 0 && sub.session.subscriptions.get(sub.id) === sub && socket.readyState === socket.OPEN) {
      const batches = log.read(sub.nextOffset, sub.credit)
      if (batches.length === 0) return
      const w = new ByteWriter()
      for (const b of batches) w.raw(b.bytes)
      const frame = encodePushRecords(sub.session.version, sub.id, log.logEndOffset, log.logStartOffset, w.finish())
      this.pushes.push({ subscriptionId: sub.id, bytes: frame.length, creditBefore: sub.credit })
      sub.credit -= frame.length
      sub.nextOffset = batches[batches.length - 1]!.lastOffset + 1
      socket.send(frame)
    }
  }
}
