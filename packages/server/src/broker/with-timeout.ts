/** @module Races a promise against the injected clock. */
import type { Clock } from '../clock.js'

export function withTimeout<T>(clock: Clock, promise: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(onTimeout()), timeoutMs)
    promise.then(
      (v) => {
        clock.clearTimeout(timer)
        resolve(v)
      },
      (e: unknown) => {
        clock.clearTimeout(timer)
        reject(e)
      },
    )
  })
}
