/**
 * @module The requests of one connection, by correlation id: queued while there is no socket, in flight once their
 * frame is written, and timed out but still wanting a late answer (onLateResponse). Bookkeeping only: it encodes a
 * request's frame for the socket it is handed and matches response frames to requests; it never opens, closes or
 * probes a socket (the Connection decides that from what `timeOut` reports).
 *
 * Invariants: a request settles exactly once — answered, failed, timed out, or failed with the connection — and its
 * timer is cleared when it does; correlation ids are never 0 (push frames use 0) and wrap after 2^32 − 1; in-flight
 * and timed-out entries belong to the current socket only (`failInFlight` drops both when it goes, and the queued
 * requests marked failOnDisconnect with them); queued requests are written in the order they were issued.
 */
import { SamsaError, decodeResponseFrame, encodeRequestFrame, type ByteReader, type ClientExchange, type FrameHeader } from '@samsa/shared'
import type { Clock, Logger, TimerHandle } from '../ports.js'

/** One request, typed away: closures over its exchange decode its response. */
export interface PendingRequest {
  /** Which exchange (compared with the response's apiKey, named in errors). */
  readonly exchange: { readonly apiKey: number; readonly name: string }
  readonly noResponse: boolean
  /** Fails with the connection's loss or failed attempt even while queued (RequestOptions.failOnDisconnect). */
  readonly failOnDisconnect: boolean
  /** The request frame for an agreed version and a correlation id (throws when the request cannot be encoded). */
  encode(version: number, correlationId: number): Uint8Array
  /** Decodes the response body and resolves the request (throws on an undecodable body). */
  answer(body: ByteReader): void
  /** Resolves a request that expects no response, once written. */
  written(): void
  reject(error: Error): void
  /** Decodes a response that came after the timeout, returning its hand-over to onLateResponse; null when the caller wants none. */
  readonly late: ((body: ByteReader) => () => void) | null
  timer: TimerHandle | null
}

export interface PendingHandlers<Res> {
  readonly resolve: (response: Res) => void
  readonly reject: (error: Error) => void
  readonly noResponse?: boolean | undefined
  readonly failOnDisconnect?: boolean | undefined
  /** Resolves a request without a response (acks 0) once it is written. */
  readonly written?: (() => void) | undefined
  readonly onLate?: ((response: Res) => void) | undefined
}

export function pendingRequest<Req, Res>(exchange: ClientExchange<Req, Res>, request: Req, h: PendingHandlers<Res>): PendingRequest {
  const onLate = h.onLate
  return {
    exchange,
    noResponse: h.noResponse ?? false,
    failOnDisconnect: h.failOnDisconnect ?? false,
    encode: (version, correlationId) => encodeRequestFrame(exchange, version, correlationId, request),
    answer: (body) => h.resolve(exchange.decodeResponse(body)),
    written: () => h.written?.(),
    reject: h.reject,
    late:
      onLate === undefined
        ? null
        : (body) => {
            const response = exchange.decodeResponse(body)
            return () => onLate(response)
          },
    timer: null,
  }
}

export class RequestTable {
  readonly #clock: Clock
  readonly #log: Logger
  /** Written to the current socket and awaiting a response, by correlation id. */
  readonly #inFlight = new Map<number, PendingRequest>()
  /** Timed-out requests of the current socket that want a late response, by correlation id; cleared with #inFlight. */
  readonly #timedOut = new Map<number, PendingRequest>()
  /** Waiting for a connection, in the order they were issued. */
  #queued: PendingRequest[] = []
  /** Never 0: push frames use 0. */
  #nextCorrelationId = 1

  constructor(clock: Clock, log: Logger) {
    this.#clock = clock
    this.#log = log
  }

  /** Starts the request's timer: when it fires, the request is rejected and `timedOut` is told whether it had been written. */
  arm(pending: PendingRequest, timeoutMs: number, timedOut: (pending: PendingRequest, written: boolean, timeoutMs: number) => void): void {
    pending.timer = this.#clock.setTimeout(() => timedOut(pending, this.#timeOut(pending, timeoutMs), timeoutMs), timeoutMs)
  }

  /** Waits for a socket. */
  enqueue(pending: PendingRequest): void {
    this.#queued.push(pending)
  }

  /** Writes the request's frame to `send` (a request that cannot be encoded is rejected with the encoder's error). */
  write(pending: PendingRequest, version: number, send: (frame: Uint8Array) => void): void {
    const correlationId = this.#nextCorrelationId
    this.#nextCorrelationId = this.#nextCorrelationId >= 0xffff_ffff ? 1 : this.#nextCorrelationId + 1
    let frame: Uint8Array
    try {
      frame = pending.encode(version, correlationId)
    } catch (error) {
      this.#settle(pending)
      return pending.reject(error instanceof Error ? error : new Error(String(error)))
    }
    if (!pending.noResponse) this.#inFlight.set(correlationId, pending)
    send(frame)
    if (pending.noResponse) {
      this.#settle(pending)
      pending.written()
    }
  }

  /** The queued requests, in the order they were issued; the queue is left empty. */
  takeQueued(): PendingRequest[] {
    const queued = this.#queued
    this.#queued = []
    return queued
  }

  /**
   * A response frame (not a push): settles its request, or hands a late answer to onLateResponse; a frame for no
   * request is ignored. Throws for an undecodable frame after rejecting its request with CORRUPT_MESSAGE.
   */
  answer(header: FrameHeader, bytes: Uint8Array): void {
    const pending = this.#inFlight.get(header.correlationId)
    try {
      const late = pending === undefined ? this.#timedOut.get(header.correlationId) : undefined
      if (late !== undefined) return this.#answerLate(header, bytes, late)
      if (pending === undefined) return this.#log.debug({ correlationId: header.correlationId }, 'response for no pending request (timed out?)')
      this.#inFlight.delete(header.correlationId)
      this.#settle(pending)
      if (header.apiKey !== pending.exchange.apiKey) {
        return pending.reject(new SamsaError('UNKNOWN_SERVER_ERROR', `response apiKey ${header.apiKey} does not match request ${pending.exchange.name}`))
      }
      const decoded = decodeResponseFrame(bytes)
      if (decoded.error !== null) pending.reject(decoded.error)
      else pending.answer(decoded.body)
    } catch (error) {
      pending?.reject(new SamsaError('CORRUPT_MESSAGE', `undecodable ${pending.exchange.name} response`))
      throw error
    }
  }

  /**
   * Fails every request written to the socket that is gone (timed-out ones are forgotten), and the queued ones that
   * asked not to wait for a reconnect (failOnDisconnect).
   */
  failInFlight(error: SamsaError): void {
    const pending = [...this.#inFlight.values(), ...this.#queued.filter((p) => p.failOnDisconnect)]
    this.#inFlight.clear()
    this.#timedOut.clear()
    this.#queued = this.#queued.filter((p) => !p.failOnDisconnect)
    for (const p of pending) {
      this.#settle(p)
      p.reject(error)
    }
  }

  /** Fails every request, written or queued (the connection closed for good). */
  failAll(error: SamsaError): void {
    this.failInFlight(error)
    for (const p of this.takeQueued()) {
      this.#settle(p)
      p.reject(error)
    }
  }

  #answerLate(header: FrameHeader, bytes: Uint8Array, late: PendingRequest): void {
    this.#timedOut.delete(header.correlationId)
    if (header.apiKey !== late.exchange.apiKey) return
    const decoded = decodeResponseFrame(bytes)
    if (decoded.error !== null || late.late === null) return
    const handOver = late.late(decoded.body) // an undecodable body throws here, as any undecodable frame does
    try {
      handOver()
    } catch (error) {
      this.#log.error({ error }, 'onLateResponse threw')
    }
  }

  /** Rejects the request with REQUEST_TIMED_OUT; returns whether it had been written (and is kept for a late answer if wanted). */
  #timeOut(pending: PendingRequest, timeoutMs: number): boolean {
    pending.timer = null
    let written = false
    for (const [id, p] of this.#inFlight) {
      if (p !== pending) continue
      written = true
      this.#inFlight.delete(id)
      if (pending.late !== null) this.#timedOut.set(id, pending)
    }
    this.#queued = this.#queued.filter((p) => p !== pending)
    pending.reject(new SamsaError('REQUEST_TIMED_OUT', `${pending.exchange.name} got no response within ${timeoutMs} ms`))
    return written
  }

  #settle(pending: PendingRequest): void {
    if (pending.timer !== null) this.#clock.clearTimeout(pending.timer)
    pending.timer = null
  }
}
