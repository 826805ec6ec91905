/** @module A protocol-level test client: raw frames over a real WebSocket, responses by correlation id, pushes and close events recorded. */
import WebSocket from 'ws'
import {
  ApiKeys, MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, decodePush, decodeResponseFrame, encodeRequestFrame, exchanges, readFrameHeader,
  type Exchange, type Push, type SamsaError,
} from '../../packages/shared/src/index.js'
import { until } from './until.js'

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: SamsaError }

export class RawConnection {
  readonly ws: WebSocket
  readonly pushes: Push[] = []
  closed: { code: number; reason: string } | null = null
  version = 0
  #nextCorrelationId = 1
  readonly #waiting = new Map<number, (bytes: Uint8Array) => void>()

  private constructor(ws: WebSocket) {
    this.ws = ws
    ws.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      const h = readFrameHeader(bytes)
      if (h.apiKey === ApiKeys.PUSH) return void this.pushes.push(decodePush(bytes))
      this.#waiting.get(h.correlationId)?.(bytes)
      this.#waiting.delete(h.correlationId)
    })
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }))
  }

  /** `ca`: the PEM CA to trust for a wss:// URL (a test's self-signed certificate). `localAddress`: the client's source address (another loopback address, 127.0.0.2, is another client IP to the broker). `token`: sent in hello; `query`: appended to the /ws URL (e.g. `?token=…`, which a broker must ignore). */
  static async open(baseUrl: string, opts: { hello?: boolean; ca?: string; localAddress?: string; token?: string; query?: string } = {}): Promise<RawConnection> {
    const ws = new WebSocket(`${baseUrl}/ws${opts.query ?? ''}`, { ...(opts.ca ? { ca: opts.ca } : {}), ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}) })
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    const c = new RawConnection(ws)
    if (opts.hello !== false) {
      const r = await c.request(exchanges.hello, { clientId: 'raw-test', minVersion: MIN_PROTOCOL_VERSION, maxVersion: MAX_PROTOCOL_VERSION, ...(opts.token !== undefined ? { token: opts.token } : {}) })
      if (!r.ok) throw r.error
      c.version = r.value.version
    }
    return c
  }

  /** Sends raw bytes and waits for the response to correlationId (taken from the frame). */
  async sendRaw(frame: Uint8Array, timeoutMs = 5000): Promise<Uint8Array> {
    const id = readFrameHeader(frame).correlationId
    const p = new Promise<Uint8Array>((resolve) => this.#waiting.set(id, resolve))
    this.ws.send(frame)
    let got: Uint8Array | null = null
    void p.then((b) => (got = b))
    await until(() => got ?? (this.closed ? true : null), { timeoutMs, what: `response to correlation id ${id}` })
    if (!got) throw new Error(`connection closed with ${this.closed?.code} ${this.closed?.reason} before a response`)
    return got
  }

  async request<Req, Res>(exchange: Exchange<Req, Res>, req: Req, opts: { version?: number } = {}): Promise<Outcome<Res>> {
    const frame = encodeRequestFrame(exchange, opts.version ?? this.version, this.#nextCorrelationId++, req)
    const bytes = await this.sendRaw(frame)
    const r = decodeResponseFrame(bytes)
    return r.error ? { ok: false, error: r.error } : { ok: true, value: exchange.decodeResponse(r.body) }
  }

  nextCorrelationId(): number {
    return this.#nextCorrelationId++
  }

  async waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    return until(() => this.closed, { timeoutMs, what: 'the connection to close' })
  }

  close(): void {
    this.ws.close()
  }
}
