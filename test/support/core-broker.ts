/**
 * @module The real broker core in-process, for SDK tests about produce semantics (idempotence, sequences, dedupe,
 * exactly-once): `Broker` + `Session` over `MemoryLogStorage`, so produce goes through the real PartitionLog and
 * its producer-state rules. `CoreBroker` serves it behind a real `ws` server on port 0 (what the SDK connects to);
 * `CoreLink` feeds one Session frames directly (for tests that drive a PartitionSender without a Connection).
 * Faults are injected on the transport only (a request refused, failed with a given error, or handled and its answer
 * lost); no broker rule lives here.
 */
import {
  ApiKeys,
  ByteReader,
  FRAME_HEADER_BYTES,
  MIN_PROTOCOL_VERSION,
  SamsaError,
  apiKeyName,
  decodeRecords,
  decodeResponseFrame,
  encodeErrorFrame,
  encodeRequestFrame,
  ErrorCodes,
  exchangeByApiKey,
  exchanges,
  readFrameHeader,
  scanBatches,
  type DecodedRecord,
  type ErrorName,
  type Exchange,
} from '../../packages/shared/src/index.js'
import { WebSocketServer, type WebSocket } from 'ws'
import { Broker } from '../../packages/server/src/broker/broker.js'
import { brokerConfig, type BrokerConfigOverrides } from '../../packages/server/src/broker/broker-config.js'
import { silentLogger } from '../../packages/server/src/clock.js'
import { nodeClock } from '../../packages/server/src/adapters/node/node-clock.js'
import { MemoryLogStorage } from '../../packages/server/src/log/memory-log-storage.js'
import { Session } from '../../packages/server/src/sessions/session.js'

/** A single-node Broker over MemoryLogStorage with the real clock. */
export function startCoreBrokerCore(config: BrokerConfigOverrides = {}): Promise<Broker> {
  return Broker.start(brokerConfig(config), { storage: new MemoryLogStorage(), clock: nodeClock, logger: silentLogger })
}

/** Every record of a partition up to its high watermark, read from the broker's log. */
export async function recordsOf(broker: Broker, topic: string, partition: number): Promise<DecodedRecord[]> {
  const log = broker.partition(topic, partition)
  const out: DecodedRecord[] = []
  let offset = log.logStartOffset
  while (offset < log.highWatermark) {
    const { records } = await log.read(offset, 1024 * 1024)
    const before = offset
    for (const b of scanBatches(records)) {
      for (const r of decodeRecords(records, b.at).records) {
        if (r.offset < offset) continue
        out.push(r)
        offset = r.offset + 1
      }
    }
    if (offset === before) throw new Error(`no progress reading ${topic}/${partition} at offset ${offset}`)
  }
  return out
}

const td = new TextDecoder()
export const valuesOf = async (broker: Broker, topic: string, partition: number): Promise<string[]> =>
  (await recordsOf(broker, topic, partition)).map((r) => (r.value === null ? '' : td.decode(r.value)))

interface Conn {
  readonly socket: WebSocket
  readonly session: Session
  /** Correlation ids whose answer is lost: the socket is cut instead of sending it. */
  readonly cutOnAnswer: Set<number>
  /** Correlation ids whose answer is never sent (the connection stays). */
  readonly withheld: Set<number>
}

export class CoreBroker {
  readonly broker: Broker
  readonly #wss: WebSocketServer
  readonly #conns = new Set<Conn>()
  readonly #injected = new Map<number, SamsaError[]>()
  /** Every request received after hello, by api key name, in order. */
  readonly requests: { apiKey: string; body: unknown }[] = []
  /** Connections accepted so far. */
  connectionCount = 0
  /** While true, every new connection is terminated on arrival (the broker looks unreachable). */
  unreachable = false
  /** When > 0: the next produce is handled by the broker, then the socket is cut before its answer is sent (the answer is lost). */
  dropAfterAppend = 0
  /** Api keys whose requests are handled by the broker but whose answers are never sent (lost on the way back). */
  readonly answersLost = new Set<number>()
  /** Called synchronously when a produce request arrives, before the broker handles it (e.g. to check the client's outbox). */
  onProduce: ((request: { topic: string; partition: number; batch: Uint8Array }) => void) | null = null

  private constructor(broker: Broker, wss: WebSocketServer) {
    this.broker = broker
    this.#wss = wss
    wss.on('connection', (socket) => this.#accept(socket))
  }

  static async start(config: BrokerConfigOverrides = {}): Promise<CoreBroker> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' })
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve)
      wss.once('error', reject)
    })
    const { port } = wss.address() as { port: number }
    const broker = await startCoreBrokerCore({ ...config, advertisedUrl: `ws://127.0.0.1:${port}` })
    return new CoreBroker(broker, wss)
  }

  /** The base URL clients are given (`ws://127.0.0.1:<port>`). */
  get url(): string {
    const { port } = this.#wss.address() as { port: number }
    return `ws://127.0.0.1:${port}`
  }

  async createTopic(name: string, partitions: number): Promise<void> {
    await this.broker.createTopic(name, partitions)
  }

  records(topic: string, partition: number): Promise<DecodedRecord[]> {
    return recordsOf(this.broker, topic, partition)
  }

  values(topic: string, partition: number): Promise<string[]> {
    return valuesOf(this.broker, topic, partition)
  }

  logEndOffset(topic: string, partition: number): number {
    return this.broker.partition(topic, partition).logEndOffset
  }

  /** The next `times` requests with this api key get `error` instead of reaching the broker. */
  failNext(apiKey: number, error: ErrorName | SamsaError, times = 1): void {
    const list = this.#injected.get(apiKey) ?? []
    for (let i = 0; i < times; i++) list.push(typeof error === 'string' ? new SamsaError(ErrorCodes[error]) : error)
    this.#injected.set(apiKey, list)
  }

  /** Terminates every client socket abruptly (no close frame). */
  dropConnections(): void {
    for (const c of this.#conns) c.socket.terminate()
  }

  async close(): Promise<void> {
    this.dropConnections()
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()))
    await this.broker.shutdown()
  }

  #accept(socket: WebSocket): void {
    this.connectionCount++
    if (this.unreachable || !this.broker.tryOpenConnection()) return void socket.terminate()
    const conn: Conn = {
      socket,
      cutOnAnswer: new Set(),
      withheld: new Set(),
      session: new Session(this.broker, {
        send: (frame) => {
          const h = readFrameHeader(frame)
          if (h.apiKey !== ApiKeys.PUSH) {
            if (conn.cutOnAnswer.delete(h.correlationId)) return void socket.terminate()
            if (conn.withheld.delete(h.correlationId)) return
          }
          if (socket.readyState === socket.OPEN) socket.send(frame)
        },
        close: (code, reason) => socket.close(code, reason),
        bufferedAmount: () => socket.bufferedAmount,
        pauseReading: () => socket.pause(),
        resumeReading: () => socket.resume(),
      }),
    }
    this.#conns.add(conn)
    socket.on('message', (data, isBinary) => {
      if (!isBinary) return conn.session.onTextFrame()
      const buf = data as Buffer
      this.#onFrame(conn, new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength))
    })
    socket.once('close', () => {
      this.#conns.delete(conn)
      conn.session.onClosed()
      this.broker.connectionClosed()
    })
  }

  #onFrame(conn: Conn, frame: Uint8Array): void {
    const exchange = frame.length >= FRAME_HEADER_BYTES ? exchangeByApiKey.get(readFrameHeader(frame).apiKey) : undefined
    if (exchange === undefined || exchange.apiKey === ApiKeys.HELLO || conn.session.version === 0) return conn.session.onFrame(frame)
    const { correlationId } = readFrameHeader(frame)
    let body: unknown
    try {
      // From a copy: the broker stamps offsets into the produced batch in place, and the record is of what was sent.
      body = exchange.decodeRequest(new ByteReader(frame.slice(), FRAME_HEADER_BYTES))
    } catch {
      return conn.session.onFrame(frame) // the session answers it INVALID_REQUEST
    }
    this.requests.push({ apiKey: apiKeyName(exchange.apiKey), body })
    if (exchange.apiKey === ApiKeys.PRODUCE) this.onProduce?.(body as { topic: string; partition: number; batch: Uint8Array })
    const injected = this.#injected.get(exchange.apiKey)?.shift()
    if (injected !== undefined) return void conn.socket.send(encodeErrorFrame(exchange.apiKey, conn.session.version, correlationId, injected))
    if (exchange.apiKey === ApiKeys.PRODUCE && this.dropAfterAppend > 0) {
      this.dropAfterAppend--
      conn.cutOnAnswer.add(correlationId)
    } else if (this.answersLost.has(exchange.apiKey)) {
      conn.withheld.add(correlationId)
    }
    conn.session.onFrame(frame)
  }
}

/**
 * One client connection to a Broker without a socket: frames are encoded, handed to a real Session and its answers
 * decoded, so a request gets exactly what it would over a WebSocket. `request` resolves with the response body or
 * rejects with the broker's SamsaError, like the SDK's Connection.request.
 */
export class CoreLink {
  readonly #session: Session
  readonly #pending = new Map<number, (frame: Uint8Array) => void>()
  #nextId = 1

  private constructor(broker: Broker) {
    this.#session = new Session(broker, {
      send: (frame) => {
        const h = readFrameHeader(frame)
        if (h.apiKey === ApiKeys.PUSH) return
        this.#pending.get(h.correlationId)?.(frame)
        this.#pending.delete(h.correlationId)
      },
      close() {},
      bufferedAmount: () => 0,
      pauseReading() {},
      resumeReading() {},
    })
  }

  static async open(broker: Broker, clientId = 'core-link'): Promise<CoreLink> {
    const link = new CoreLink(broker)
    await link.#exchange(exchanges.hello, { clientId, minVersion: MIN_PROTOCOL_VERSION, maxVersion: MIN_PROTOCOL_VERSION }, MIN_PROTOCOL_VERSION)
    return link
  }

  request<Q, S>(ex: Exchange<Q, S>, req: Q): Promise<S> {
    return this.#exchange(ex, req, this.#session.version)
  }

  async #exchange<Q, S>(ex: Exchange<Q, S>, req: Q, version: number): Promise<S> {
    const id = this.#nextId++
    const frame = await new Promise<Uint8Array>((resolve) => {
      this.#pending.set(id, resolve)
      this.#session.onFrame(encodeRequestFrame(ex, version, id, req))
    })
    const r = decodeResponseFrame(frame)
    if (r.error) throw r.error
    return ex.decodeResponse(r.body!)
  }
}
