/**
 * @module Waiting on a connection's status: the `statuses()` stream, `ready()` and `connectOrFail()`. They only
 * listen (and ask the connection to connect); none changes the connection's state, so a wait that rejects or is
 * abandoned leaves the connection retrying in the background.
 *
 * Invariants: every wait settles once and removes its listener when it does; the stream yields every change in
 * order (buffered for a slow reader) and ends after yielding `closed`.
 */
import type { HelloResponse } from '@samsa/shared'
import { clientClosedError, clientError } from '../client-errors.js'
import type { Clock } from '../ports.js'
import type { StatusChange } from './connection.js'
import type { ConnectionState } from './connection-state.js'

export interface StatusSource {
  readonly state: ConnectionState
  /** The broker's answer to the last successful hello. */
  readonly helloResponse: HelloResponse | null
  readonly closed: Promise<Error | undefined>
  on(event: 'status', listener: (change: StatusChange) => void): () => void
  connect(): void
}

/** The current state, then every change; ends after yielding the `closed` state (or when the consumer breaks out). */
export function statusStream(source: StatusSource): AsyncIterableIterator<ConnectionState> {
  const buffered: ConnectionState[] = [source.state]
  let wake: (() => void) | null = null
  let done = false
  const off = source.on('status', ({ current }) => {
    buffered.push(current)
    wake?.()
    wake = null
  })
  const finish = (): IteratorResult<ConnectionState> => {
    done = true
    off()
    buffered.length = 0
    return { done: true, value: undefined }
  }
  const iterator: AsyncIterableIterator<ConnectionState> = {
    next: async () => {
      for (;;) {
        if (done) return { done: true, value: undefined }
        const state = buffered.shift()
        if (state !== undefined) {
          if (state.status === 'closed') {
            off()
            done = true
          }
          return { done: false, value: state }
        }
        await new Promise<void>((resolve) => (wake = resolve))
      }
    },
    return: async () => finish(),
    [Symbol.asyncIterator]: () => iterator,
  }
  return iterator
}

/** Resolves with the hello response once connected; rejects if the connection closes first. */
export function whenReady(source: StatusSource): Promise<HelloResponse> {
  const hello = source.helloResponse
  if (source.state.status === 'connected' && hello) return Promise.resolve(hello)
  if (source.state.status === 'closed') return Promise.reject(clientClosedError(source.state.reason.message))
  source.connect()
  return new Promise((resolve, reject) => {
    const off = source.on('status', ({ current }) => {
      const answer = source.helloResponse
      if (current.status === 'connected' && answer) resolve(answer)
      else if (current.status === 'closed') reject(clientClosedError(current.reason.message))
      else return
      off()
    })
  })
}

/**
 * Connects now and resolves with the hello response, or rejects fast: with CONNECTION_FAILED once every broker URL
 * has failed one attempt (refused, unreachable, upgrade refused) or while the platform reports no network, with
 * CONNECT_TIMEOUT after timeoutMs, with the closing error if the connection closes for good.
 */
export function connectOrFail(source: StatusSource, brokers: readonly string[], clock: Clock, timeoutMs: number): Promise<HelloResponse> {
  const hello = source.helloResponse
  if (source.state.status === 'connected' && hello) return Promise.resolve(hello)
  if (source.state.status === 'closed') return source.closed.then((error) => Promise.reject(error ?? clientClosedError(source.state.reason.message)))
  const where = brokers.join(', ')
  return new Promise((resolve, reject) => {
    let failures = 0
    const finish = (outcome: () => void) => {
      off()
      clock.clearTimeout(timer)
      outcome()
    }
    const timer = clock.setTimeout(
      () => finish(() => reject(clientError('CONNECT_TIMEOUT', `no connection to ${where} within ${timeoutMs} ms (${source.state.reason.message})`, { timeoutMs }))),
      timeoutMs,
    )
    const check = (current: ConnectionState, previous: ConnectionState | null) => {
      const answer = source.helloResponse
      if (current.status === 'connected' && answer) return finish(() => resolve(answer))
      if (current.status === 'closed') return finish(() => void source.closed.then((error) => reject(error ?? clientClosedError(current.reason.message))))
      if (!current.online) {
        return finish(() => reject(clientError('CONNECTION_FAILED', `cannot connect to ${where}: the platform reports no network`)))
      }
      if (previous?.status === 'connecting' && current.status === 'disconnected' && ++failures >= brokers.length) {
        const closeCode = current.reason.closeCode
        return finish(() => reject(clientError('CONNECTION_FAILED', `cannot connect to ${where}: ${current.reason.message}`, closeCode === undefined ? {} : { closeCode })))
      }
    }
    const off = source.on('status', ({ previous, current }) => check(current, previous))
    source.connect()
    check(source.state, null)
  })
}
