/**
 * @module A plain request/response connection for admin commands that speak exchanges the SDK does not wrap
 * (`samsa groups`): one WebSocket to `<url>/ws`, hello (with SAMSA_TOKEN when set), then requests by correlation id,
 * each failing after a timeout instead of hanging. Errors are SamsaErrors as the broker sent them.
 */
import WebSocket from 'ws'
import { MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, SamsaError, decodeResponseFrame, encodeRequestFrame, exchanges, type Exchange } from '@samsa/shared'
import { CliError } from './cli-error.js'

const TIMEOUT_MS = 10_000

export class AdminConnection {
  readonly url: string
  readonly #ws: WebSocket
  readonly #pending = new Map<number, (bytes: Uint8Array | Error) => void>()
  #nextId = 1
  #version = MIN_PROTOCOL_VERSION

  private constructor(url: string, ws: WebSocket) {
    this.url = url
    this.#ws = ws
    ws.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      const r = decodeResponseFrame(bytes)
      const p = this.#pending.get(r.header.correlationId)
      this.#pending.delete(r.header.correlationId)
      p?.(bytes)
    })
    ws.on('close', () => {
      for (const p of this.#pending.values()) p(new CliError(`broker ${url} closed the connection`))
      this.#pending.clear()
    })
  }

  static async open(url: string): Promise<AdminConnection> {
    const ws = new WebSocket(`${url.replace(/\/+$/, '')}/ws`)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', (e) => reject(new CliError(`cannot reach broker ${url}: ${e.message}; is \`samsa start\` running there?`)))
    })
    const c = new AdminConnection(url, ws)
    const token = process.env['SAMSA_TOKEN']
    const hello = await c.request(exchanges.hello, { clientId: `samsa-cli-${process.pid}`, minVersion: MIN_PROTOCOL_VERSION, maxVersion: MAX_PROTOCOL_VERSION, ...(token ? { token } : {}) })
    c.#version = hello.version
    return c
  }

  request<Req, Res>(exchange: Exchange<Req, Res>, req: Req): Promise<Res> {
    const id = this.#nextId++
    return new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new CliError(`broker ${this.url} did not answer ${exchange.name} within ${TIMEOUT_MS} ms`))
      }, TIMEOUT_MS)
      this.#pending.set(id, (bytes) => {
        clearTimeout(timer)
        if (bytes instanceof Error) return reject(bytes)
        const r = decodeResponseFrame(bytes)
        if (r.error) return reject(r.error)
        try {
          resolve(exchange.decodeResponse(r.body!))
        } catch (e) {
          reject(new SamsaError('UNKNOWN_SERVER_ERROR', `undecodable ${exchange.name} answer: ${String(e)}`))
        }
      })
      this.#ws.send(encodeRequestFrame(exchange, this.#version, id, req))
    })
  }

  close(): void {
    this.#ws.close()
  }
}

/** Runs `fn` with a connection to `url`, always closing it. */
export async function withAdmin<T>(url: string, fn: (c: AdminConnection) => Promise<T>): Promise<T> {
  const c = await AdminConnection.open(url)
  try {
    return await fn(c)
  } finally {
    c.close()
  }
}
