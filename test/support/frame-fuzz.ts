/**
 * @module Seeded frame fuzzing: a generator of client frames (well-formed requests of every exchange with hostile
 * values, hello and reauthenticate among them with garbage, expired, foreign-signed and other principals' tokens;
 * mutations of them, random bodies behind valid headers, short frames, text frames) and a runner that sends them
 * over real WebSockets as an authenticated principal, reconnecting whenever the broker closes a connection, with a
 * ping round trip every window so the broker is known to be answering throughout. Between windows it also opens
 * fresh connections whose first hello carries a token the broker must refuse, with a generated frame pipelined
 * behind it, and records what the broker did. The same seed gives the same frames.
 */
import WebSocket from 'ws'
import {
  ApiKeys, MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, decodeResponseFrame, encodeRecordBatch, encodeRequestFrame, exchanges, readFrameHeader,
  type Exchange,
} from '../../packages/shared/src/index.js'
import { seededRandom } from '../../packages/client-browser/src/testing/manual-clock.js'

export interface FuzzTargets {
  /** Topic names worth hitting (allowed, refused, near-misses); random names are added. */
  readonly topics: readonly string[]
  /** Producer ids worth presenting (another principal's, its base, the fuzzer's own). */
  readonly producerIds: readonly number[]
  /** Tokens for hello and reauthenticate frames on an authenticated connection (the fuzzer's own, another principal's, refused ones). */
  readonly tokens: readonly string[]
  /** Tokens a first hello must be refused with (garbage, expired, not yet valid, foreign-signed, alg none, tampered). */
  readonly refusedTokens: readonly string[]
  /** Topics a refused connection's pipelined produce goes to (their end offsets are checked afterwards). */
  readonly guardedTopics: readonly string[]
}

export type FuzzFrame = { readonly kind: 'binary'; readonly bytes: Uint8Array } | { readonly kind: 'text' }

export class FrameGenerator {
  readonly #r: () => number
  readonly #t: FuzzTargets
  #correlationId = 1

  constructor(seed: number, targets: FuzzTargets) {
    this.#r = seededRandom(seed)
    this.#t = targets
  }

  #int(n: number): number {
    return Math.floor(this.#r() * n)
  }
  #pick<T>(xs: readonly T[]): T {
    return xs[this.#int(xs.length)]!
  }
  #chance(p: number): boolean {
    return this.#r() < p
  }
  /** Flips one random bit of byte `at`. */
  #flip(bytes: Uint8Array, at: number): void {
    bytes[at] = (bytes[at] ?? 0) ^ (1 << this.#int(8))
  }
  #bytes(n: number): Uint8Array {
    const b = new Uint8Array(n)
    for (let i = 0; i < n; i++) b[i] = this.#int(256)
    return b
  }
  /** An integer from the edges of the i32/i64 ranges, small values, or anything. */
  #num(): number {
    return this.#pick([0, 1, -1, 2, 7, 1000, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, this.#int(100), this.#int(2 ** 31), -this.#int(2 ** 31)])
  }
  #string(): string {
    return this.#pick(['', 'x', '*', '.', '..', 'fz.', 'fz.*', '\u0000', 'é', '🙂', 'a'.repeat(249), 'a'.repeat(250), 'a'.repeat(3000), String(this.#num())])
  }
  #topic(): string {
    return this.#chance(0.85) ? this.#pick(this.#t.topics) : this.#string()
  }
  /** A known token (valid or not) or a hostile string. */
  #token(): string {
    return this.#chance(0.85) ? this.#pick(this.#t.tokens) : this.#string()
  }
  #partition(): number {
    return this.#chance(0.8) ? this.#int(2) : this.#num()
  }
  #batch(): Uint8Array {
    if (this.#chance(0.15)) return this.#bytes(this.#int(120))
    const producerId = this.#chance(0.7) ? this.#pick(this.#t.producerIds) : this.#num()
    const records = Array.from({ length: 1 + this.#int(3) }, (_, i) => ({
      key: this.#chance(0.5) ? null : this.#bytes(this.#int(8)),
      value: this.#bytes(this.#int(64)),
      headers: [],
      timestamp: 1_700_000_000_000 + i,
    }))
    let batch: Uint8Array
    try {
      batch = encodeRecordBatch({ records, producerId, producerEpoch: this.#chance(0.8) ? this.#int(3) : this.#num() & 0x7fff, baseSequence: this.#chance(0.8) ? this.#int(5) : this.#num() & 0x7fffffff })
    } catch {
      batch = encodeRecordBatch({ records })
    }
    if (this.#chance(0.2)) this.#flip(batch, this.#int(batch.length))
    return batch
  }

  /** A well-formed request of `name` with hostile values. */
  #request(name: keyof typeof exchanges): unknown {
    switch (name) {
      case 'hello': return { clientId: this.#string(), minVersion: this.#num() & 0xffff, maxVersion: this.#num() & 0xffff, ...(this.#chance(0.6) ? { token: this.#token() } : {}), ...(this.#chance(0.3) ? { peer: { nodeId: this.#num() & 0x7fffffff, clusterId: this.#pick(['samsa-local', this.#string()]) } } : {}) }
      case 'reauthenticate': return { token: this.#token() }
      case 'metadata': return { topics: this.#chance(0.3) ? null : Array.from({ length: this.#int(4) }, () => this.#topic()), ...(this.#chance(0.1) ? { wait: { maxWaitMs: this.#int(50), leaderEpochs: [] } } : {}) }
      case 'createTopic': return { name: this.#topic(), partitions: this.#chance(0.7) ? 1 + this.#int(3) : this.#num(), ...(this.#chance(0.3) ? { replicationFactor: this.#num() & 0x7fff } : {}) }
      case 'deleteTopic': return { name: this.#topic() }
      case 'initProducerId': return { producerId: this.#chance(0.5) ? -1 : this.#pick(this.#t.producerIds), producerEpoch: this.#chance(0.7) ? this.#int(3) : this.#num() & 0x7fff }
      case 'produce': return { topic: this.#topic(), partition: this.#partition(), acks: this.#pick([-1, 0, 1, 2, -2]), timeoutMs: this.#int(2000), batch: this.#batch() }
      case 'fetch': return { topic: this.#topic(), partition: this.#partition(), offset: this.#chance(0.7) ? this.#int(10) : this.#num(), maxBytes: this.#num() & 0x7fffffff, maxWaitMs: this.#int(30), minBytes: this.#int(100), ...(this.#chance(0.1) ? { replicaId: this.#num() & 0x7fffffff, currentLeaderEpoch: -1 } : {}) }
      case 'listOffsets': return { topic: this.#topic(), partition: this.#partition(), timestamp: this.#pick([-1, -2, 0, 1_700_000_000_000, this.#num()]) }
      case 'subscribe': return { topic: this.#topic(), partition: this.#partition(), offset: this.#chance(0.7) ? this.#int(10) : this.#num(), creditBytes: this.#num() & 0x7fffffff }
      case 'unsubscribe': return { subscriptionId: this.#int(50) }
      case 'credit': return { subscriptionId: this.#int(50), bytes: this.#num() & 0x7fffffff }
      case 'ping': return {}
      case 'offsetForLeaderEpoch': return { topic: this.#topic(), partition: this.#partition(), replicaId: this.#pick([-1, -1, 1, this.#num() & 0x7fffffff]), currentLeaderEpoch: this.#int(3) - 1, leaderEpoch: this.#int(3) }
      case 'brokerRegistration': return { brokerId: this.#num() & 0x7fffffff, clusterId: 'samsa-local', advertisedUrl: 'ws://x:1', rack: null, previousBrokerEpoch: -1, incompleteReplicas: [] }
      case 'brokerHeartbeat': return { brokerId: this.#num() & 0x7fffffff, brokerEpoch: this.#num(), metadataOffset: this.#num(), wantShutDown: this.#chance(0.5), incompleteReplicas: [] }
      case 'allocateProducerIds': return { brokerId: this.#num() & 0x7fffffff, brokerEpoch: this.#num() }
      case 'alterPartition': return { brokerId: this.#num() & 0x7fffffff, brokerEpoch: this.#num(), topic: this.#topic(), partition: this.#partition(), leaderEpoch: this.#int(3), partitionEpoch: this.#int(3), newIsr: [this.#num() & 0x7fffffff] }
      case 'fetchMetadata': return { afterOffset: this.#num(), knownLeaderId: this.#num() & 0x7fffffff, maxWaitMs: this.#int(30) }
    }
  }

  #encode(version: number): Uint8Array {
    const names = Object.keys(exchanges) as (keyof typeof exchanges)[]
    // Mostly the exchanges that touch topics and producer ids.
    const name = this.#chance(0.6) ? this.#pick(['produce', 'produce', 'fetch', 'subscribe', 'metadata', 'createTopic', 'deleteTopic', 'initProducerId', 'listOffsets', 'offsetForLeaderEpoch', 'hello', 'reauthenticate'] as const) : this.#pick(names)
    const exchange = exchanges[name] as Exchange<unknown, unknown>
    try {
      return encodeRequestFrame(exchange, version, this.#correlationId++, this.#request(name))
    } catch {
      // A value the encoder refuses (out of its range): the header with a random body instead.
      return this.#withHeader(exchange.apiKey, version, this.#bytes(this.#int(40)))
    }
  }

  #withHeader(apiKey: number, version: number, body: Uint8Array): Uint8Array {
    const f = new Uint8Array(8 + body.length)
    const v = new DataView(f.buffer)
    v.setUint16(0, apiKey)
    v.setUint16(2, version)
    v.setInt32(4, this.#correlationId++)
    f.set(body, 8)
    return f
  }

  /**
   * Between two windows: sometimes (a quarter of the time) a fresh connection's first hello with a token the broker
   * must refuse, and a produce to a guarded topic pipelined behind it; otherwise null.
   */
  hostileHello(version: number): { readonly token: string; readonly pipelined: Uint8Array } | null {
    if (!this.#chance(0.25)) return null
    const token = this.#pick(this.#t.refusedTokens)
    const req = { topic: this.#pick(this.#t.guardedTopics), partition: this.#int(2), acks: -1, timeoutMs: 1_000, batch: this.#batch() }
    return { token, pipelined: encodeRequestFrame(exchanges.produce, version, this.#correlationId++, req) }
  }

  /** The next frame for a connection that agreed on `version`. */
  next(version: number): FuzzFrame {
    const roll = this.#r()
    const v = this.#chance(0.97) ? version : this.#num() & 0xffff
    if (roll < 0.55) return { kind: 'binary', bytes: this.#encode(v) }
    if (roll < 0.8) {
      // A valid request, mutated: bytes flipped, cut short, or extended (the header kept, or not).
      const f = this.#encode(v)
      const mutated = this.#chance(0.4) ? f.slice(0, 8 + this.#int(Math.max(1, f.length - 8))) : this.#chance(0.5) ? new Uint8Array([...f, ...this.#bytes(1 + this.#int(16))]) : f
      for (let i = this.#int(4); i > 0; i--) this.#flip(mutated, Math.min(mutated.length - 1, (this.#chance(0.9) ? 8 : 0) + this.#int(Math.max(1, mutated.length - 8))))
      return { kind: 'binary', bytes: mutated }
    }
    if (roll < 0.998) return { kind: 'binary', bytes: this.#withHeader(this.#chance(0.8) ? this.#int(22) : this.#int(0x10000), v, this.#bytes(this.#int(64))) }
    if (roll < 0.999) return { kind: 'binary', bytes: this.#bytes(this.#int(8)) } // shorter than a header: closes the connection
    return { kind: 'text' }
  }
}

/** One connection of the runner: frames in, response error codes counted, closes noticed. */
class FuzzConnection {
  readonly ws: WebSocket
  version = 0
  closed: { code: number } | null = null
  readonly #waiting = new Map<number, () => void>()
  constructor(ws: WebSocket, onResponse: (bytes: Uint8Array) => void) {
    this.ws = ws
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) return
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      onResponse(bytes)
      const id = readFrameHeader(bytes).correlationId
      this.#waiting.get(id)?.()
      this.#waiting.delete(id)
    })
    ws.on('close', (code) => {
      this.closed = { code }
      for (const fn of this.#waiting.values()) fn()
      this.#waiting.clear()
    })
  }
  /** Resolves on the response to correlation id `id` or on close. */
  answered(id: number): Promise<void> {
    return new Promise((resolve) => (this.closed ? resolve() : this.#waiting.set(id, resolve)))
  }
}

export interface FuzzRunOptions {
  readonly url: string
  readonly seed: number
  readonly frames: number
  readonly targets: FuzzTargets
  /** The token every fuzzing connection says hello with (the fuzzer's principal). */
  readonly token: string
  /** Frames between two ping round trips. */
  readonly window?: number
  /** A ping not answered within this time fails the run: the broker stopped serving. */
  readonly pingTimeoutMs?: number
}

export interface FuzzRunResult {
  readonly framesSent: number
  readonly connections: number
  /** Answers by error name (NONE for success). */
  readonly answers: ReadonlyMap<string, number>
  /** Connections the broker closed, by close code. */
  readonly closes: ReadonlyMap<number, number>
  /**
   * Fresh connections that said hello with a refused token, by outcome: `<hello answer>/<close code>`, with `+answered`
   * when the frame pipelined behind the hello got an answer (it must not: it is never handled).
   */
  readonly hostileHellos: ReadonlyMap<string, number>
}

const PING_CORRELATION_BASE = 0x7f000000

export async function runFrameFuzz(opts: FuzzRunOptions): Promise<FuzzRunResult> {
  const gen = new FrameGenerator(opts.seed, opts.targets)
  const answers = new Map<string, number>()
  const closes = new Map<number, number>()
  const count = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1)
  const onResponse = (bytes: Uint8Array) => {
    if (readFrameHeader(bytes).apiKey === ApiKeys.PUSH) return
    try {
      count(answers, decodeResponseFrame(bytes).error?.errorName ?? 'NONE')
    } catch {
      count(answers, 'UNDECODABLE')
    }
  }
  let connections = 0
  let pings = 0
  const connect = async (): Promise<FuzzConnection> => {
    connections++
    const ws = await openSocket(opts.url)
    const c = new FuzzConnection(ws, onResponse)
    const id = PING_CORRELATION_BASE + pings++
    ws.send(encodeRequestFrame(exchanges.hello, MIN_PROTOCOL_VERSION, id, { clientId: 'fuzz', minVersion: MIN_PROTOCOL_VERSION, maxVersion: MAX_PROTOCOL_VERSION, token: opts.token }))
    await c.answered(id)
    if (c.closed) throw new Error(`the broker closed a new connection at hello (${c.closed.code})`)
    c.version = MAX_PROTOCOL_VERSION
    return c
  }
  const hostileHellos = new Map<string, number>()
  const window = opts.window ?? 200
  let conn = await connect()
  let sent = 0
  while (sent < opts.frames) {
    const hostile = gen.hostileHello(MAX_PROTOCOL_VERSION)
    if (hostile) {
      sent += 2
      count(hostileHellos, await refusedHello(opts.url, hostile.token, hostile.pipelined, opts.pingTimeoutMs ?? 10_000))
    }
    for (let i = 0; i < window && sent < opts.frames && !conn.closed; i++, sent++) {
      const f = gen.next(conn.version)
      if (f.kind === 'text') conn.ws.send('fuzz')
      else conn.ws.send(f.bytes)
    }
    if (!conn.closed) {
      const id = PING_CORRELATION_BASE + pings++
      conn.ws.send(encodeRequestFrame(exchanges.ping, conn.version, id, {}))
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer to a ping within ${opts.pingTimeoutMs ?? 10_000} ms after ${sent} frames`)), opts.pingTimeoutMs ?? 10_000)))
      await Promise.race([conn.answered(id), timeout]).finally(() => clearTimeout(timer))
    }
    if (conn.closed) {
      count(closes, conn.closed.code)
      conn = await connect()
    }
  }
  conn.ws.close()
  return { framesSent: sent, connections, answers, closes, hostileHellos }
}

async function openSocket(url: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url}/ws`)
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return ws
}

/** A fresh connection: hello with `token`, `pipelined` right behind it; resolves to `<hello answer>/<close code>[+answered]` once the broker closed it. */
async function refusedHello(url: string, token: string, pipelined: Uint8Array, timeoutMs: number): Promise<string> {
  const ws = await openSocket(url)
  const helloId = PING_CORRELATION_BASE - 1
  let answer = 'NO_ANSWER'
  let answeredAfter = false
  ws.on('message', (data: Buffer) => {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    if (readFrameHeader(bytes).correlationId !== helloId) return void (answeredAfter = true)
    try {
      answer = decodeResponseFrame(bytes).error?.errorName ?? 'NONE'
    } catch {
      answer = 'UNDECODABLE'
    }
  })
  let timer: NodeJS.Timeout | undefined
  const closed = new Promise<number>((resolve, reject) => {
    ws.once('close', (code) => resolve(code))
    timer = setTimeout(() => reject(new Error(`a hello with a refused token left its connection open for ${timeoutMs} ms`)), timeoutMs)
  })
  ws.send(encodeRequestFrame(exchanges.hello, MIN_PROTOCOL_VERSION, helloId, { clientId: 'fuzz-intruder', minVersion: MIN_PROTOCOL_VERSION, maxVersion: MAX_PROTOCOL_VERSION, token }))
  ws.send(pipelined)
  const code = await closed.finally(() => clearTimeout(timer))
  return `${answer}/${code}${answeredAfter ? '+answered' : ''}`
}
