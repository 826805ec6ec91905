/**
 * @module Several "brokers" for SDK tests of leader following: each is a WebSocket endpoint on port 0 with its own
 * broker id, and all of them front ONE real broker core (Broker + Session over MemoryLogStorage), so the log,
 * offsets and the idempotent-producer duplicate rule are the product's own. What the fronts add is only leadership:
 * hello names the front's broker id; metadata lists every front and, per partition, the leader and leader epoch
 * this harness assigns; produce, fetch, subscribe and listOffsets for a partition this front does not lead answer
 * NOT_LEADER_OR_FOLLOWER; moving a leader ends the old front's subscriptions of that partition with
 * NOT_LEADER_OR_FOLLOWER (as a broker losing leadership does).
 *
 * A front can be made STALE for a partition (`believeLeader`): like a node restarted on old metadata, its metadata
 * names the belief (an older leader and epoch) and, when the belief makes it the leader while it is not, it answers
 * produce with OUT_OF_ORDER_SEQUENCE_NUMBER (the records the real leader acknowledged are missing from its log).
 */
import {
  ApiKeys, ByteReader, FRAME_HEADER_BYTES, SamsaError, decodeResponseFrame, encodeErrorFrame, encodePushEnded, encodeRequestFrame,
  encodeResponseFrame, exchangeByApiKey, exchanges, readFrameHeader, type HelloResponse, type MetadataResponse, type SubscribeResponse,
} from '@samsa/shared'
import { WebSocketServer, type WebSocket } from 'ws'
import { Broker } from '../../packages/server/src/broker/broker.js'
import { brokerConfig } from '../../packages/server/src/broker/broker-config.js'
import { silentLogger } from '../../packages/server/src/clock.js'
import { nodeClock } from '../../packages/server/src/adapters/node/node-clock.js'
import { MemoryLogStorage } from '../../packages/server/src/log/memory-log-storage.js'
import { Session } from '../../packages/server/src/sessions/session.js'

const PARTITION_BOUND = new Set<number>([ApiKeys.PRODUCE, ApiKeys.FETCH, ApiKeys.SUBSCRIBE, ApiKeys.LIST_OFFSETS])
/** Correlation ids of the fronts' own requests to a session (unsubscribes); clients count up from 1. */
let internalCorrelationId = 0x7000_0000

interface Conn {
  readonly ws: WebSocket
  readonly session: Session
  /** Requests passed to the session, by correlation id: what the response is for. */
  readonly pending: Map<number, { apiKey: number; topic?: string; partition?: number }>
  /** Live broker subscriptions of this connection: id → partition. */
  readonly subscriptions: Map<number, { topic: string; partition: number }>
  readonly internal: Set<number>
}

export class Front {
  readonly brokerId: number
  readonly #cluster: LeaderFronts
  readonly #wss: WebSocketServer
  readonly conns = new Set<Conn>()
  /** Requests received, by api key name (after hello), in order. */
  readonly requests: { apiKey: number; topic?: string; partition?: number }[] = []
  /** The next produce response of this front is lost: the socket is terminated instead (the batch was appended). */
  loseNextProduceResponse = 0
  down = false
  /** Requests answered NOT_LEADER_OR_FOLLOWER. */
  notLeaderAnswers = 0
  /** "topic/partition" → the leader and epoch this front believes in, overriding the cluster's (a stale node). */
  readonly beliefs = new Map<string, { brokerId: number; leaderEpoch: number }>()
  /** Produce requests answered OUT_OF_ORDER_SEQUENCE_NUMBER because of a stale belief. */
  staleProduceAnswers = 0
  /** Called for each request this front passes to the broker: 'before' it, and 'after' the broker has it (a leader may then move). */
  onRequest: ((request: { apiKey: number; topic?: string; partition?: number }, phase: 'before' | 'after') => void) | null = null

  constructor(brokerId: number, cluster: LeaderFronts, wss: WebSocketServer) {
    this.brokerId = brokerId
    this.#cluster = cluster
    this.#wss = wss
    wss.on('connection', (ws) => this.#accept(ws))
  }

  get url(): string {
    const a = this.#wss.address()
    if (a === null || typeof a === 'string') throw new Error('not listening')
    return `ws://127.0.0.1:${a.port}`
  }

  /** Crashes the front: every socket is terminated and new ones are refused until `up()`. */
  kill(): void {
    this.down = true
    for (const c of this.conns) c.ws.terminate()
  }

  up(): void {
    this.down = false
  }

  close(): Promise<void> {
    this.kill()
    return new Promise((resolve) => this.#wss.close(() => resolve()))
  }

  /** This front believes `belief` leads the partition (see the module comment); null: it follows the cluster again. */
  believeLeader(topic: string, partition: number, belief: { brokerId: number; leaderEpoch: number } | null): void {
    if (belief === null) this.beliefs.delete(`${topic}/${partition}`)
    else this.beliefs.set(`${topic}/${partition}`, belief)
  }

  #leaderOf(topic: string, partition: number): { brokerId: number; leaderEpoch: number } {
    return this.beliefs.get(`${topic}/${partition}`) ?? this.#cluster.leaderOf(topic, partition)
  }

  /** Ends this front's subscriptions of the partition with NOT_LEADER_OR_FOLLOWER, unsubscribing them in the broker. */
  endSubscriptions(topic: string, partition: number): void {
    for (const c of this.conns) {
      for (const [id, sub] of [...c.subscriptions]) {
        if (sub.topic !== topic || sub.partition !== partition) continue
        c.subscriptions.delete(id)
        const correlationId = internalCorrelationId++
        c.internal.add(correlationId)
        c.session.onFrame(encodeRequestFrame(exchanges.unsubscribe, c.session.version, correlationId, { subscriptionId: id }))
        c.ws.send(encodePushEnded(c.session.version, id, new SamsaError('NOT_LEADER_OR_FOLLOWER', `broker ${this.brokerId} is no longer the leader of ${topic}/${partition}`)))
      }
    }
  }

  #accept(ws: WebSocket): void {
    if (this.down) return void ws.terminate()
    const broker = this.#cluster.broker
    const conn: Conn = {
      ws,
      session: undefined as unknown as Session,
      pending: new Map(),
      subscriptions: new Map(),
      internal: new Set(),
    }
    const session = new Session(broker, {
      send: (frame) => this.#outgoing(conn, frame),
      close: (code, reason) => ws.close(code, reason),
      bufferedAmount: () => ws.bufferedAmount,
      pauseReading: () => ws.pause(),
      resumeReading: () => ws.resume(),
    })
    ;(conn as { session: Session }).session = session
    this.conns.add(conn)
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return session.onTextFrame()
      this.#incoming(conn, new Uint8Array(data as Buffer))
    })
    ws.once('close', () => {
      this.conns.delete(conn)
      session.onClosed()
    })
  }

  #incoming(conn: Conn, frame: Uint8Array): void {
    const header = readFrameHeader(frame)
    const exchange = exchangeByApiKey.get(header.apiKey)
    let about: { topic?: string; partition?: number } = {}
    if (exchange !== undefined && PARTITION_BOUND.has(header.apiKey)) {
      const body = exchange.decodeRequest(new ByteReader(frame, FRAME_HEADER_BYTES)) as { topic: string; partition: number }
      about = { topic: body.topic, partition: body.partition }
      if (header.apiKey !== ApiKeys.HELLO) this.requests.push({ apiKey: header.apiKey, ...about })
      const leader = this.#cluster.leaderOf(body.topic, body.partition)
      if (header.apiKey === ApiKeys.PRODUCE && leader.brokerId !== this.brokerId && this.#leaderOf(body.topic, body.partition).brokerId === this.brokerId) {
        this.staleProduceAnswers++
        const error = new SamsaError('OUT_OF_ORDER_SEQUENCE_NUMBER', `broker ${this.brokerId} (stale leader of ${body.topic}/${body.partition}) lacks the records broker ${leader.brokerId} acknowledged`)
        return void conn.ws.send(encodeErrorFrame(header.apiKey, conn.session.version, header.correlationId, error))
      }
      if (leader.brokerId !== this.brokerId) {
        this.notLeaderAnswers++
        const error = new SamsaError('NOT_LEADER_OR_FOLLOWER', `broker ${this.brokerId} is not the leader of ${body.topic}/${body.partition} (broker ${leader.brokerId} is)`)
        return void conn.ws.send(encodeErrorFrame(header.apiKey, conn.session.version, header.correlationId, error))
      }
    } else if (header.apiKey !== ApiKeys.HELLO) this.requests.push({ apiKey: header.apiKey })
    conn.pending.set(header.correlationId, { apiKey: header.apiKey, ...about })
    this.onRequest?.({ apiKey: header.apiKey, ...about }, 'before')
    conn.session.onFrame(frame)
    this.onRequest?.({ apiKey: header.apiKey, ...about }, 'after')
  }

  #outgoing(conn: Conn, frame: Uint8Array): void {
    const header = readFrameHeader(frame)
    if (header.apiKey === ApiKeys.PUSH) return void conn.ws.send(frame)
    if (conn.internal.delete(header.correlationId)) return
    const request = conn.pending.get(header.correlationId)
    conn.pending.delete(header.correlationId)
    const decoded = decodeResponseFrame(frame)
    if (request === undefined || decoded.error !== null) return void conn.ws.send(frame)
    const version = conn.session.version
    switch (header.apiKey) {
      case ApiKeys.HELLO: {
        const res = exchanges.hello.decodeResponse(decoded.body) as HelloResponse
        return void conn.ws.send(encodeResponseFrame(exchanges.hello, version, header.correlationId, { ...res, brokerId: this.brokerId }))
      }
      case ApiKeys.METADATA: {
        const res = exchanges.metadata.decodeResponse(decoded.body) as MetadataResponse
        const rewritten: MetadataResponse = {
          brokers: this.#cluster.fronts.map((f) => ({ brokerId: f.brokerId, url: f.url })),
          topics: res.topics.map((t) => ({ ...t, partitions: t.partitions.map((p) => {
            const { brokerId, leaderEpoch } = this.#leaderOf(t.name, p.partition)
            return { ...p, leader: brokerId, leaderEpoch }
          }) })),
        }
        return void conn.ws.send(encodeResponseFrame(exchanges.metadata, version, header.correlationId, rewritten))
      }
      case ApiKeys.SUBSCRIBE: {
        const res = exchanges.subscribe.decodeResponse(decoded.body) as SubscribeResponse
        conn.subscriptions.set(res.subscriptionId, { topic: request.topic!, partition: request.partition! })
        return void conn.ws.send(frame)
      }
      case ApiKeys.PRODUCE:
        if (this.loseNextProduceResponse > 0) {
          this.loseNextProduceResponse--
          return void conn.ws.terminate()
        }
        return void conn.ws.send(frame)
      default:
        return void conn.ws.send(frame)
    }
  }
}

export class LeaderFronts {
  readonly broker: Broker
  readonly fronts: Front[] = []
  /** "topic/partition" → leader and its epoch; a partition not listed is led by the first front at epoch 0. */
  readonly #leaders = new Map<string, { brokerId: number; leaderEpoch: number }>()

  private constructor(broker: Broker) {
    this.broker = broker
  }

  /** `count` fronts with broker ids 1..count over one real broker core. */
  static async start(count: number): Promise<LeaderFronts> {
    const broker = await Broker.start(brokerConfig({}), { storage: new MemoryLogStorage(), clock: nodeClock, logger: silentLogger })
    const cluster = new LeaderFronts(broker)
    for (let i = 1; i <= count; i++) {
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' })
      await new Promise<void>((resolve, reject) => {
        wss.once('listening', resolve)
        wss.once('error', reject)
      })
      cluster.fronts.push(new Front(i, cluster, wss))
    }
    return cluster
  }

  front(brokerId: number): Front {
    const f = this.fronts.find((x) => x.brokerId === brokerId)
    if (f === undefined) throw new Error(`no front ${brokerId}`)
    return f
  }

  leaderOf(topic: string, partition: number): { brokerId: number; leaderEpoch: number } {
    return this.#leaders.get(`${topic}/${partition}`) ?? { brokerId: this.fronts[0]!.brokerId, leaderEpoch: 0 }
  }

  /** Makes `brokerId` the partition's leader at the next leader epoch; the old leader's subscriptions of it end. */
  moveLeader(topic: string, partition: number, brokerId: number): void {
    const old = this.leaderOf(topic, partition)
    this.#leaders.set(`${topic}/${partition}`, { brokerId, leaderEpoch: old.leaderEpoch + 1 })
    this.front(old.brokerId).endSubscriptions(topic, partition)
  }

  async close(): Promise<void> {
    await Promise.all(this.fronts.map((f) => f.close()))
    await this.broker.shutdown()
  }
}
