/**
 * @module Errors the SDK raises on its own, never sent by a broker. Client-side SamsaError codes are 2000 and up (the
 * broker's table stops below 2000), so `code`, `errorName` and `retriable` read the same as for broker errors.
 */
import { SamsaError, errorKind, type ErrorSpec } from '@samsa/shared'

const spec = (code: number, name: string, retriable: boolean, message: string): ErrorSpec => ({ code, name, retriable, message })

export const ClientErrorCodes = {
  /** Every broker URL was tried once and none connected: refused, unreachable, DNS, TLS, or the upgrade was refused. */
  CONNECTION_FAILED: spec(2000, 'CONNECTION_FAILED', true, 'Could not connect to any broker.'),
  /** connect({ timeoutMs }) ran out before a connection was established. */
  CONNECT_TIMEOUT: spec(2001, 'CONNECT_TIMEOUT', true, 'No connection to a broker within the connect timeout.'),
  /** The broker closed the connection with a terminal close code (4401 unauthorized, 4403 forbidden); the client is closed. */
  CONNECTION_REJECTED: spec(2002, 'CONNECTION_REJECTED', false, 'The broker refused this client for good; the client is closed.'),
} as const satisfies Record<string, ErrorSpec>

export type ClientErrorName = keyof typeof ClientErrorCodes

export function clientError(name: ClientErrorName, message: string, details: Record<string, number> = {}): SamsaError {
  return new SamsaError(ClientErrorCodes[name], message, details)
}

/** The client (or a connection, or a producer) was closed; not retriable, so retry loops stop. */
export function clientClosedError(message: string): SamsaError {
  return new SamsaError({ ...errorKind('NETWORK_EXCEPTION'), retriable: false }, message)
}

/**
 * The rejection of a call cancelled through its AbortSignal: `name` is 'AbortError' (as for fetch), `cause` is the
 * signal's reason. For send(), `recordsDropped` says whether the records were dropped (true) or had already been
 * batched and will still be delivered (false).
 */
export class AbortError extends Error {
  readonly recordsDropped: boolean | undefined
  constructor(message: string, cause: unknown, recordsDropped?: boolean) {
    super(message, { cause })
    this.name = 'AbortError'
    this.recordsDropped = recordsDropped
  }
}

/** Settles like `promise`, or rejects with `onAbort()` as soon as the signal fires (the work behind `promise` goes on). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal, onAbort: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(onAbort())
    signal.addEventListener('abort', abort, { once: true })
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort))
  })
}
